"""What each endpoint does: Databricks' paths, bearer-token checks, OAuth M2M, controls.

Routes (the SDK's StatementExecutionAPI calls the first four):

    POST /api/2.0/sql/statements[/]                     execute
    GET  /api/2.0/sql/statements/{id}                   poll
    GET  /api/2.0/sql/statements/{id}/result/chunks/{n} one chunk (ResultData only)
    POST /api/2.0/sql/statements/{id}/cancel            cancel, answers {}
    POST /oidc/v1/token                                 OAuth client-credentials
    GET  /.well-known/databricks-config                 host metadata (SDK start-up probe)
    GET  /oidc/.well-known/oauth-authorization-server   OIDC discovery (SDK M2M auth)
    GET  /__emulator/stats, GET|POST /__emulator/faults, POST /__emulator/reset  (no auth)
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from local.emulator.config import EmulatorConfig, Faults
from local.emulator.engine import Engine, StatementRequest
from local.emulator.translate import parse_parameters
from local.emulator.wire import ApiError, invalid_parameter

TOKEN_LIFETIME_S = 3600
# Real seconds per wait_timeout second: tests shrink it to reach on_wait_timeout quickly.
WAIT_SCALE = 1.0


class TokenStore:
    """OAuth access tokens handed out by /oidc/v1/token, each valid for an hour."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        # Real access tokens are JWTs, but clients must treat them as opaque: so can we.
        token = "emulator-oauth-" + secrets.token_hex(16)
        now = time.monotonic()
        with self._lock:
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + TOKEN_LIFETIME_S
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            return self._expiry.get(token, 0.0) > time.monotonic()


@dataclass
class Context:
    """What the request handlers share; one per running emulator."""

    config: EmulatorConfig
    faults: Faults
    engine: Engine
    tokens: TokenStore = field(default_factory=TokenStore)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str  # scheme://host:port as the client addressed us


Reply = tuple[int, dict[str, Any]]
Route = Callable[[Context, Request, re.Match[str]], Reply]
STATEMENT = r"/api/2\.0/sql/statements/(?P<id>[^/]+)"


@dataclass(frozen=True)
class ExecuteCall:
    request: StatementRequest
    wait_s: float
    cancel_on_timeout: bool


def parse_execute(body: dict[str, Any], warehouse_id: str) -> ExecuteCall:
    """Validate an execute body as Databricks does; every refusal is a 4xx ApiError."""
    statement = body.get("statement")
    if not isinstance(statement, str) or not statement.strip():
        raise invalid_parameter("statement is required")
    if not body.get("warehouse_id"):
        raise invalid_parameter("warehouse_id is required")
    if body["warehouse_id"] != warehouse_id:
        # Databricks answers an unknown warehouse with 404; the emulator has exactly one.
        raise ApiError(
            404, "RESOURCE_DOES_NOT_EXIST", f"Warehouse {body['warehouse_id']} does not exist"
        )
    wait = re.fullmatch(r"(\d+)s", str(body.get("wait_timeout") or "10s"))
    wait_s = int(wait.group(1)) if wait else -1
    if wait_s != 0 and not 5 <= wait_s <= 50:
        raise invalid_parameter("wait_timeout must be 0s or between 5s and 50s")
    on_timeout = body.get("on_wait_timeout") or "CONTINUE"
    if on_timeout not in ("CONTINUE", "CANCEL"):
        raise invalid_parameter("on_wait_timeout must be CONTINUE or CANCEL")
    disposition = body.get("disposition") or "INLINE"
    if disposition == "EXTERNAL_LINKS":
        raise invalid_parameter("disposition EXTERNAL_LINKS is not supported by the emulator")
    if disposition != "INLINE":
        raise invalid_parameter(f"unknown disposition {disposition!r}")
    result_format = body.get("format") or "JSON_ARRAY"
    if result_format in ("ARROW_STREAM", "CSV"):
        raise invalid_parameter(f"format {result_format} is not supported by the emulator")
    if result_format != "JSON_ARRAY":
        raise invalid_parameter(f"unknown format {result_format!r}")
    request = StatementRequest(
        statement=statement,
        parameters=parse_parameters(body.get("parameters")),
        catalog=_optional_text(body, "catalog"),
        schema=_optional_text(body, "schema"),
        row_limit=_optional_count(body, "row_limit"),
        byte_limit=_optional_count(body, "byte_limit"),
    )
    return ExecuteCall(request, float(wait_s), on_timeout == "CANCEL")


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_parameter(f"{name} must be a string")
    return value or None


