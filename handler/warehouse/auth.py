"""Bearer tokens for the warehouse: a PAT, OAuth machine-to-machine, or either from Secrets Manager.

Each provider caches what it fetched: a Lambda container serves thousands of
requests, and a token fetch per request would double the warehouse round trips.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import orjson
import requests
from pydantic import ValidationError

from handler.errors import ConfigurationError, WarehouseRejected, WarehouseUnavailable
from handler.settings import WarehouseSettings
from handler.warehouse.wire import OAuthToken

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

# Refresh OAuth tokens this long before they expire, so no request carries a token
# that dies in flight.
_EXPIRY_MARGIN_SECONDS = 60.0


class TokenProvider(Protocol):
    def token(self) -> str:
        """A bearer token valid for at least the next minute."""

    def invalidate(self) -> None:
        """Forget cached credentials (after a 401, for instance)."""


class StaticToken:
    """A personal access token given directly (locally: DATABRICKS_TOKEN)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        """A static token cannot be refreshed."""


class OAuthMachineToMachine:
    """Client-credentials flow against `{host}/oidc/v1/token`, cached until shortly before expiry."""

    def __init__(
        self,
        host: str,
        client_id: str,
        client_secret: str,
        session: requests.Session,
        *,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = f"{host}/oidc/v1/token"
        self._auth = (client_id, client_secret)
        self._session = session
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[str, float] | None = None

    def token(self) -> str:
        with self._lock:
            if self._cached and self._clock() < self._cached[1]:
                return self._cached[0]
            fetched = self._fetch()
            lifetime = max(0.0, fetched.expires_in - _EXPIRY_MARGIN_SECONDS)
            self._cached = (fetched.access_token, self._clock() + lifetime)
            return fetched.access_token

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def _fetch(self) -> OAuthToken:
        try:
            response = self._session.post(
                self._url,
                data={"grant_type": "client_credentials", "scope": "all-apis"},
                auth=self._auth,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise WarehouseUnavailable("oauth token endpoint unreachable") from exc
        if response.status_code in (401, 403):
            raise WarehouseRejected(
                "oauth client credentials refused", error_code="UNAUTHENTICATED"
            )
        if response.status_code != 200:
            raise WarehouseUnavailable(f"oauth token endpoint answered {response.status_code}")
        try:
            return OAuthToken.model_validate_json(response.content)
        except ValidationError as exc:
            raise WarehouseRejected("oauth token endpoint sent an unreadable answer") from exc


class SecretsManagerCredentials:
    """Credentials kept in Secrets Manager (Lambda), re-read at most every `max_age` seconds.

    The secret is JSON: `{"token": ...}` for a PAT or `{"client_id", "client_secret"}` for
    OAuth M2M; a bare string is taken as a PAT. Powertools' parameters utility caches the
    secret, so rotation is picked up within `max_age` without a fetch per request.
    """

    def __init__(
        self,
        settings: WarehouseSettings,
        session: requests.Session,
        provider: SecretsProvider | None = None,
    ) -> None:
        if settings.secret_arn is None:
            raise ConfigurationError("SecretsManagerCredentials needs DATABRICKS_SECRET_ARN")
        self._arn = settings.secret_arn
        self._host = settings.host
        self._max_age = settings.secret_max_age_seconds
        self._session = session
        self._provider = provider
        self._delegate: tuple[str, TokenProvider] | None = None

    def token(self) -> str:
        raw = self._read_secret()
        if self._delegate is None or self._delegate[0] != raw:
            self._delegate = (raw, self._provider_for(raw))
        return self._delegate[1].token()

    def invalidate(self) -> None:
        self._delegate = None

    def _read_secret(self) -> str:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._provider = SecretsProvider()
        try:
            value = self._provider.get(self._arn, max_age=self._max_age)
        except Exception as exc:  # botocore raises many types; none may reach the client
            raise WarehouseUnavailable("databricks credentials secret unreadable") from exc
        if value is None:
            raise ConfigurationError("databricks credentials secret is empty")
        return value if isinstance(value, str) else bytes(value).decode()

    def _provider_for(self, raw: str) -> TokenProvider:
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return StaticToken(raw.strip())
        if isinstance(parsed, dict) and isinstance(parsed.get("token"), str):
            return StaticToken(parsed["token"])
        if isinstance(parsed, dict) and parsed.get("client_id") and parsed.get("client_secret"):
            return OAuthMachineToMachine(
                self._host, str(parsed["client_id"]), str(parsed["client_secret"]), self._session
            )
        raise ConfigurationError("databricks credentials secret has neither token nor client_id")


def token_provider(
    settings: WarehouseSettings,
    session: requests.Session,
    secrets: SecretsProvider | None = None,
) -> TokenProvider:
    """Pick the credential source the settings describe."""
    if settings.token is not None:
        return StaticToken(settings.token.get_secret_value())
    if settings.secret_arn is not None:
        return SecretsManagerCredentials(settings, session, secrets)
    if settings.client_id and settings.client_secret is not None:
        return OAuthMachineToMachine(
            settings.host, settings.client_id, settings.client_secret.get_secret_value(), session
        )
    raise ConfigurationError("no Databricks credentials configured")
