"""The long-lived collaborators of a container: settings and clients, built once and reused.

This is lakegate's only deliberate module-level state: a Lambda container serves
many invocations, and rebuilding HTTP sessions (TLS handshakes) or re-reading
secrets per request would cost every request tens of milliseconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from handler.settings import Settings, load_settings
from handler.warehouse import WarehouseClient, token_provider


@dataclass(frozen=True)
class Services:
    settings: Settings
    warehouse: WarehouseClient


def build_services(settings: Settings) -> Services:
    session = requests.Session()
    # Retries are the client's job (inside its deadline), not urllib3's.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    warehouse = WarehouseClient(settings.warehouse, token_provider(settings.warehouse, session), session)
    return Services(settings=settings, warehouse=warehouse)


class ServicesCache:
    """Builds Services on first use and hands out the same instance afterwards."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._services: Services | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Services:
        if self._services is None:
            with self._lock:
                if self._services is None:
                    self._services = build_services(self._settings or load_settings())
        return self._services
