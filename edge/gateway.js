// lakegate's edge gateway: a CloudFront Function (cloudfront-js-2.0, viewer request).
// On a data route it answers CORS preflights, checks the API key against the
// KeyValueStore, validates the query string as handler/query.py does (same order, codes
// and messages) and rewrites it to one canonical form, so that every spelling of a query
// is one cache entry and a refused request never reaches the cache or the origin.
//
// It interprets rules it reads from the KeyValueStore, beside the API keys (their layout:
// edge/store.py): the code is the same whatever the catalogue, and knows only the
// tag of the rules it was deployed with. A request reads the rules of the parameter
// families it names (or its route's alone), one key at a time: CloudFront advises against
// Promise combinators in functions (memory) and says they are not faster. Rules of
// another tag, or missing, are never guessed at: the answer is a 503.
//
// Written for the runtime's subset: var/let/const, arrows, template literals and async
// functions (the runtime has no async closures, for-of, spread or destructuring). Comments
// stay on lines of their own: edge/function.py drops them and the indentation.
import cf from 'cloudfront';
import crypto from 'crypto';

const TAG = ''; // generated: edge/function.py writes the rules' tag here
// handler/cors.py: a preflight's answer, and what JavaScript may read of a refusal.
const PREFLIGHT = {}; // generated: edge/function.py writes handler/cors.py here
const EXPOSE = ''; // generated: edge/function.py writes handler/cors.py here

// handler/query.py: at most 64 parameters; a name is cut to 64 code points in messages.
const MOST = 64;
// handler/parameters.py's spellings; handler/consumers.py's consumer and tier.
const INTEGER = /^[+-]?[0-9]{1,18}$/;
const NUMBER = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$/;
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const CONSUMER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const TIER = /^[a-z][a-z0-9_-]{0,31}$/;
const KEY_REFUSED = 'Missing or invalid API key.';
// edge/store.py's prefix: no key digest (64 lower-case hex digits) starts so.
const PREFIX = 'rules/';
// CloudFront's bound on a store key (its keys here are ASCII: a length is a byte count).
const KEY_BYTES = 512;
// Thrown where the rules of this tag are not (all) in the store.
const UNAVAILABLE = { unavailable: true };
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const compiled = {};

function parse(text) {
    try {
        return JSON.parse(text);
    } catch (e) {
        return null;
    }
}

// A value of this tag's rules; null where the store holds nothing under `key` (get()
// throws then); UNAVAILABLE thrown for a value of another tag, or with a piece missing.
async function stored(key) {
    if (key.length > KEY_BYTES) return null;
    // Each await stands alone on the right of an assignment: njs 0.7 (the local edge)
    // crashes on an await inside a call's arguments or a compound assignment.
    let text;
    try {
        text = await cf.kvs().get(key);
    } catch (e) {
        return null;
    }
    let value = parse(text);
    if (value && value.k > 0) {
        // Too big for one pair: in pieces key#1, key#2…
        let whole = '';
        for (var i = 1; i <= value.k; i++) {
            try {
                text = await cf.kvs().get(key + '#' + i);
            } catch (e) {
                throw UNAVAILABLE;
            }
            whole += text;
        }
        value = parse(whole);
    }
    if (!value || value.t !== TAG) throw UNAVAILABLE;
    return value;
}

// The rules of `name`'s family (`year` for `year[gte]`), read once per request; null: none.
async function family(rules, name) {
    const base = name.split('[')[0];
    if (own(rules.families, base)) return rules.families[base];
    let key;
    try {
        key = rules.head + '?' + encodeURIComponent(base);
    } catch (e) {
        // A lone surrogate: no family has such a name.
        return (rules.families[base] = null);
    }
    const found = await stored(key);
    rules.families[base] = resolved(found);
    return found;
}

