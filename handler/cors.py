"""What a browser on an allowed origin may send, and what it may read: CORS, declared once.

Dashboards in browsers read more than the body: `Link` to page, `ETag` to revalidate,
`X-Row-Count`, `Cache-Status`, `Retry-After` to back off. Without
`Access-Control-Expose-Headers` a browser hides every header but the CORS-safelisted
few (Cache-Control, Content-Type, …) from JavaScript, so each is listed here.

Every place that answers CORS answers from these: the origin (handler.routes), the edge
function's own answers, preflights and refusals (edge.function writes them into its
code), CloudFront's response headers policy on the data behaviours
(lakegate_cdk.edge_policies) and the local edge (local.nginx_config). Which origins are
allowed is configuration (LAKEGATE_CORS_ORIGINS, the CDK's `gateway.cors_origins`).
"""

from __future__ import annotations

from handler.consumers import API_KEY_HEADER

METHODS = ("GET", "HEAD", "OPTIONS")
# What a request may carry beyond the safelisted: the key, a validator, a representation.
ALLOW_HEADERS = (API_KEY_HEADER, "if-none-match", "accept")
# What JavaScript may read of an answer (or a refusal) beyond the safelisted headers.
EXPOSE_HEADERS = (
    "age",
    "cache-status",
    "content-disposition",
    "etag",
    "link",
    "retry-after",
    "server-timing",
    "x-row-count",
)
MAX_AGE_SECONDS = 600  # how long a browser may reuse a preflight's answer
