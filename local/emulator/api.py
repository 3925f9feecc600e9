"""What each endpoint does: Databricks' paths, bearer-token checks, faults, controls.

Routes (the SDK's StatementExecutionAPI calls the first four; oauth.py serves the next
three):

    POST /api/2.0/sql/statements[/]                     execute
    GET  /api/2.0/sql/statements/{id}                   poll
    GET  /api/2.0/sql/statements/{id}/result/chunks/{n} one chunk (ResultData only)
    POST /api/2.0/sql/statements/{id}/cancel            cancel, answers {}
    GET  /__storage/results/{id}/{n}?expires&signature  an EXTERNAL_LINKS file (storage.py)
    POST /oidc/v1/token                                 OAuth client-credentials
    GET  /.well-known/databricks-config                 host metadata (SDK start-up probe)
    GET  /oidc/.well-known/oauth-authorization-server   OIDC discovery (SDK M2M auth)
    GET  /__emulator/stats, GET|POST /__emulator/faults, POST /__emulator/reset  (no auth)

Like Databricks, a call without a bearer token is 401 and a call with an unknown one
is 403 with a numeric `"error_code": 403` (what the workspace gateway sends; the SDK
maps it by status to PermissionDenied).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.emulator.config import EmulatorConfig
from local.emulator.distortions import distort_chunk, distort_statement, echoed
from local.emulator.engine import Engine
from local.emulator.execute import parse_execute
from local.emulator.faults import GARBAGE, Faults, InitialFaults
from local.emulator.oauth import TokenStore, host_metadata, oauth_token, oidc_discovery
from local.emulator.storage import CONTENT_TYPES, Download, Storage, refusal
from local.emulator.storage import PATH as STORAGE_PATH
from local.emulator.wire import ApiError

# Real seconds per wait_timeout second: tests shrink it to reach on_wait_timeout quickly.
WAIT_SCALE = 1.0
# What a gateway says when it gave up on an execute the warehouse had already taken.
_GATEWAY_CODES = {500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 504: "DEADLINE_EXCEEDED"}


@dataclass
class Context:
    """What the request handlers share; one per running emulator."""

    config: EmulatorConfig
    faults: Faults
    engine: Engine
    storage: Storage
    tokens: TokenStore = field(default_factory=TokenStore)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str  # scheme://host:port as the client addressed us
    query: str = ""  # the query string, undecoded


# bytes: a body that is not JSON (a fault); Download: a file, or storage's XML refusal.
Reply = tuple[int, dict[str, Any] | bytes | Download]
Route = Callable[[Context, Request, re.Match[str]], Reply]
STATEMENT = r"/api/2\.0/sql/statements/(?P<id>[^/]+)"


def execute(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    call = parse_execute(_json_object(request.body), ctx.config.warehouse_id)
    now = ctx.faults.current()
    statement = ctx.engine.submit(call.request)
    if now.execute_status is not None:  # accepted, and it runs; the answer is lost
        raise ApiError(
            now.execute_status,
            _GATEWAY_CODES[now.execute_status],
            "The gateway gave up on the answer (emulator fault execute_status).",
        )
    if now.execute_stall:
        ctx.faults.stall()
    # wait_timeout=0s is the asynchronous mode: on_wait_timeout is ignored, never CANCEL.
    waits = call.wait_s > 0 and now.slow_statement_ms is None
    if waits and not statement.done.wait(call.wait_s * WAIT_SCALE) and call.cancel_on_timeout:
        ctx.engine.cancel(statement.id)
    if now.garbage_body == "execute":
        return 200, GARBAGE
    body = _presigned(ctx, ctx.engine.describe(statement), request.base_url)
    return 200, _echoing(request, now, distort_statement(body, now, request.base_url))


def get_statement(ctx: Context, request: Request, match: re.Match[str]) -> Reply:
    body = ctx.engine.describe(ctx.engine.get(match["id"]))
    now = ctx.faults.current()
    if now.garbage_body == "poll":
        return 200, GARBAGE
    body = distort_statement(_presigned(ctx, body, request.base_url), now, request.base_url)
    return 200, _echoing(request, now, body)


def _echoing(request: Request, now: InitialFaults, body: dict[str, Any]) -> dict[str, Any]:
    """A FAILED statement's status, with the credentials in it when the fault says so."""
    if not now.echo_credentials:
        return body
    return echoed(body, request.headers.get("authorization", ""))


