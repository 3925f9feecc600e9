// The local edge's stand-in for the `cloudfront` module's KeyValueStore (njs).
//
// gateway.js reads API keys with `cf.kvs().get(sha256, {format: 'json'})`; locally the
// store is the key file `lakegate keys` writes, a JSON object keyed by the same digests,
// whose path nginx passes on (`env LAKEGATE_KEYS_FILE;`). njs gives every request a fresh
// VM, so the file is read on each lookup: a revoked key is refused from the next request.
// Like CloudFront's, get() fails for a key that is not there, and so for a missing file.
import fs from 'fs';

function get(key, options) {
    return new Promise((resolve, reject) => {
        try {
            const store = JSON.parse(fs.readFileSync(process.env.LAKEGATE_KEYS_FILE));
            if (!Object.prototype.hasOwnProperty.call(store, key)) throw new Error('key not found');
            const value = store[key];
            resolve(options && options.format === 'json' ? value : JSON.stringify(value));
        } catch (e) {
            reject(e);
        }
    });
}

export default { kvs: () => ({ get: get }) };
