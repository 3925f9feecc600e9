"""The operator surface under /admin: token check, invalidation, edge purge, audit.

    routes.py   POST /admin/invalidate, GET /admin/cache (registered by handler.routes)
    targets.py  what an invalidation targets: a dataset, one normalised query, or all
    auth.py     the admin token: Secrets Manager versions, cached, compared in constant time
    edge.py     CloudFront invalidations for the paths a dataset is served under
    audit.py    one structured audit line per admin request

Nothing is re-exported here: handler.services imports auth and edge, and routes
imports handler.services, so an eager import would be circular.
"""
