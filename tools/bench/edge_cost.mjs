// Times the generated edge function per request under Node, for tools/bench/edge.py.
// stdin: {"module", "store": {key: value}, "requests": [{kind, method, uri, raw, headers}],
// "iterations"}; stdout: {kind: {"n", "p50_us", "p99_us", "reads"}} ("reads": the mean
// number of store reads), and "all" over every request. The KeyValueStore is the store's entries held in memory (the rules as
// edge/store.py lays them out, and the keys): CloudFront's read latency is not
// measurable here, so what is timed is the function's own work, and `reads` counts the
// store reads a request of that kind makes (each one billed, and each one awaited).
import { readFileSync } from 'node:fs';
import { querystring } from '../../local/cloudfront_query.mjs';

const input = JSON.parse(readFileSync(0, 'utf8'));
let reads = 0;
globalThis.cloudfront = {
    kvs: () => ({
        get: async (key, options) => {
            reads += 1;
            if (!Object.hasOwn(input.store, key)) throw new Error('The key was not found');
            const value = input.store[key];
            const text = typeof value === 'string' ? value : JSON.stringify(value);
            return options && options.format === 'json' ? JSON.parse(text) : text;
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
const readsOf = {};
for (let i = 0; i < events.length; i++) {
    reads = 0;
    const started = process.hrtime.bigint();
    await handler(events[i]);
    const us = Number(process.hrtime.bigint() - started) / 1000;
    (samples[runs[i].kind] ??= []).push(us);
    (samples.all ??= []).push(us);
    (readsOf[runs[i].kind] ??= []).push(reads);
    (readsOf.all ??= []).push(reads);
}
const out = {};
for (const [kind, values] of Object.entries(samples)) {
    values.sort((a, b) => a - b);
    const at = (q) => values[Math.min(values.length - 1, Math.floor(values.length * q))];
    const mean = readsOf[kind].reduce((a, b) => a + b, 0) / readsOf[kind].length;
    out[kind] = { n: values.length, p50_us: at(0.5), p99_us: at(0.99), reads: mean };
}
process.stdout.write(JSON.stringify(out));
