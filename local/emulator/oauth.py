"""OAuth machine-to-machine, as Databricks serves it: the token endpoint and discovery.

POST /oidc/v1/token                                 client-credentials grant
GET  /.well-known/databricks-config                 host metadata (SDK start-up probe)
GET  /oidc/.well-known/oauth-authorization-server   OIDC discovery (SDK M2M auth)
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from local.emulator.config import EmulatorConfig

TOKEN_LIFETIME_S = 3600
Reply = tuple[int, dict[str, Any]]


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


def oauth_token(
    body: bytes, authorization: str, config: EmulatorConfig, tokens: TokenStore
) -> Reply:
    """Client-credentials grant: client id/secret by HTTP Basic auth (SDK) or form fields."""
    form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    scheme, _sep, encoded = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _sep, client_secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client_id = client_secret = None
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported")
    if (client_id, client_secret) != (config.oauth_client_id, config.oauth_client_secret):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    scope = form.get("scope") or "all-apis"
    token = tokens.issue()
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


def host_metadata(base_url: str) -> Reply:
    # databricks-sdk >= 0.70 reads this while building its Config; oidc_endpoint is the
    # one field it needs to find the token endpoint for M2M OAuth.
    return 200, {"oidc_endpoint": f"{base_url}/oidc"}


def oidc_discovery(base_url: str) -> Reply:
    base = f"{base_url}/oidc"
    return 200, {
        "issuer": base,
        "authorization_endpoint": f"{base}/v1/authorize",
        "token_endpoint": f"{base}/v1/token",
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["all-apis"],
    }
