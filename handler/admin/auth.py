"""The admin token: read from Secrets Manager, cached briefly, compared in constant time.

The secret holds one token (the plain string the CDK generates, or JSON `{"token": ...}`).
Both its AWSCURRENT and AWSPREVIOUS versions are accepted, so a rotation
(`put-secret-value`) never locks out an operator who has not switched yet.

The presented token is hashed and compared against *both* versions every time: a
missing, wrong, current or previous token costs the same work, so timing reveals
neither whether a token matched nor which. The token itself is never logged,
raised or returned; callers get a token id (a digest prefix and the stage).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from handler.admin import ADMIN_TOKEN_HEADER
from handler.errors import SecretsUnavailable, Unauthorized

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["ADMIN_TOKEN_HEADER", "Principal", "TokenVerifier", "secrets_manager_fetch"]

logger = Logger(service="lakegate", child=True)  # under handler.app's logger, whatever the env


# Secrets Manager's staging labels, and the short names used in token ids.
STAGES = (("current", "AWSCURRENT"), ("previous", "AWSPREVIOUS"))

SecretFetch = Callable[[str], str | None]
"""Reads one version stage of the token secret; None when that version does not exist."""


class AdminSecretUnavailable(SecretsUnavailable):
    """Secrets Manager failed and no token versions are cached: 503, never a 401.

    A 401 would tell an operator that their token is wrong when it is not.
    """


class AdminSecretGone(AdminSecretUnavailable):
    """The secret was deleted (or is scheduled for deletion): no token is valid any more.

    With versions cached, every token is refused from the next refresh on, within the
    cache's lifetime; with none, it is still a 503 (a wrong ARN at deploy looks the same).
    """


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made an admin request, as far as logs may say: never the token."""

    token_id: str  # e.g. "a1b2c3d4/current"


@dataclass(frozen=True, slots=True)
class _Version:
    digest: bytes
    token_id: str | None  # None: this stage has no version; the digest is random


@dataclass(frozen=True, slots=True)
class _Versions:
    current: _Version
    previous: _Version
    fetched_at: float


def token_id(token: str, stage: str) -> str:
    """The audit name of a token: 8 hex digits of its SHA-256 and the stage."""
    return f"{_digest(token).hex()[:8]}/{stage}"


class TokenVerifier:
    """Checks presented tokens against the secret's current and previous versions."""

    def __init__(
        self,
        fetch: SecretFetch,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._versions: _Versions | None = None
        self._lock = threading.Lock()

    def verify(self, presented: str | None) -> Principal:
        """The principal for a valid token; Unauthorized (saying nothing more) otherwise."""
        versions = self._current_versions()
        candidate = _digest(presented or "")
        # Both comparisons always run, on fixed-length digests: no short circuit, no
        # length leak, and an absent version compares against random bytes.
        current = hmac.compare_digest(versions.current.digest, candidate)
        previous = hmac.compare_digest(versions.previous.digest, candidate)
        if presented:
            for matched, version in ((current, versions.current), (previous, versions.previous)):
                if matched and version.token_id is not None:
                    return Principal(version.token_id)
        raise Unauthorized()

    def _current_versions(self) -> _Versions:
        with self._lock:
            cached = self._versions
            now = self._clock()
            if cached is not None and now - cached.fetched_at < self._cache_seconds:
                return cached
            try:
                fresh = _Versions(
                    current=_version(self._fetch, *STAGES[0]),
                    previous=_version(self._fetch, *STAGES[1]),
                    fetched_at=now,
                )
            except AdminSecretGone:
                if cached is None:
                    raise
                logger.warning("admin token secret deleted; refusing every token")
                nothing = _Version(secrets.token_bytes(32), None)
                self._versions = _Versions(nothing, nothing, fetched_at=now)
                return self._versions
            except AdminSecretUnavailable as exc:
                if cached is None:
                    raise
                # Keep serving the versions we had; the next request retries the read.
                logger.warning("admin token refresh failed", extra={"error_code": exc.error_code})
                return cached
            self._versions = fresh
            return fresh


def _version(fetch: SecretFetch, stage: str, version_stage: str) -> _Version:
    token = fetch(version_stage)
    if not token:
        return _Version(secrets.token_bytes(32), None)
    return _Version(_digest(token), token_id(token, stage))


def _digest(token: str) -> bytes:
    # surrogatepass: a header decoded from JSON may carry lone surrogates; hash, never fail.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def secrets_manager_fetch(
    client: Callable[[], SecretsManagerClient], secret_id: str
) -> SecretFetch:
    """Read version stages of the token secret with GetSecretValue.

    Not Powertools' SecretsProvider: its cache key is the secret name alone, so
    AWSCURRENT and AWSPREVIOUS would overwrite each other, and its GetParameterError
    hides the "no such version" code that means "no previous token yet".
    """

    def fetch(version_stage: str) -> str | None:
        try:
            answer = client().get_secret_value(SecretId=secret_id, VersionStage=version_stage)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ResourceNotFoundException" and version_stage != "AWSCURRENT":
                return None
            # Deleted, or marked for deletion (InvalidRequestException): authoritative.
            if code in ("ResourceNotFoundException", "InvalidRequestException"):
                raise AdminSecretGone("admin token secret deleted", error_code=code) from exc
            raise AdminSecretUnavailable(
                "admin token secret unreadable", error_code=code or "ClientError"
            ) from exc
        except BotoCoreError as exc:
            raise AdminSecretUnavailable(
                "admin token secret unreadable", error_code=type(exc).__name__
            ) from exc
        return parse_token(answer.get("SecretString"))

    return fetch


def parse_token(value: str | None) -> str | None:
    """The token in a secret string: the whole string, or its JSON object's `token`."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith("{"):
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
        token = document.get("token") if isinstance(document, dict) else None
        return token.strip() if isinstance(token, str) and token.strip() else None
    return value or None
