// Runs the generated edge function over a batch of raw query strings, for
// tests/edge/test_gateway.py: reads [[uri, raw], ...] as JSON on stdin, writes one result
// per query: {"query": canonical} when the function sends the request on, or
// {"status": n, "error": {...}} when it answers. Every request carries a key that may
// read every dataset, so that only the query decides.
import { createHash } from 'node:crypto';
import { querystring } from '../../local/cloudfront_query.mjs';

const KEY = 'batch-key';
const RECORD = { consumer: 'batch', datasets: ['*'], tier: 'standard', created_at: 'x' };
const DIGEST = createHash('sha256').update(KEY).digest('hex');
globalThis.cloudfront = {
    kvs: () => ({
        get: async (key) => {
            if (key !== DIGEST) throw new Error('The key was not found');
            return { ...RECORD };
        },
    }),
};
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