// A family's schemas with their list items in place, and the hints lists leave out.
function resolved(found) {
    if (!found) return found;
    const S = found.s;
    for (var j = 0; j < S.length; j++) if ('items' in S[j]) S[j].items = S[S[j].items];
    for (var k = 0; k < S.length; k++) {
        const s = S[k];
        if (!('items' in s)) continue;
        // The hint edge/rules.py's listed_hint() leaves out.
        const list = 'must be a comma-separated list of';
        s.hint = s.hint || ('enum' in s.items ? `${list}: ${s.items.enum.join(', ')}` : `${list} up to ${s.maxItems} values; each ${s.items.hint}`);
    }
    return found;
}

// The route's fields (dataset, access, CORS origins): from the family of the query's first
// parameter, which a valid query reads anyway, else from the route's own key.
async function routeOf(rules, querystring) {
    const first = Object.keys(querystring)[0];
    let found = null;
    try {
        if (first !== undefined) found = await family(rules, decoded(first, first));
    } catch (e) {
        // A malformed name: refused later, in handler/query.py's order, after the key.
        if (!e.refusal) throw e;
    }
    if (found) return found;
    return stored(rules.head);
}

// PCRE-based engines (njs, and CloudFront's) let `$` match before a final line feed, as
// Python does and V8 does not: a value ending in one never matches an end-anchored pattern.
function matches(re, value, anchored) {
    return re.test(value) && !(anchored && value.charCodeAt(value.length - 1) === 10);
}

function regex(source) {
    return compiled[source] || (compiled[source] = new RegExp(source));
}

function refuse(code, message, parameter) {
    return { refusal: true, code: code, message: message, parameter: parameter };
}

// Python's repr() of a name, as the origin's messages quote it.
function repr(s) {
    const q = s.indexOf("'") >= 0 && s.indexOf('"') < 0 ? '"' : "'";
    let out = '';
    for (var i = 0; i < s.length; i++) {
        const ch = s[i];
        const c = s.charCodeAt(i);
        const named = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }[ch];
        if (ch === q || ch === '\\') out += '\\' + ch;
        else if (named) out += named;
        else if (c < 32 || (c > 126 && c < 161) || c === 173) out += '\\x' + c.toString(16).padStart(2, '0');
        else out += ch;
    }
    return q + out + q;
}

// The first 64 code points (Python slices code points, JavaScript UTF-16 units).
function cut(s) {
    let i = 0;
    for (var n = 0; n < MOST && i < s.length; n++) {
        const c = s.charCodeAt(i);
        i += c >= 0xd800 && c < 0xdc00 ? 2 : 1;
    }
    return s.slice(0, i);
}

// Form decoding (`+` is a space), refusing bad escapes and invalid UTF-8.
function decoded(text, parameter) {
    if (text.indexOf('%') < 0 && text.indexOf('+') < 0) return text;
    try {
        if (/%(?![0-9A-Fa-f]{2})/.test(text)) throw text;
        return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch (e) {
        const shown = cut(parameter);
        throw refuse('malformed_parameter', `Parameter ${repr(shown)} is not valid percent-encoded UTF-8.`, shown);
    }
}

// Decimal integers compared as text: exact beyond 2^53, where a Number would round.
function compare(a, b) {
    const neg = a[0] === '-';
    if (neg !== (b[0] === '-')) return neg ? -1 : 1;
    const x = neg ? a.slice(1) : a;
    const y = neg ? b.slice(1) : b;
    const c = x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
    return neg ? -c : c;
}

function isDate(value) {
    const m = DATE.exec(value);
    if (!m || value.length !== 10) return false;
    const y = +m[1];
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m[2] - 1];
    return y > 0 && m[3] > 0 && m[3] <= days;
}

function fits(value, s) {
    // Lengths in code points, as Python counts them.
    const length = value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '_').length;
    if (length < (s.minLength || 1) || length > (s.maxLength || Infinity)) return false;
    if ('pattern' in s && !matches(regex(s.pattern), value, /\$$/.test(s.pattern))) return false;
    if ('enum' in s && s.enum.indexOf(value) < 0) return false;
    return s.format !== 'date' || isDate(value);
}

