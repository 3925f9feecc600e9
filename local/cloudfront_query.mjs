// A raw query string (?a=1&b=2&a=3) as CloudFront hands it to a function: names and values
// as sent, a repeated name's values under `multiValue`. Shared by the edge function's tests
// (tests/edge/) and its benchmark (tools/bench/edge_cost.mjs).
export function querystring(raw) {
    const query = {};
    for (const pair of raw ? raw.split('&') : []) {
        if (!pair) continue;
        const at = pair.indexOf('=');
        const name = at < 0 ? pair : pair.slice(0, at);
        const value = { value: at < 0 ? '' : pair.slice(at + 1) };
        if (!Object.hasOwn(query, name)) query[name] = value;
        else (query[name].multiValue ??= [{ value: query[name].value }]).push(value);
    }
    return query;
}
