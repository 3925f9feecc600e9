"""The long-lived collaborators of a container: settings and clients, built once and reused.

This is lakegate's only deliberate module-level state: a Lambda container serves
many invocations, and rebuilding HTTP sessions (TLS handshakes), boto3 clients or
re-reading secrets per request would cost every request tens of milliseconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from cache.metrics import Recorder
from cache.results import ResultCache, UncachedResults
from cache.single_flight import FlightSettings
from cache.store import CacheStore, DynamoCacheStore
from handler.settings import CacheSettings, Settings, load_settings
from handler.warehouse import WarehouseClient, token_provider


@dataclass(frozen=True)
class Services:
    settings: Settings
    warehouse: WarehouseClient
    results: ResultCache | UncachedResults
    store: CacheStore | None


def build_services(settings: Settings, recorder: Recorder) -> Services:
    session = requests.Session()
    # Retries are the client's job (inside its deadline), not urllib3's.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
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
    return Services(settings, warehouse, ResultCache(store, recorder, flight), store)


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