// The canonical text of a valid value; null: it is the default; undefined: invalid.
function canonical(value, s) {
    let text = value;
    if (s.type === 'array') {
        // A comma-separated list (handler/parameters.py): each item valid, counted as sent,
        // then each kept once; sorted where its order means nothing.
        const items = value.split(',');
        if (items.length > (s.maxItems || Infinity)) return;
        const seen = {};
        const kept = [];
        for (var i = 0; i < items.length; i++) {
            const item = canonical(items[i], s.items);
            if (item === undefined) return;
            if (!own(seen, item)) kept.push(item);
            seen[item] = 1;
        }
        text = (s['x-unordered'] ? kept.sort() : kept).join(',');
    } else if (s.type === 'integer') {
        if (!matches(s['x-spelling'] ? regex(s['x-spelling']) : INTEGER, value, true)) return;
        const digits = value.replace(/^[+-]?0*/, '') || '0';
        text = value[0] === '-' && digits !== '0' ? '-' + digits : digits;
        if ('minimum' in s && compare(text, String(s.minimum)) < 0) return;
        if ('maximum' in s && compare(text, String(s.maximum)) > 0) return;
    } else if (s.type === 'number') {
        const n = Number(value);
        if (!matches(NUMBER, value, true) || !isFinite(n) || n < s.minimum || n > s.maximum) return;
        text = String(n);
    } else {
        if (!fits(value, s)) return;
        if (s['x-case-insensitive']) {
            // ASCII only: the origin folds the rest itself, and no engine's Unicode tables
            // can then fold a character differently from Python's str.lower().
            const folded = value.replace(/[A-Z]+/g, (w) => w.toLowerCase());
            if (fits(folded, s)) text = folded;
        }
    }
    return 'default' in s && text === String(s.default) ? null : text;
}

// handler/query.py's checks in its order: the canonical query string, or a refusal thrown.
async function canonicalQuery(rules, querystring) {
    const pairs = [];
    for (var raw in querystring) {
        const entry = querystring[raw];
        const values = entry.multiValue || [entry];
        for (var i = 0; i < values.length; i++) pairs.push([raw, values[i].value]);
    }
    if (pairs.length > MOST) {
        throw refuse('too_many_parameters', `Too many query parameters: at most ${MOST} are accepted.`);
    }
    const given = Object.create(null);
    const names = [];
    for (var p = 0; p < pairs.length; p++) {
        const key = decoded(pairs[p][0], pairs[p][0]);
        const value = decoded(pairs[p][1], key);
        if (key in given) {
            throw refuse('repeated_parameter', `Parameter ${repr(cut(key))} is given more than once.`, cut(key));
        }
        given[key] = value;
        names.push(key);
    }
    // Each name's rule, from its family; the first unknown one in the query is refused.
    const params = {};
    for (var u = 0; u < names.length; u++) {
        const found = await family(rules, names[u]);
        if (found && own(found.p, names[u])) {
            params[names[u]] = { order: found.p[names[u]][0], schema: found.s[found.p[names[u]][1]] };
            continue;
        }
        const all = await stored(rules.head + '#names');
        // A declared name without its rule: this tag's rules are not all there yet.
        if (!all || all.n.indexOf(names[u]) >= 0) throw UNAVAILABLE;
        const message = `Unknown parameter ${repr(cut(names[u]))}; this dataset accepts: ${all.n.join(', ')}.`;
        throw refuse('unknown_parameter', message, cut(names[u]));
    }
    // Checked in the order the origin's model declares them, written in the order of names.
    const declared = Object.keys(params).sort((a, b) => params[a].order - params[b].order);
    const texts = {};
    for (var d = 0; d < declared.length; d++) {
        const name = declared[d];
        const text = canonical(given[name], params[name].schema);
        if (text === undefined) {
            throw refuse('invalid_parameter', `Parameter ${repr(name)} ${params[name].schema.hint}.`, name);
        }
        if (text !== null) texts[name] = text;
    }
    return Object.keys(texts)
        .sort()
        .map((n) => encodeURIComponent(n) + '=' + encodeURIComponent(texts[n]))
        .join('&');
}

