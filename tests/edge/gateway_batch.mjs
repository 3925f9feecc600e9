// Runs the generated edge function over a batch of raw query strings, for
// tests/edge/test_gateway.py: reads [[uri, raw], ...] as JSON on stdin, writes one result
// per query: {"query": canonical} when the function sends the request on, or
// {"status": n, "error": {...}} when it answers. Its KeyValueStore is local/edge_kvs.js on
// the key store file the test wrote (LAKEGATE_KEYS_FILE): the rules, and a key that may
// read every dataset, which every request carries so that only the query decides.
import store from '../../local/edge_kvs.js';
import { querystring } from '../../local/cloudfront_query.mjs';

const KEY = 'batch-key';
globalThis.cloudfront = store;
const { handler } = await import(process.env.LAKEGATE_GATEWAY_MODULE);

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const results = [];
for (const [uri, raw] of JSON.parse(Buffer.concat(chunks).toString('utf8'))) {
    const request = { method: 'GET', uri, querystring: querystring(raw), headers: { 'x-api-key': { value: KEY } }, cookies: {} };
    const result = await handler({ version: '1.0', context: {}, viewer: { ip: '127.0.0.1' }, request });
    results.push(result.statusCode === undefined
        ? { query: result.querystring }
        : { status: result.statusCode, error: JSON.parse(result.body.data).error });
}
process.stdout.write(JSON.stringify(results));
