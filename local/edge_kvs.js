// The local stand-in for the `cloudfront` module's KeyValueStore, in njs and in Node.
//
// gateway.js reads its rules (`rules/<tag>…`, edge/store.py) and API keys (their
// SHA-256) with `cf.kvs().get(key, options)`; locally the store is the key store file that
// `lakegate keys` and the local edge write, a JSON object keyed the same way, whose path
// nginx passes on (`env LAKEGATE_KEYS_FILE;`). A value is a string, as CloudFront stores it
// (the rules), or a JSON object (an API key's record, which the origin reads too).
// Like CloudFront's, get() fails for a key that is not there, and so for a missing file.
//
// The file is parsed once per version of it (its inode, time and size): njs gives every
// request a fresh VM, so a request reads it once, and a change (a revoked key) is seen
// from the next request on; under Node (tests/edge) one module serves every test.
import fs from 'fs';

let loaded = null;

function store() {
    const path = process.env.LAKEGATE_KEYS_FILE;
    const stat = fs.statSync(path);
    const version = `${path}:${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    if (!loaded || loaded.version !== version) loaded = { version: version, entries: JSON.parse(fs.readFileSync(path)) };
    return loaded.entries;
}

function get(key, options) {
    return new Promise((resolve, reject) => {
        try {
            const entries = store();
            if (!Object.prototype.hasOwnProperty.call(entries, key)) throw new Error('key not found');
            const value = entries[key];
            const text = typeof value === 'string' ? value : JSON.stringify(value);
            resolve(options && options.format === 'json' ? JSON.parse(text) : text);
        } catch (e) {
            reject(e);
        }
    });
}

export default { kvs: () => ({ get: get }) };
