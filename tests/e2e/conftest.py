import io
import logging
from collections.abc import Iterator

import pytest
import requests

from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    # Chunks of 5,000 rows: a page of 1,000 is one, the crashes roll-up (298,044 rows,
    # external links) 60; the warehouse client's own tests follow small chunks.
    config = StackConfig(port=0, emulator=EmulatorConfig(port=0, latency_ms=10, chunk_rows=5_000))
    with EmbeddedStack(config) as running:
        yield running


@pytest.fixture
def api(stack: EmbeddedStack) -> Iterator[requests.Session]:
    requests.post(f"{warehouse_url(stack)}/__emulator/reset", timeout=5).raise_for_status()
    with requests.Session() as session:
        yield session
    requests.post(f"{warehouse_url(stack)}/__emulator/reset", timeout=5).raise_for_status()


# The statement path: with roll-ups off every distinct query runs its own statement, which
# is what the tests of single flight, failures and exports watch (tests/e2e/test_rollups.py
# covers the derived path), and one share: the tests are one keyless consumer that may
# start the dataset's whole budget.
STATEMENT_PATH = {"LAKEGATE_ROLLUPS": "0", "LAKEGATE_FAIR_SHARES": "1"}


def statement_path_stack() -> Iterator[EmbeddedStack]:
    """A stack on the statement path, small chunks so that chunk links are followed: for a
    module's own `stack` fixture (`yield from statement_path_stack()`)."""
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=10, chunk_rows=500),
        environment=STATEMENT_PATH,
    )
    with EmbeddedStack(config) as running:
        yield running


def warehouse_url(stack: EmbeddedStack) -> str:
    assert stack.emulator is not None
    return stack.emulator.url


def set_faults(stack: EmbeddedStack, **values: object) -> None:
    requests.post(
        f"{warehouse_url(stack)}/__emulator/faults", json=values, timeout=5
    ).raise_for_status()


def statements(stack: EmbeddedStack) -> int:
    stats = requests.get(f"{warehouse_url(stack)}/__emulator/stats", timeout=5).json()
    return int(stats["statements_executed"])


@pytest.fixture
def lakegate_log() -> Iterator[io.StringIO]:
    """Every line the lakegate logger writes, formatted as in Lambda.

    Its stdout handler was bound to whatever stream pytest had installed when
    handler.app was imported, so capfd alone cannot be relied on to see it.
    """
    lakegate = logging.getLogger("lakegate")
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(lakegate.handlers[0].formatter)
    lakegate.addHandler(handler)
    yield captured
    lakegate.removeHandler(handler)
