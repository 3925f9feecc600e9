"""The admin routes: `POST /admin/invalidate` and `GET /admin/cache`.

Every admin request is checked in the same order: admin enabled (else 404, as if the
route did not exist), then the token (401), then the request itself (400/404), then
the throttle (429). Every request that reaches the token check writes one audit line.
No request bodies: CloudFront's Origin Access Control would make clients sign them.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import orjson
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from cache import CacheStore, invalidate_dataset, invalidate_key
from handler.admin import ADMIN_TOKEN_HEADER
from handler.admin.audit import audit
from handler.admin.auth import Principal, TokenVerifier
from handler.admin.edge import EdgeInvalidator, edge_paths
from handler.admin.targets import parse_invalidation, query_keys
from handler.catalogue import Catalogue
from handler.errors import (
    BadRequest,
    LakegateError,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from handler.openapi import ERROR_SCHEMA, Resolver, header_key_scheme
from handler.responses import JSON, NO_STORE
from handler.settings import AdminSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey

ADMIN_SCHEME = "adminToken"


def admin_security_scheme() -> APIKey:
    """The admin token, as the document declares it."""
    return header_key_scheme(
        ADMIN_TOKEN_HEADER,
        "The admin token (missing or wrong → 401). Not `Authorization`: "
        "CloudFront's origin access control signs requests with that header.",
    )


@dataclass(frozen=True)
class Admin:
    """What the /admin routes need; their AWS clients are built on the first admin request."""

    settings: AdminSettings
    tokens: TokenVerifier
    edge: EdgeInvalidator
    store: CacheStore


def add_admin_routes(
    app: Resolver,
    catalogue: Catalogue,
    admin: Callable[[], Admin | None],
) -> None:
    """Register the admin routes on `app`; `admin()` gives what they need on each request
    (None: admin is off, and the routes answer 404)."""

    def enabled() -> Admin:
        active = admin()
        if active is None:
            raise NotFound("No such route.")
        return active

    # The token is read from the event, never declared as a route argument: Powertools
    # logs route arguments at DEBUG. OpenAPI documents it as the `adminToken` scheme.
    def invalidate(
        dataset: Annotated[
            str | None,
            Query(
                description="The dataset to invalidate; add its filters to drop one query. "
                "Required unless `all=true` is given (one of the two, never both)."
            ),
        ] = None,
        all_: Annotated[
            str | None,
            # Published as an enum, checked by targets.py after the token (a stranger
            # learns nothing from a 400 that a 401 would not tell).
            Query(
                json_schema_extra={"enum": ["true"]},
                alias="all",
                description="`true` invalidates every dataset. Required unless `dataset` "
                "is given (one of the two, never both).",
            ),
        ] = None,
    ) -> Response[str]:
        event = app.current_event
        active = enabled()
        return _audited(
            "invalidate",
            202,
            active,
            event,
            lambda principal, details: _invalidate(catalogue, active, principal, event, details),
        )

    def status() -> Response[str]:
        event = app.current_event
        active = enabled()
        return _audited(
            "status",
            200,
            active,
            event,
            lambda _principal, _details: _status(catalogue, active),
        )

    app.post(
        "/admin/invalidate",
        summary="Invalidate cached results",
        description="Drop a dataset (`?dataset=drivers`), one normalised query "
        "(`?dataset=drivers&state=California&year=2016`) or everything (`?all=true`), "
        "at the origin cache at once and at CloudFront by an invalidation. No body. "
        "Throttled per dataset and minute.",
        responses=_responses(202, "Accepted: what was dropped, the new generation, the edge."),
        tags=["admin"],
        operation_id="admin_invalidate",
        security=[{ADMIN_SCHEME: []}],
    )(invalidate)
    # What Swagger UI fills in: a request that works as it stands.
    app.example("/admin/invalidate", "dataset", catalogue.datasets[0].name)
    app.get(
        "/admin/cache",
        summary="Cache status",
        description="Per dataset: generation, last invalidation (when, by which token id) "
        "and freshness settings.",
        responses=_responses(200, "The cache status."),
        tags=["admin"],
        operation_id="admin_cache_status",
        security=[{ADMIN_SCHEME: []}],
    )(status)


def _audited(
    action: str,
    status: int,
    admin: Admin,
    event: LambdaFunctionUrlEvent,
    work: Callable[[Principal, dict[str, object]], dict[str, object]],
) -> Response[str]:
    """Check the token, do the work, write the audit line whatever happened."""
    principal: Principal | None = None
    details: dict[str, object] = {}
    try:
        principal = admin.tokens.verify(event.headers.get(ADMIN_TOKEN_HEADER))
        body = work(principal, details)
    except LakegateError as exc:
        audit(action, _outcome(exc), who=_who(principal), event=event, **details)
        raise
    except Exception:
        audit(action, "error", who=_who(principal), event=event, **details)
        raise
    audit(action, "ok", who=_who(principal), event=event, status=status, **details)
    body["request_id"] = event.request_context.request_id
    return Response(
        status_code=status,
        content_type=JSON,
        body=orjson.dumps(body).decode(),
        headers={"Cache-Control": NO_STORE},
    )


def _who(principal: Principal | None) -> str | None:
    return principal.token_id if principal is not None else None


def _outcome(exc: LakegateError) -> str:
    names: dict[type[LakegateError], str] = {
        Unauthorized: "unauthorized",
        TooManyRequests: "throttled",
        BadRequest: "bad_request",
        NotFound: "not_found",
    }
    return next((name for cls, name in names.items() if isinstance(exc, cls)), "error")


def _invalidate(
    catalogue: Catalogue,
    admin: Admin,
    principal: Principal,
    event: LambdaFunctionUrlEvent,
    details: dict[str, object],
) -> dict[str, object]:
    store = admin.store
    request = parse_invalidation(catalogue, event.raw_query_string)
    names = [d.name for d in request.datasets]
    details.update(scope=request.scope, datasets=names)
    body: dict[str, object] = {"scope": request.scope}
    keys: tuple[str, ...] = ()
    if request.scope == "query":
        body["query"], keys = query_keys(request.datasets[0], request.params, catalogue.version)
        body["keys"] = list(keys)
        details["keys"] = list(keys)
    now_ms = int(time.time() * 1000)
    _throttle(store, names, now_ms, admin.settings.invalidations_per_minute)
    if request.scope == "query":
        for key in keys:
            invalidate_key(store, key)
        generations = {names[0]: store.generation(names[0]).generation}
    else:
        generations = {
            name: invalidate_dataset(store, name, by=principal.token_id, now_ms=now_ms)
            for name in names
        }
    body["datasets"] = [{"dataset": n, "generation": g} for n, g in generations.items()]
    details["generations"] = generations
    edge = admin.edge.invalidate(
        edge_paths(d.route for d in request.datasets),
        reference=f"lakegate-{event.request_context.request_id}-{now_ms}",
    )
    body["edge"] = edge.as_dict()
    if request.scope == "query":
        body["note"] = (
            "CloudFront cannot invalidate a single query string: every cached variant of "
            f"{request.datasets[0].route} was invalidated at the edge."
        )
    details.update(edge=edge.status, invalidation_id=edge.invalidation_id)
    return body


def _throttle(store: CacheStore, datasets: Sequence[str], now_ms: int, limit: int) -> None:
    # `all` counts against every dataset: alternating it with single-dataset calls must
    # not double an operator script's rate. A refusal part-way keeps the earlier counts
    # (the safe side) and invalidates nothing.
    for name in datasets:
        if not store.count_invalidation(name, now_ms, limit):
            retry_after = max(1, math.ceil((60_000 - now_ms % 60_000) / 1000))
            raise TooManyRequests(
                f"Dataset {name!r} was invalidated {limit} times this minute; "
                f"try again in {retry_after} s.",
                retry_after=retry_after,
            )


def _status(catalogue: Catalogue, admin: Admin) -> dict[str, object]:
    datasets = []
    for dataset in catalogue.datasets:
        info = admin.store.generation(dataset.name)
        datasets.append(
            {
                "dataset": dataset.name,
                "route": dataset.route,
                "generation": info.generation,
                "invalidated_at": _iso(info.invalidated_at_ms),
                "invalidated_by": info.invalidated_by,
                "freshness": dataset.freshness.model_dump(),
            }
        )
    return {
        "catalogue_version": catalogue.version,
        "datasets": datasets,
        "invalidations_per_minute": admin.settings.invalidations_per_minute,
        "edge": {"distribution_configured": admin.settings.distribution_id_parameter is not None},
    }


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def _responses(status: int, description: str) -> dict[int, OpenAPIResponse]:
    documented: dict[int, OpenAPIResponse] = {
        status: {
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
    for code, text in {
        400: "Invalid parameters (named in `error.parameter`).",
        401: "Missing or invalid admin token.",
        404: "No such dataset, or the admin routes are not enabled.",
        429: "Too many invalidations of a dataset this minute; see Retry-After.",
        503: "The cache store or the token secret is unavailable.",
    }.items():
        documented[code] = {
            "description": text,
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
    return documented
