from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from handler.settings import WarehouseSettings
from handler.warehouse import Deadline, WarehouseClient
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


class FakeTime:
    """A monotonic clock that only the client's sleeps move: budgets, backoff and the
    container's throttle are asserted in fake seconds, and nothing waits for them."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    def deadline(self, seconds: float) -> Deadline:
        return Deadline(self.now + seconds, clock=self.monotonic)

    def client(self, emulator: Emulator, **overrides: object) -> WarehouseClient:
        settings = settings_for(emulator, **overrides)
        tokens = StaticToken(emulator.config.token)
        return WarehouseClient(
            settings, tokens, requests.Session(), sleep=self.sleep, clock=self.monotonic
        )


def stats(emulator: Emulator) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(f"{emulator.url}/__emulator/stats", timeout=5).json()
    return body


def faults(emulator: Emulator, **values: object) -> None:
    requests.post(f"{emulator.url}/__emulator/faults", json=values, timeout=5).raise_for_status()
