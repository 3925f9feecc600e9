"""The embedded stack: warehouse emulator + Function URL server, started and stopped together.

Used by `lakegate serve`, the end-to-end tests and the load tests, so all three run
exactly the same wiring.
"""

from __future__ import annotations

import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from cache.metrics import CountingRecorder
from handler.services import ServicesCache
from handler.settings import AdminSettings, CacheSettings, Settings, WarehouseSettings
from local.aws import (
    CACHE_BUCKET,
    CACHE_TABLE,
    REGION,
    AdminResources,
    MotoServer,
    create_admin_resources,
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
    # The /admin routes, on the moto cache only: a token secret, a CloudFront distribution
    # and its id in SSM, all in moto. Token: this, else LAKEGATE_ADMIN_TOKEN, else generated.
    admin: bool = True
    admin_token: str | None = None
    admin_token_cache_seconds: float = 60.0
    invalidations_per_minute: int = 3


class EmbeddedStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.emulator: Emulator | None = None
        self.moto: MotoServer | None = None
        self.server: FunctionUrlServer | None = None
        self.recorder = CountingRecorder()
        self.admin: AdminResources | None = None
        self.admin_token_generated = False
        self._admin_token: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "stack not started"
        return self.server.url

    @property
    def admin_token(self) -> str:
        """The admin token the stack's secret holds (AWSCURRENT at start)."""
        assert self._admin_token is not None, "stack not started, or started without admin"
        return self._admin_token

    def start(self) -> EmbeddedStack:
        from handler.app import new_container  # the packaged catalogue loads here, once
        from handler.catalogue import load_catalogue

        path = self.config.catalogue_path
        catalogue = load_catalogue(path) if path is not None else None

        with ThreadPoolExecutor(max_workers=1) as pool:
            # moto and its resources (mostly moto importing its services) start while the
            # emulator loads its data: the two take about as long.
            aws = pool.submit(self._aws_settings)
            warehouse = self.config.warehouse
            if warehouse is None:
                self.emulator = Emulator(self.config.emulator).start()
                warehouse = WarehouseSettings(
                    host=self.emulator.url,
                    warehouse_id=self.config.emulator.warehouse_id,
                    token=SecretStr(self.config.emulator.token),
                )
            cache, admin = aws.result()
        settings = Settings(warehouse=warehouse, cache=cache, admin=admin)
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

    def _aws_settings(self) -> tuple[CacheSettings | None, AdminSettings | None]:
        if self.config.cache == "moto":
            self.moto = MotoServer(self.config.host).start()
            with ThreadPoolExecutor(max_workers=1) as pool:
                admin = pool.submit(self._admin_settings)
                cache = self._cache_settings()
                return cache, admin.result()
        return self._cache_settings(), self._admin_settings()

    def _cache_settings(self) -> CacheSettings | None:
        if self.config.cache == "off":
            return None
        use_local_credentials()
        endpoint = self.config.cache
        if endpoint == "moto":
            assert self.moto is not None, "started by _aws_settings"
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

    def _admin_settings(self) -> AdminSettings | None:
        if not self.config.admin or self.moto is None:
            return None
        token = self.config.admin_token or os.environ.get("LAKEGATE_ADMIN_TOKEN")
        if not token:
            token = secrets.token_urlsafe(32)
            self.admin_token_generated = True
        self._admin_token = token
        self.admin = create_admin_resources(self.moto.url, token)
        return AdminSettings(
            token_secret_arn=self.admin.secret_arn,
            token_cache_seconds=self.config.admin_token_cache_seconds,
            distribution_id_parameter=self.admin.distribution_id_parameter,
            invalidations_per_minute=self.config.invalidations_per_minute,
            endpoint_url=self.moto.url,
            region=REGION,
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
