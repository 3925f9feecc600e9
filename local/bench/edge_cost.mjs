// Times the generated edge function per request under Node, for local/bench/edge.py.
// stdin: {"module", "keys": {digest: record}, "requests": [{kind, method, uri, raw, headers}],
// "iterations"}; stdout: {kind: {"n", "p50_us", "p99_us"}}, and "all" over every request.
import { readFileSync } from 'node:fs';
import { querystring } from '../cloudfront_query.mjs';

const input = JSON.parse(readFileSync(0, 'utf8'));
globalThis.cloudfront = {
    kvs: () => ({
        get: async (key) => {
            if (!Object.hasOwn(input.keys, key)) throw new Error('The key was not found');
            return structuredClone(input.keys[key]);
        },
    }),
};
const { handler } = await import(input.module);

function event(r) {
    const headers = {};
    for (const [name, value] of Object.entries(r.headers)) headers[name] = { value };
    return {
        version: '1.0',
        context: { eventType: 'viewer-request', requestId: 'bench' },
        viewer: { ip: '127.0.0.1' },
        request: { method: r.method, uri: r.uri, querystring: querystring(r.raw), headers, cookies: {} },
    };
}

// Events are built before the clock starts: the function rewrites the one it is given.
const runs = [];
for (let i = 0; i < input.iterations; i++) runs.push(input.requests[i % input.requests.length]);
const events = runs.map(event);
for (let i = 0; i < Math.min(2000, events.length); i++) await handler(event(runs[i]));
const samples = {};
for (let i = 0; i < events.length; i++) {
    const started = process.hrtime.bigint();
    await handler(events[i]);
    const us = Number(process.hrtime.bigint() - started) / 1000;
    (samples[runs[i].kind] ??= []).push(us);
    (samples.all ??= []).push(us);
}
const out = {};
for (const [kind, values] of Object.entries(samples)) {
    values.sort((a, b) => a - b);
    const at = (q) => values[Math.min(values.length - 1, Math.floor(values.length * q))];
    out[kind] = { n: values.length, p50_us: at(0.5), p99_us: at(0.99) };
}
process.stdout.write(JSON.stringify(out));
