// The local edge's adapter between nginx (njs) and gateway.js, the CloudFront Function.
//
// It builds the viewer-request event CloudFront would (raw query string names and values,
// repeated names as multiValue, lower-case header names), runs the function, and carries
// out its answer: a response goes back to the client as is; a request goes on to the
// cache and the origin through an internal URI, /_edge/<tier>/<consumer><uri>?<query>,
// because nginx's background cache refresh re-enters that location with the URI but none
// of the variables a handler could set (local/nginx.conf.template maps the URI back).
import gateway from 'gateway.js';

function querystring(args) {
    const query = Object.create(null);
    const pairs = args ? args.split('&') : [];
    for (var i = 0; i < pairs.length; i++) {
        if (!pairs[i]) continue;
        const at = pairs[i].indexOf('=');
        const name = at < 0 ? pairs[i] : pairs[i].slice(0, at);
        const value = { value: at < 0 ? '' : pairs[i].slice(at + 1) };
        const entry = query[name];
        if (!entry) query[name] = value;
        else (entry.multiValue || (entry.multiValue = [{ value: entry.value }])).push(value);
    }
    return query;
}

function serialized(query) {
    if (typeof query === 'string') return query;
    const pairs = [];
    for (var name in query) {
        const values = query[name].multiValue || [query[name]];
        for (var i = 0; i < values.length; i++) pairs.push(name + '=' + values[i].value);
    }
    return pairs.join('&');
}

function viewerRequest(r) {
    const headers = {};
    for (var name in r.headersIn) {
        if (name.toLowerCase() !== 'cookie') headers[name.toLowerCase()] = { value: r.headersIn[name] };
    }
    return {
        version: '1.0',
        context: { eventType: 'viewer-request', requestId: r.variables.request_id },
        viewer: { ip: r.remoteAddress },
        request: { method: r.method, uri: r.uri, querystring: querystring(r.variables.args), headers: headers, cookies: {} },
    };
}

function header(request, name) {
    const found = request.headers[name];
    return found ? found.value : '-';
}

async function handle(r) {
    const result = await gateway.handler(viewerRequest(r));
    if (result.statusCode === undefined) {
        const query = serialized(result.querystring);
        const via = '/_edge/' + header(result, 'x-lakegate-tier') + '/' + header(result, 'x-lakegate-consumer');
        r.internalRedirect(via + encodeURI(result.uri) + (query ? '?' + query : ''));
        return;
    }
    const headers = result.headers || {};
    for (var name in headers) r.headersOut[name] = headers[name].value;
    const body = result.body;
    if (body === undefined) r.return(result.statusCode);
    else if (typeof body === 'string') r.return(result.statusCode, body);
    else r.return(result.statusCode, body.encoding === 'base64' ? Buffer.from(body.data, 'base64') : body.data);
}

export default { handle };