function respond(status, description, route, cors, fields, body) {
    const headers = {};
    if (cors) headers['access-control-allow-origin'] = { value: cors };
    if (cors && status !== 204) headers['access-control-expose-headers'] = { value: EXPOSE };
    if ((route && route.c.length) || status === 204) headers.vary = { value: 'origin' };
    for (var field in fields) headers[field] = { value: fields[field] };
    const response = { statusCode: status, statusDescription: description, headers: headers };
    if (body !== undefined) response.body = { encoding: 'text', data: body };
    return response;
}

// The origin's error body (handler/responses.py), never cached.
function failure(status, description, route, cors, event, code, message, parameter) {
    const error = { code: code, message: message };
    if (parameter !== undefined) error.parameter = parameter;
    const id = event.context && event.context.requestId;
    if (id) error.request_id = id;
    const fields = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    if (status === 503) fields['retry-after'] = '5';
    return respond(status, description, route, cors, fields, JSON.stringify({ error: error }));
}

// Rules of this tag absent or incomplete (a deploy under way, a failed write): refuse
// rather than judge a request by rules the origin may not hold.
function unavailable(event, route, cors) {
    const message = 'The edge rules of this API version are not available; retry shortly.';
    return failure(503, 'Service Unavailable', route, cors, event, 'edge_rules_unavailable', message);
}

async function handler(event) {
    const request = event.request;
    const headers = request.headers;
    // Before anything else: no way out of this function forwards them.
    for (var header in headers) if (header.indexOf('x-lakegate-') === 0) delete headers[header];
    const key = headers['x-api-key'];
    // The key goes no further than this function: the origin hears of its consumer only.
    delete headers['x-api-key'];
    const rules = { head: PREFIX + TAG + request.uri, families: Object.create(null) };
    let route = null;
    try {
        route = await routeOf(rules, request.querystring);
    } catch (e) {
        if (e !== UNAVAILABLE) throw e;
    }
    if (!route) return unavailable(event, null, null);
    const origin = headers.origin && headers.origin.value;
    const cors = route.c.indexOf(origin) >= 0 ? origin : route.c.indexOf('*') >= 0 ? '*' : null;
    if (request.method === 'OPTIONS') {
        return respond(204, 'No Content', route, cors, PREFLIGHT);
    }
    // Who asks comes first, as at the origin: a stranger learns nothing from a 400.
    let record = null;
    if (key) {
        try {
            const digest = crypto.createHash('sha256').update(key.value).digest('hex');
            record = await cf.kvs().get(digest, { format: 'json' });
        } catch (e) {
            // get() throws for a key the store does not hold.
            record = null;
        }
        const tier = record && (record.tier || 'standard');
        const valid = record && Array.isArray(record.datasets) && typeof record.consumer === 'string';
        if (!valid || !matches(CONSUMER, record.consumer, true) || !matches(TIER, tier, true)) {
            return failure(401, 'Unauthorized', route, cors, event, 'unauthorized', KEY_REFUSED);
        }
        record.tier = tier;
    } else if (route.a === 'key') {
        return failure(401, 'Unauthorized', route, cors, event, 'unauthorized', KEY_REFUSED);
    }
    // A public dataset is anyone's, whatever a key lists (handler/consumers.py authorise).
    if (record && route.a === 'key' && record.datasets.indexOf('*') < 0 && record.datasets.indexOf(route.d) < 0) {
        const message = `This API key may not read dataset ${repr(route.d)}.`;
        return failure(403, 'Forbidden', route, cors, event, 'forbidden', message);
    }
    try {
        request.querystring = await canonicalQuery(rules, request.querystring);
    } catch (e) {
        if (e === UNAVAILABLE) return unavailable(event, route, cors);
        if (!e.refusal) throw e;
        return failure(400, 'Bad Request', route, cors, event, e.code, e.message, e.parameter);
    }
    if (record) {
        headers['x-lakegate-consumer'] = { value: record.consumer };
        headers['x-lakegate-tier'] = { value: record.tier };
    }
    return request;
}
