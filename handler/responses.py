"""HTTP responses: the one place errors become status codes, and bodies get compressed.

Error bodies are always `{"error": {"code", "message", "parameter"?, "request_id"}}`,
with `Cache-Control: no-store` so neither browsers nor CloudFront keep them.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Literal

import orjson
from aws_lambda_powertools.event_handler import Response

from cache import (
    CacheUnavailable,
    KeyFailing,
    LeaseWaitTimeout,
    OverConsumerBudget,
    OverShare,
    OverStatementBudget,
)
from handler.errors import (
    ApiKeyRefused,
    BadRequest,
    ConfigurationError,
    Forbidden,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    SchemaMismatch,
    SecretsUnavailable,
    ShapingError,
    TooManyRequests,
    Unauthorized,
    WarehouseRejected,
    WarehouseTimeout,
    WarehouseUnavailable,
)

JSON = "application/json"
CSV = "text/csv; charset=utf-8; header=present"
PARQUET = "application/vnd.apache.parquet"
NO_STORE = "no-store"


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """How one kind of error is answered. `None` fields come from the exception itself:
    client errors carry a message lakegate wrote; upstream ones never do (their text may
    hold the warehouse's words), so they get these fixed messages."""

    status: int
    code: str | None
    message: str | None
    # How handler.routes logs an answered 5xx: "upstream" as a warning with the error's
    # ids, never its text (it may hold the warehouse's words); "configuration" as an error
    # with its text, which names a setting and never a secret's value.
    logged: Literal["upstream", "configuration"] = "upstream"


_TIMEOUT = ErrorShape(504, "warehouse_timeout", "The data warehouse did not answer in time.")
_UNAVAILABLE = ErrorShape(
    503, "warehouse_unavailable", "The data warehouse is temporarily unavailable."
)

# The one map from errors to HTTP: the first class the error is an instance of wins.
# Retry-After is the error's own `retry_after` where it has one.
ERRORS: tuple[tuple[type[Exception], ErrorShape], ...] = (
    (BadRequest, ErrorShape(400, None, None)),
    (Unauthorized, ErrorShape(401, "unauthorized", "Missing or invalid admin token.")),
    (ApiKeyRefused, ErrorShape(401, "unauthorized", "Missing or invalid API key.")),
    (Forbidden, ErrorShape(403, "forbidden", None)),
    (NotFound, ErrorShape(404, "not_found", None)),
    (MethodNotAllowed, ErrorShape(405, "method_not_allowed", None)),
    (NotAcceptable, ErrorShape(406, "not_acceptable", None)),
    (TooManyRequests, ErrorShape(429, "throttled", None)),
    (
        OverShare,
        ErrorShape(
            429,
            "share_exceeded",
            "This consumer has started its share of this dataset's warehouse queries for "
            "this minute; answers already cached are still served.",
        ),
    ),
    (
        OverConsumerBudget,
        ErrorShape(
            429,
            "miss_budget_exceeded",
            "This API key has started its warehouse queries for this minute; "
            "answers already cached are still served.",
        ),
    ),
    (
        OverStatementBudget,
        ErrorShape(
            503,
            "statement_budget_exceeded",
            "This dataset's warehouse queries for this minute are spent; try again shortly.",
        ),
    ),
    # e.g. the Databricks secret still holds its deploy-time placeholder.
    (
        ConfigurationError,
        ErrorShape(503, "not_configured", "The service is not configured yet.", "configuration"),
    ),
    (WarehouseTimeout, _TIMEOUT),
    (LeaseWaitTimeout, _TIMEOUT),
    (WarehouseUnavailable, _UNAVAILABLE),
    (KeyFailing, _UNAVAILABLE),
    (
        SecretsUnavailable,
        ErrorShape(503, "secrets_unavailable", "A credential store is temporarily unavailable."),
    ),
    (WarehouseRejected, ErrorShape(502, "warehouse_error", "The data warehouse could not answer.")),
    (
        ShapingError,
        ErrorShape(502, "bad_upstream_data", "The data warehouse sent unreadable data."),
    ),
    (
        SchemaMismatch,
        ErrorShape(
            502,
            "bad_upstream_data",
            "The data warehouse answered with other columns than the query asked for.",
        ),
    ),
    (CacheUnavailable, ErrorShape(503, "cache_unavailable", "The result cache is unavailable.")),
)
_INTERNAL = ErrorShape(500, "internal_error", "Something went wrong on our side.")


def shape_of(exc: BaseException) -> ErrorShape:
    """The row of ERRORS for `exc`; anything unplanned is a 500 that says nothing."""
    return next((shape for cls, shape in ERRORS if isinstance(exc, cls)), _INTERNAL)


def status_of(exc: BaseException) -> int:
    return shape_of(exc).status


class GzipJson:
    """gzip bytes of a JSON body, boxed so Powertools' JSON encoder passes them to `serialize`.

    With validation on, Powertools runs every JSON response body through its encoder,
    which would try (and fail) to decode raw gzip bytes as UTF-8 text. A plain class
    (not a dataclass, which the encoder would unpack) reaches our serializer intact.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def serialize(body: object) -> str | bytes:
    """The resolver's serializer: bodies lakegate encoded itself pass through untouched."""
    if isinstance(body, GzipJson):
        return body.data  # Powertools base64-encodes bytes after this step
    if isinstance(body, str | bytes):
        return body
    return orjson.dumps(body).decode()


def error_response(exc: BaseException, request_id: str | None) -> Response[str]:
    """The HTTP response for any error, from the one table."""
    shape = shape_of(exc)
    retry_after = getattr(exc, "retry_after", None)
    allow = getattr(exc, "allow", None)
    return error(
        shape.status,
        shape.code or str(getattr(exc, "code", "error")),
        shape.message or str(getattr(exc, "message", "")),
        request_id,
        parameter=getattr(exc, "parameter", None),
        retry_after=retry_after if isinstance(retry_after, int) else None,
        allow=allow if isinstance(allow, tuple) else None,
    )


def error(
    status: int,
    code: str,
    message: str,
    request_id: str | None,
    *,
    parameter: str | None = None,
    retry_after: int | None = None,
    allow: tuple[str, ...] | None = None,
) -> Response[str]:
    detail: dict[str, str] = {"code": code, "message": message}
    if parameter is not None:
        detail["parameter"] = parameter
    if request_id:
        detail["request_id"] = request_id
    headers = {"Cache-Control": NO_STORE}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if allow is not None:
        headers["Allow"] = ", ".join(allow)
    return Response(
        status_code=status,
        content_type=JSON,
        body=orjson.dumps({"error": detail}).decode(),
        headers=headers,
    )


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when the client lists gzip (or *) with a non-zero quality."""
    for coding in (accept_encoding or "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=").strip()
            return quality == "" or _positive(quality)
    return False


def _positive(quality: str) -> bool:
    try:
        return float(quality) > 0
    except ValueError:
        return False


def gzip_body(body: bytes) -> bytes:
    # mtime=0 keeps the bytes identical for identical content.
    return gzip.compress(body, compresslevel=6, mtime=0)


def encoded_response(
    gzip_body: bytes,
    content_type: str,
    *,
    gzipped: bool,
    headers: dict[str, str],
    status: int = 200,
) -> Response[str | bytes | GzipJson]:
    """A response from a stored gzip body: sent as is when the client accepts gzip."""
    headers = {**headers, "Vary": "Accept, Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        body: str | bytes | GzipJson = (
            GzipJson(gzip_body) if content_type.startswith(JSON) else gzip_body
        )
        return Response(status, content_type, body, headers)
    identity = gzip.decompress(gzip_body)
    if content_type == PARQUET:
        return Response(status, content_type, identity, headers)  # binary: base64 on the wire
    # Text bodies stay text: no base64 inflation for clients that do not compress.
    return Response(status, content_type, identity.decode("utf-8"), headers)


def not_modified(headers: dict[str, str]) -> Response[str]:
    """304: validators and caching headers only, no body."""
    kept = {k: v for k, v in headers.items() if k not in ("X-Row-Count",)}
    return Response(304, None, "", {**kept, "Vary": "Accept, Accept-Encoding"})


def see_other(location: str, headers: dict[str, str]) -> Response[str]:
    """303: the answer is at `location` (a presigned URL of its stored object), no body."""
    return Response(303, None, "", {**headers, "Location": location})
