"""The operator surface under /admin: token check, invalidation, edge purge, audit.

    routes.py   POST /admin/invalidate, GET /admin/cache (registered by handler.routes)
    targets.py  what an invalidation targets: a dataset, one normalised query, or all
    auth.py     the admin token: Secrets Manager versions, cached, compared in constant time
    edge.py     CloudFront invalidations for the paths a dataset is served under
    audit.py    one structured audit line per admin request

Only the header name lives here: the CLI, the load tests and the CDK need it without
importing the admin machinery (boto3, Powertools).
"""

# Not `Authorization`: CloudFront's origin access control signs origin requests with it.
ADMIN_TOKEN_HEADER = "x-lakegate-admin-token"
