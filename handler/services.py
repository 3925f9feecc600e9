"""The long-lived collaborators of a container: settings and clients, built once and reused.

This is lakegate's only deliberate module-level state: a Lambda container serves
many invocations, and rebuilding HTTP sessions (TLS handshakes), boto3 clients or
re-reading secrets per request would cost every request tens of milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

from cache.metrics import Recorder
from cache.results import ResultCache, UncachedResults
from cache.single_flight import FlightSettings
from cache.store import CacheStore, DynamoCacheStore
from handler.admin.auth import TokenVerifier, secrets_manager_fetch
from handler.admin.edge import EdgeInvalidator, ssm_distribution_id
from handler.settings import AdminSettings, CacheSettings, Settings, load_settings
from handler.warehouse import WarehouseClient, token_provider

T = TypeVar("T")


@dataclass(frozen=True)
class AdminServices:
    """What the /admin routes need; their AWS clients are built on the first admin request."""

    settings: AdminSettings
    tokens: TokenVerifier
    edge: EdgeInvalidator


@dataclass(frozen=True)
class Services:
    settings: Settings
    warehouse: WarehouseClient
    results: ResultCache | UncachedResults
    store: CacheStore | None
    admin: AdminServices | None = None  # None: no admin token or no cache configured


def build_services(settings: Settings, recorder: Recorder) -> Services:
    session = requests.Session()
    # Retries are the client's job (inside its deadline), not urllib3's.
    # 64: the local server shares one Services across its simulated containers.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=64, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    warehouse = WarehouseClient(
        settings.warehouse, token_provider(settings.warehouse, session), session
    )
    if settings.cache is None:
        return Services(settings, warehouse, UncachedResults(recorder), None)
    store = build_store(settings.cache)
    flight = FlightSettings(
        lease_ms=int(settings.cache.lease_seconds * 1000),
        error_hold_ms=int(settings.cache.error_hold_seconds * 1000),
    )
    admin = build_admin(settings.admin) if settings.admin is not None else None
    return Services(settings, warehouse, ResultCache(store, recorder, flight), store, admin)


def build_store(cache: CacheSettings) -> DynamoCacheStore:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=cache.connect_timeout_seconds,
        read_timeout=cache.read_timeout_seconds,
        retries={"max_attempts": cache.max_attempts, "mode": "standard"},
        tcp_keepalive=True,
    )
    session = boto3.session.Session(region_name=cache.region)
    dynamodb = session.client("dynamodb", endpoint_url=cache.endpoint_url, config=config)
    s3 = (
        session.client("s3", endpoint_url=cache.endpoint_url, config=config)
        if cache.bucket
        else None
    )
    return DynamoCacheStore(
        dynamodb, cache.table, s3, cache.bucket, overflow_bytes=cache.overflow_bytes
    )


def build_admin(admin: AdminSettings) -> AdminServices:
    """The admin collaborators. Their three boto3 clients are created lazily: a data
    request's cold start should not pay for Secrets Manager, SSM and CloudFront."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}
    )
    session_lock = threading.Lock()

    def client(service: str) -> Callable[[], Any]:
        def build() -> Any:
            # Creating boto3 sessions and clients is not thread-safe; using the clients is.
            with session_lock:
                session = boto3.session.Session(region_name=admin.region)
                return session.client(
                    service,  # type: ignore[call-overload]
                    endpoint_url=admin.endpoint_url,
                    config=config,
                )

        return _once(build)

    def ssm_provider() -> Any:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider(boto3_client=ssm())

    ssm = client("ssm")
    tokens = TokenVerifier(
        secrets_manager_fetch(client("secretsmanager"), admin.token_secret_arn),
        admin.token_cache_seconds,
    )
    edge = EdgeInvalidator(
        client("cloudfront"),
        ssm_distribution_id(_once(ssm_provider), admin.distribution_id_parameter),
    )
    return AdminServices(admin, tokens, edge)


def _once(factory: Callable[[], T]) -> Callable[[], T]:
    """`factory()` on first call, the same object afterwards (thread-safe)."""
    lock = threading.Lock()
    made: list[T] = []

    def get() -> T:
        if not made:
            with lock:
                if not made:
                    made.append(factory())
        return made[0]

    return get


class ServicesCache:
    """Builds Services on first use and hands out the same instance afterwards."""

    def __init__(self, recorder: Recorder, settings: Settings | None = None) -> None:
        self._recorder = recorder
        self._settings = settings
        self._services: Services | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Services:
        if self._services is None:
            with self._lock:
                if self._services is None:
                    self._services = build_services(
                        self._settings or load_settings(), self._recorder
                    )
        return self._services