def _optional_count(body: dict[str, Any], name: str) -> int | None:
    """A positive integer; proto3 JSON lets int64 arrive as a string, so accept "100" too."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise invalid_parameter(f"{name} must be a positive integer")
    return value


def execute(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    call = parse_execute(_json_object(request.body), ctx.config.warehouse_id)
    statement = ctx.engine.submit(call.request)
    if not statement.done.wait(call.wait_s * WAIT_SCALE) and call.cancel_on_timeout:
        ctx.engine.cancel(statement.id)
    return 200, ctx.engine.describe(statement)


def get_statement(ctx: Context, request: Request, match: re.Match[str]) -> Reply:
    return 200, ctx.engine.describe(ctx.engine.get(match["id"]))


def get_chunk(ctx: Context, request: Request, match: re.Match[str]) -> Reply:
    return 200, ctx.engine.result_chunk(match["id"], int(match["index"]))


def cancel(ctx: Context, request: Request, match: re.Match[str]) -> Reply:
    ctx.engine.cancel(match["id"])
    return 200, {}


def oauth_token(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    """Client-credentials grant: client id/secret by HTTP Basic auth (SDK) or form fields."""
    form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    scheme, _sep, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _sep, client_secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client_id = client_secret = None
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported")
    if (client_id, client_secret) != (ctx.config.oauth_client_id, ctx.config.oauth_client_secret):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    scope = form.get("scope") or "all-apis"
    token = ctx.tokens.issue()
    return 200, {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_S,
        "scope": scope,
    }


def _oauth_error(status: int, error: str, description: str) -> Reply:
    # RFC 6749 fields for OAuth clients plus the Databricks pair every other error carries.
    return status, {
        "error": error,
        "error_description": description,
        "error_code": "UNAUTHENTICATED" if status == 401 else "INVALID_PARAMETER_VALUE",
        "message": description,
    }


def host_metadata(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    # databricks-sdk >= 0.70 reads this while building its Config; oidc_endpoint is the
    # one field it needs to find the token endpoint for M2M OAuth.
    return 200, {"oidc_endpoint": f"{request.base_url}/oidc"}


def oidc_discovery(ctx: Context, request: Request, _: re.Match[str]) -> Reply:
    base = f"{request.base_url}/oidc"
    return 200, {
        "issuer": base,
        "authorization_endpoint": f"{base}/v1/authorize",
        "token_endpoint": f"{base}/v1/token",
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["all-apis"],
    }


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


ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    ("POST", re.compile(r"/api/2\.0/sql/statements/?"), execute),
    ("GET", re.compile(STATEMENT), get_statement),
    ("GET", re.compile(STATEMENT + r"/result/chunks/(?P<index>\d+)"), get_chunk),
    ("POST", re.compile(STATEMENT + r"/cancel"), cancel),
    ("POST", re.compile(r"/oidc/v1/token"), oauth_token),
    ("GET", re.compile(r"/\.well-known/databricks-config"), host_metadata),
    ("GET", re.compile(r"/oidc/\.well-known/oauth-authorization-server"), oidc_discovery),
    ("GET", re.compile(r"/__emulator/stats"), stats),
    ("GET", re.compile(r"/__emulator/faults"), get_faults),
    ("POST", re.compile(r"/__emulator/faults"), set_faults),
    ("POST", re.compile(r"/__emulator/reset"), reset),
]


def handle(ctx: Context, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, JSON body and extra headers for one request; never raises."""
    try:
        if request.path.startswith("/api/"):
            _guard_api(ctx, request)
        for method, pattern, route in ROUTES:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                status, body = route(ctx, request, match)
                return status, body, {}
        raise ApiError(
            404, "ENDPOINT_NOT_FOUND", f"No API found for '{request.method} {request.path}'"
        )
    except ApiError as error:
        return error.status, error.body(), error.headers
    except Exception as error:  # a bug here must still answer in the documented shape
        return 500, {"error_code": "INTERNAL_ERROR", "message": repr(error)}, {}


def _guard_api(ctx: Context, request: Request) -> None:
    """Count, authenticate, then apply queued 429/503 faults, in the order a gateway would."""
    ctx.engine.count("requests")
    scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "UNAUTHENTICATED",
            "Credential was not sent or was of an unsupported type for this API.",
        )
    if not secrets.compare_digest(token, ctx.config.token) and not ctx.tokens.valid(token):
        raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
    fault = ctx.faults.take_request_fault()
    if fault == 429:
        ctx.engine.count("throttled")
        raise ApiError(
            429,
            "TOO_MANY_REQUESTS",
            "Too many requests (emulator fault throttle_next). Please retry later.",
            {"Retry-After": "1"},
        )
    if fault == 503:
        ctx.engine.count("unavailable")
        raise ApiError(
            503,
            "TEMPORARILY_UNAVAILABLE",
            "The service is temporarily unavailable (emulator fault unavailable_next).",
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
