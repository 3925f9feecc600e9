"""The emulator, one per test module, reset before each test, and a session that signs in.

Each module gets its own emulator (20 ms of latency, 100-row chunks), so that one
module's faults and counters never reach another's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from local.emulator import Emulator, EmulatorConfig
from tests.local.emulator.calls import LATENCY_MS


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(latency_ms=LATENCY_MS, chunk_rows=100)) as running:
        yield running


@pytest.fixture(autouse=True)
def clean(emulator: Emulator) -> None:
    emulator.reset()


@pytest.fixture(scope="module")
def http(emulator: Emulator) -> Iterator[requests.Session]:
    with requests.Session() as session:  # one keep-alive session, as lakegate's client uses
        session.headers["Authorization"] = f"Bearer {emulator.config.token}"
        yield session
