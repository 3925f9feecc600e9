"""The embedded stack: warehouse emulator + Function URL server, started and stopped together.

Used by `lakegate serve`, the end-to-end tests and the load tests, so all three run
exactly the same wiring.
"""

from __future__ import annotations

import errno
import os
import secrets
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Self

from cache import CountingRecorder
from handler.catalogue import Catalogue
from handler.settings import PoolSettings, Settings, load_settings
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
from local.running import Running


@dataclass(frozen=True)
class StackConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    emulator: EmulatorConfig = field(default_factory=EmulatorConfig)
    max_containers: int = 16
    lambda_timeout_seconds: float = 30.0
    # "moto": start a local DynamoDB/S3; "off": no cache; any URL: use that endpoint.
    cache: str = "moto"
    catalogue_path: Path | None = None  # None: the packaged catalogue
    # The /admin routes, on the moto cache only: a token secret, a CloudFront distribution
    # and its id in SSM, all in moto. Token: this, else LAKEGATE_ADMIN_TOKEN, else generated.
    admin: bool = True
    admin_token: str | None = None
    # More of the function's environment (handler.settings names every variable), e.g.
    # {"LAKEGATE_LEASE_SECONDS": "1"}: the stack's settings go through load_settings too.
    # With DATABRICKS_HOST (and its credentials) here, a real warehouse replaces the emulator.
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class PortInUse(Exception):
    """The API's port is taken by another process."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} on {host} is in use; choose another with --port")
        self.port = port


class EmbeddedStack(Running):
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.emulator: Emulator | None = None
        self.moto: MotoServer | None = None
        self.server: FunctionUrlServer | None = None
        self.recorder = CountingRecorder()
        self.catalogue: Catalogue | None = None  # loaded by start()
        self.settings: Settings | None = None  # what its containers run with, from start()
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

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> Self:
        """Start everything; PortInUse when the API's port is taken (before anything else
        starts), CatalogueError or ConfigurationError naming what is wrong."""
        from handler.catalogue import load_catalogue  # the packaged catalogue loads here, once
        from handler.container import new_container, wire

        # The function first: it is also how the handler invokes itself asynchronously
        # (stale refreshes), as in Lambda; and its port is the one a person chose, so a
        # taken one is said before the emulator and moto spend seconds starting.
        try:
            self.server = FunctionUrlServer(
                (self.config.host, self.config.port),
                max_containers=self.config.max_containers,
                timeout_seconds=self.config.lambda_timeout_seconds,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(self.config.host, self.config.port) from None
            raise
        catalogue = self.catalogue = load_catalogue(self.config.catalogue_path)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # moto and its resources (mostly moto importing its services) start while the
            # emulator loads its data: the two take about as long.
            aws = pool.submit(self._aws_environment)
            environment = self._warehouse_environment()
            environment.update(aws.result())
        environment.update(self._pool_environment())
        environment.update(self.config.environment)
        settings = self.settings = load_settings(environment)
        # Its containers, made on first use, each have their own handler and share one set
        # of collaborators (boto3 clients and the HTTP session are thread-safe; the pools
        # are sized for them all).
        wiring = wire(settings, self.recorder, invoker=self.server)
        self.server.deploy(lambda: new_container(catalogue, wiring, self.recorder))
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def _pool_environment(self) -> dict[str, str]:
        """Connection pools for every container at once: one Lambda container's, times them."""
        one = PoolSettings()
        containers = self.config.max_containers
        return {
            "LAKEGATE_WAREHOUSE_CONNECTIONS": str(one.warehouse_connections * containers),
            "LAKEGATE_AWS_CONNECTIONS": str(one.aws_connections * containers),
        }

    def _warehouse_environment(self) -> dict[str, str]:
        if "DATABRICKS_HOST" in self.config.environment:
            return {}
        self.emulator = Emulator(self.config.emulator).start()
        return {
            "DATABRICKS_HOST": self.emulator.url,
            "DATABRICKS_WAREHOUSE_ID": self.config.emulator.warehouse_id,
            "DATABRICKS_TOKEN": self.config.emulator.token,
        }

    def _aws_environment(self) -> dict[str, str]:
        if self.config.cache == "off":
            return {}
        use_local_credentials()
        environment = {"AWS_REGION": REGION}
        endpoint = self.config.cache
        if endpoint == "moto":
            self.moto = MotoServer(self.config.host).start()
            endpoint = self.moto.url
            with ThreadPoolExecutor(max_workers=1) as pool:
                admin = pool.submit(self._admin_environment, endpoint)
                create_cache_resources(endpoint)
                environment.update(admin.result())
        environment.update(
            LAKEGATE_CACHE_TABLE=CACHE_TABLE,
            LAKEGATE_CACHE_BUCKET=CACHE_BUCKET,
            LAKEGATE_AWS_ENDPOINT_URL=endpoint,
        )
        return environment

    def _admin_environment(self, endpoint: str) -> dict[str, str]:
        if not self.config.admin:
            return {}
        token = self.config.admin_token or os.environ.get("LAKEGATE_ADMIN_TOKEN")
        if not token:
            token = secrets.token_urlsafe(32)
            self.admin_token_generated = True
        self._admin_token = token
        self.admin = create_admin_resources(endpoint, token)
        return {
            "LAKEGATE_ADMIN_TOKEN_SECRET_ARN": self.admin.secret_arn,
            "LAKEGATE_DISTRIBUTION_ID_PARAMETER": self.admin.distribution_id_parameter,
        }

    def stop(self) -> None:
        serving, self._thread = self._thread, None
        if self.server is not None:
            if serving is not None:
                # Only a serving loop can be shut down: shutdown() waits for it to end.
                self.server.shutdown()
            self.server.server_close()
        if self.emulator is not None:
            self.emulator.stop()
        if self.moto is not None:
            self.moto.stop()
