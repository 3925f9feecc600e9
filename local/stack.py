"""The embedded stack: warehouse emulator + Function URL server, started and stopped together.

Used by `lakegate serve`, the end-to-end tests and the load tests, so all three run
exactly the same wiring.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import TracebackType

from pydantic import SecretStr

from handler.settings import Settings, WarehouseSettings
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


class EmbeddedStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.emulator: Emulator | None = None
        self.server: FunctionUrlServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "stack not started"
        return self.server.url

    def start(self) -> EmbeddedStack:
        from handler.app import new_container  # the catalogue loads here, once

        warehouse = self.config.warehouse
        if warehouse is None:
            self.emulator = Emulator(self.config.emulator).start()
            warehouse = WarehouseSettings(
                host=self.emulator.url,
                warehouse_id=self.config.emulator.warehouse_id,
                token=SecretStr(self.config.emulator.token),
            )
        settings = Settings(warehouse=warehouse)
        self.server = FunctionUrlServer(
            (self.config.host, self.config.port),
            lambda: new_container(settings),
            max_containers=self.config.max_containers,
            timeout_seconds=self.config.lambda_timeout_seconds,
        )
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.emulator is not None:
            self.emulator.stop()

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
