from collections.abc import Iterator

import pytest
import requests
from pydantic import SecretStr

from handler.settings import WarehouseSettings
from handler.warehouse import WarehouseClient
from handler.warehouse.auth import StaticToken
from local.emulator import Emulator, EmulatorConfig


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(port=0, latency_ms=20, chunk_rows=100)) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_emulator(emulator: Emulator) -> Iterator[None]:
    requests.post(f"{emulator.url}/__emulator/reset", timeout=5).raise_for_status()
    yield


class Pauses(list[float]):
    """Records the client's sleeps instead of sleeping (backoff is asserted, not waited)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def settings_for(emulator: Emulator, **overrides: object) -> WarehouseSettings:
    values: dict[str, object] = {
        "host": emulator.url,
        "warehouse_id": emulator.config.warehouse_id,
        "token": SecretStr(emulator.config.token),
    }
    values.update(overrides)
    return WarehouseSettings.model_validate(values)


def client_for(
    emulator: Emulator, pauses: Pauses | None = None, token: str | None = None, **overrides: object
) -> WarehouseClient:
    settings = settings_for(emulator, **overrides)
    tokens = StaticToken(token or emulator.config.token)
    if pauses is None:
        return WarehouseClient(settings, tokens, requests.Session())
    return WarehouseClient(settings, tokens, requests.Session(), sleep=pauses)