def get_chunk(ctx: Context, request: Request, match: re.Match[str]) -> Reply:
    body = ctx.engine.result_chunk(match["id"], int(match["index"]))
    now = ctx.faults.current()
    if now.garbage_body == "chunk":
        return 200, GARBAGE
    body = _sign_links(ctx, body, match["id"], request.base_url)
    return 200, distort_chunk(body, match["id"], now, request.base_url)


def download(ctx: Context, request: Request, match: re.Match[str]) -> Reply:
    """A presigned link's file, or the storage's refusal (storage.py)."""
    ctx.engine.count("link_downloads")
    answer = ctx.storage.check(request.path, request.query, request.headers)
    if answer is None:
        fault = ctx.faults.take_download_fault()
        if fault == 500:
            answer = refusal(
                500, "InternalError", "We encountered an internal error. Please try again."
            )
        elif fault == 403:
            answer = refusal(403, "AccessDenied", "Request has expired")
        elif ctx.faults.current().garbage_body == "file":
            answer = Download(200, "text/html", GARBAGE)
    if answer is None:
        found = ctx.engine.result_file(match["id"], int(match["index"]))
        if found is None:
            answer = refusal(404, "NoSuchKey", "The specified key does not exist.")
        else:
            answer = Download(200, CONTENT_TYPES[found[0]], found[1])
            ctx.engine.count("link_bytes_served", len(found[1]))
    if answer.status != 200:
        ctx.engine.count("link_downloads_refused")
    return answer.status, answer


