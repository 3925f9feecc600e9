"""The embedded stack: warehouse emulator + Function URL server, started and stopped together.

Used by `lakegate serve`, the end-to-end tests and the load tests, so all three run
exactly the same wiring.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from cache.metrics import CountingRecorder
from handler.services import ServicesCache
from handler.settings import CacheSettings, Settings, WarehouseSettings
from local.aws import (
    CACHE_BUCKET,
    CACHE_TABLE,
    REGION,
    MotoServer,
    create_cache_resources,
    use_local_credentials,
)
from local.emulator import Emulator, EmulatorConfig
from local.function_url import FunctionUrlServer


@dataclass(frozen=True)
class StackConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    # None: start the emulator. Otherwise serve from this warehouse (real Databricks).
    warehouse: WarehouseSettings | None = None
    emulator: EmulatorConfig = field(default_factory=EmulatorConfig)
    max_containers: int = 16
    lambda_timeout_seconds: float = 30.0
    # "moto": start a local DynamoDB/S3; "off": no cache; any URL: use that endpoint.
    cache: str = "moto"
    lease_seconds: float = 8.0
    error_hold_seconds: float = 2.0
    overflow_bytes: int = 350_000
    catalogue_path: Path | None = None  # None: the packaged catalogue


class EmbeddedStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.emulator: Emulator | None = None
        self.moto: MotoServer | None = None
        self.server: FunctionUrlServer | None = None
        self.recorder = CountingRecorder()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "stack not started"
        return self.server.url

    def start(self) -> EmbeddedStack:
        from handler.app import new_container  # the packaged catalogue loads here, once
        from handler.catalogue import load_catalogue

        path = self.config.catalogue_path
        catalogue = load_catalogue(path) if path is not None else None

        warehouse = self.config.warehouse
        if warehouse is None:
            self.emulator = Emulator(self.config.emulator).start()
            warehouse = WarehouseSettings(
                host=self.emulator.url,
                warehouse_id=self.config.emulator.warehouse_id,
                token=SecretStr(self.config.emulator.token),
            )
        settings = Settings(warehouse=warehouse, cache=self._cache_settings())
        services = ServicesCache(self.recorder, settings)
        self.server = FunctionUrlServer(
            (self.config.host, self.config.port),
            lambda: new_container(settings, self.recorder, catalogue, services),
            max_containers=self.config.max_containers,
            timeout_seconds=self.config.lambda_timeout_seconds,
        )
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def _cache_settings(self) -> CacheSettings | None:
        if self.config.cache == "off":
            return None
        use_local_credentials()
        endpoint = self.config.cache
        if endpoint == "moto":
            self.moto = MotoServer(self.config.host).start()
            endpoint = self.moto.url
            create_cache_resources(endpoint)
        return CacheSettings(
            table=CACHE_TABLE,
            bucket=CACHE_BUCKET,
            endpoint_url=endpoint,
            region=REGION,
            lease_seconds=self.config.lease_seconds,
            error_hold_seconds=self.config.error_hold_seconds,
            overflow_bytes=self.config.overflow_bytes,
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.emulator is not None:
            self.emulator.stop()
        if self.moto is not None:
            self.moto.stop()

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