def _presigned(ctx: Context, body: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A StatementResponse whose first chunk, if it is a link, is signed."""
    if "result" in body:
        body["result"] = _sign_links(ctx, body["result"], body["statement_id"], base_url)
    return body


def _sign_links(
    ctx: Context, chunk: dict[str, Any], statement_id: str, base_url: str
) -> dict[str, Any]:
    """Each external_links entry completed with a fresh presigned link (and its expiry)."""
    if "external_links" not in chunk:
        return chunk
    links = []
    for link in chunk["external_links"]:
        expired = ctx.faults.take_expired_link()
        signed = ctx.storage.presign(base_url, statement_id, link["chunk_index"], expired=expired)
        links.append({**link, **signed})
        ctx.engine.count("links_issued")
    return {**chunk, "external_links": links}


def cancel(ctx: Context, request: Request, match: re.Match[str]) -> Reply:
    ctx.engine.cancel(match["id"])
    return 200, {}


def stats(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    return 200, {**ctx.engine.stats(), "faults": ctx.faults.snapshot()}


def get_faults(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    return 200, ctx.faults.snapshot()


def set_faults(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    try:
        ctx.faults.set(**_json_object(request.body))
    except (TypeError, ValueError) as error:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", str(error)) from None
    return 200, ctx.faults.snapshot()


def reset(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    ctx.engine.reset()
    ctx.faults.clear()
    return 200, {}


# oauth.py's three, handed what they read of the request and the emulator.
def _oauth_token(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    authorization = request.headers.get("authorization", "")
    return oauth_token(request.body, authorization, ctx.config, ctx.tokens)


def _host_metadata(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    return host_metadata(request.base_url)


def _oidc(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    return oidc_discovery(request.base_url)


ROUTES: list[tuple[str, str, re.Pattern[str], Route]] = [
    ("execute", "POST", re.compile(r"/api/2\.0/sql/statements/?"), execute),
    ("poll", "GET", re.compile(STATEMENT), get_statement),
    ("chunk", "GET", re.compile(STATEMENT + r"/result/chunks/(?P<index>\d+)"), get_chunk),
    ("cancel", "POST", re.compile(STATEMENT + r"/cancel"), cancel),
    ("storage", "GET", STORAGE_PATH, download),
    ("oauth", "POST", re.compile(r"/oidc/v1/token"), _oauth_token),
    ("metadata", "GET", re.compile(r"/\.well-known/databricks-config"), _host_metadata),
    ("oidc", "GET", re.compile(r"/oidc/\.well-known/oauth-authorization-server"), _oidc),
    ("stats", "GET", re.compile(r"/__emulator/stats"), stats),
    ("faults", "GET", re.compile(r"/__emulator/faults"), get_faults),
    ("faults", "POST", re.compile(r"/__emulator/faults"), set_faults),
    ("reset", "POST", re.compile(r"/__emulator/reset"), reset),
]
# Calls counted as they arrive, before authentication and faults.
_RECEIVED = {
    "execute": "executes_received",
    "poll": "polls_received",
    "chunk": "chunk_fetches",
    "cancel": "cancels_received",
}


@dataclass(frozen=True)
class Answer:
    """What `handle` answers: status, body (JSON, bytes a fault sends verbatim, or a file),
    extra headers, and the route's name (the faults that break answers pick by it)."""

    status: int
    body: dict[str, Any] | bytes | Download
    headers: dict[str, str]
    route: str = ""


def handle(ctx: Context, request: Request) -> Answer:
    """The API's answer to one request; never raises."""
    name = ""
    try:
        route, match = None, None
        for route_name, method, pattern, candidate in ROUTES:
            found = pattern.fullmatch(request.path)
            if found and method == request.method:
                name, route, match = route_name, candidate, found
                break
        if request.path.startswith("/api/"):
            _guard_api(ctx, request, name)
        if route is None or match is None:
            raise ApiError(
                404, "ENDPOINT_NOT_FOUND", f"No API found for '{request.method} {request.path}'"
            )
        status, body = route(ctx, request, match)
        return Answer(status, body, {}, name)
    except ApiError as error:
        body = error.body()
        if ctx.faults.current().echo_credentials:
            body = echoed(body, request.headers.get("authorization", ""))
        return Answer(error.status, body, error.headers, name)
    except Exception as error:  # a bug here must still answer in the documented shape
        return Answer(500, {"error_code": "INTERNAL_ERROR", "message": repr(error)}, {}, name)


def _guard_api(ctx: Context, request: Request, route: str) -> None:
    """Count, authenticate, then apply 429/503 faults, in the order a gateway would."""
    ctx.engine.count("requests")
    if route in _RECEIVED:
        ctx.engine.count(_RECEIVED[route])
    scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "UNAUTHENTICATED",
            "Credential was not sent or was of an unsupported type for this API.",
        )
    if not secrets.compare_digest(token, ctx.config.token) and not ctx.tokens.valid(token):
        raise ApiError(403, 403, "Invalid access token.")
    fault = ctx.faults.take_request_fault(route)
    if fault == 401:
        raise ApiError(
            401, "UNAUTHENTICATED", "Token expired (emulator fault unauthenticated_next)."
        )
    if fault == 429:
        ctx.engine.count("throttled")
        raise ApiError(
            429,
            "TOO_MANY_REQUESTS",
            "Too many requests (emulator fault throttle_next/throttle_always). Retry later.",
            {"Retry-After": ctx.faults.current().retry_after},
        )
    if fault == 503:
        ctx.engine.count("unavailable")
        raise ApiError(
            503,
            "TEMPORARILY_UNAVAILABLE",
            "The service is temporarily unavailable (emulator fault unavailable_*).",
        )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(
            400, "MALFORMED_REQUEST", f"Request body is not valid JSON: {error}"
        ) from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "MALFORMED_REQUEST", "Request body must be a JSON object")
    return parsed
