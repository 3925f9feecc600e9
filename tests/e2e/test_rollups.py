"""Roll-ups end to end, over HTTP: moto's DynamoDB and S3, the emulator's statement count.

A dataset's queries are answered from its roll-up: one statement per roll-up per
freshness window, however many distinct queries, fetched once under a stampede, retired
by an invalidation with every answer derived from it, held in a bounded memory, served
stale while one refresh runs, and never used when its fetch fails or is partial.
(tests/handler/test_derivation.py proves that the answers are the warehouse's.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from cache import metrics
from handler.catalogue import DEFAULT_CATALOGUE
from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tests.e2e.conftest import set_faults, statements

ADMIN = "x-lakegate-admin-token"
TOKEN = "rollup-test-admin-token"


def start(catalogue: Path | None = None, latency_ms: int = 10, **environment: str) -> EmbeddedStack:
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=latency_ms),
        max_containers=64,
        catalogue_path=catalogue,
        admin_token=TOKEN,
        environment=environment,
    )
    return EmbeddedStack(config).start()


@pytest.fixture
def stack() -> Iterator[EmbeddedStack]:
    running = start()
    try:
        yield running
    finally:
        running.stop()


def get(stack: EmbeddedStack, path: str) -> requests.Response:
    return requests.get(f"{stack.url}{path}", timeout=60)


def until(check: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


DASHBOARD = [
    *(f"/v1/drivers?year={y}&group_by=state&measures=total_drivers" for y in (2010, 2016)),
    "/v1/drivers?state=California&year=2016",
    "/v1/drivers?state[in]=ohio,texas&group_by=year,state&measures=total_drivers&sort=-year",
    "/v1/drivers?group_by=cohort&measures=total_drivers&year[gte]=2010&year[lte]=2015",
    "/v1/drivers?fields=state,drivers&sort=-drivers&limit=10&offset=20",
    "/v1/drivers?measures=total_drivers",
    "/v1/drivers?year=2016&format=csv",
]


def test_a_dashboards_distinct_queries_cost_one_statement(stack: EmbeddedStack) -> None:
    answers = [get(stack, path) for path in DASHBOARD]
    assert [a.status_code for a in answers] == [200] * len(DASHBOARD)
    assert statements(stack) == 1, "the roll-up's statement, and nothing else"
    for answer in answers:
        assert answer.headers["Cache-Status"] == "lakegate; fwd=miss; stored; detail=rollup"
        timing = answer.headers["Server-Timing"]
        assert "rollup;dur=" in timing and "derive;dur=" in timing
    assert stack.recorder.counts[metrics.ROLLUP_DERIVED] == len(DASHBOARD)
    repeat = get(stack, DASHBOARD[0])
    assert repeat.headers["Cache-Status"].startswith("lakegate; hit"), "stored as any answer"
    assert repeat.content == answers[0].content


def test_a_stampede_of_64_different_queries_runs_one_statement() -> None:
    running = start(latency_ms=300)
    try:
        paths = [f"/v1/drivers?year={1994 + n % 25}&limit={1 + n}" for n in range(64)]
        with ThreadPoolExecutor(max_workers=64) as pool:
            answers = list(pool.map(lambda path: get(running, path), paths))
        assert [a.status_code for a in answers] == [200] * 64
        assert statements(running) == 1
        assert all("detail=rollup" in a.headers["Cache-Status"] for a in answers)
    finally:
        running.stop()


def test_an_invalidation_retires_the_rollup_and_every_answer_derived_from_it(
    stack: EmbeddedStack,
) -> None:
    first, second = DASHBOARD[0], DASHBOARD[1]
    for path in (first, second):
        get(stack, path)
    assert get(stack, first).headers["Cache-Status"].startswith("lakegate; hit")
    answer = requests.post(
        f"{stack.url}/admin/invalidate?dataset=drivers", headers={ADMIN: TOKEN}, timeout=30
    )
    assert answer.status_code == 202
    again = get(stack, first)
    assert again.headers["Cache-Status"] == "lakegate; fwd=miss; stored; detail=rollup"
    assert statements(stack) == 2, "the roll-up is fetched anew, not read from memory"
    assert get(stack, second).headers["Cache-Status"].startswith("lakegate; fwd=miss")
    assert statements(stack) == 2


def test_memory_holds_rollups_within_its_bound() -> None:
    """With room for nothing, every derived answer reads the roll-up's object from S3."""
    running = start(LAKEGATE_ROLLUP_MEMORY_BYTES="0")
    try:
        for path in DASHBOARD[:4]:
            assert get(running, path).status_code == 200
        assert statements(running) == 1
        assert running.recorder.counts[metrics.ROLLUP_LOADED] == 3, "read back for each"
    finally:
        running.stop()


def test_with_room_a_container_reads_the_rollup_at_most_once(stack: EmbeddedStack) -> None:
    for path in DASHBOARD[:4]:
        assert get(stack, path).status_code == 200
    assert stack.recorder.counts[metrics.ROLLUP_LOADED] == 0, "held since it was fetched"


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[EmbeddedStack]:
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    for dataset in document["datasets"]:
        dataset["freshness"] = {"ttl_seconds": 3, "stale_seconds": 300}
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(document))
    running = start(path)
    try:
        yield running
    finally:
        running.stop()


def test_a_stale_rollup_answers_at_once_while_one_refresh_runs(
    short_lived: EmbeddedStack,
) -> None:
    assert get(short_lived, DASHBOARD[0]).status_code == 200
    time.sleep(3.2)
    with ThreadPoolExecutor(max_workers=5) as pool:
        stale = list(pool.map(lambda path: get(short_lived, path), DASHBOARD[1:6]))
    for answer in stale:
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"].startswith("public, max-age=0"), "as stale"
        assert int(answer.headers["Age"]) >= 1
    asked = iter(range(1, 1000))

    def fresh_again() -> bool:  # each time a query not asked before
        answer = get(short_lived, f"/v1/drivers?year=2001&limit={next(asked)}")
        return answer.headers["Cache-Control"].startswith("public, max-age=3")

    until(fresh_again, "answers derived from the refreshed roll-up")
    assert statements(short_lived) == 2, "one refresh for all of them"


def test_a_partial_rollup_is_never_used_nor_stored(stack: EmbeddedStack) -> None:
    set_faults(stack, wrong_counts="rows")
    failed = get(stack, DASHBOARD[0])
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "warehouse_error"
    assert "Cache-Status" not in failed.headers
    set_faults(stack, wrong_counts=None)
    time.sleep(2.1)  # the failure holds the keys failing for a moment (error hold)
    answer = get(stack, DASHBOARD[0])
    assert answer.status_code == 200
    assert answer.headers["Cache-Status"] == "lakegate; fwd=miss; stored; detail=rollup"
    assert statements(stack) == 2


def test_a_large_derived_export_is_a_303_to_the_whole_body(stack: EmbeddedStack) -> None:
    answer = requests.get(
        f"{stack.url}/v1/crashes?limit=300000&format=csv", allow_redirects=False, timeout=120
    )
    assert answer.status_code == 303, answer.text[:200]
    assert answer.headers["Cache-Status"] == "lakegate; fwd=miss; stored; detail=rollup"
    assert answer.headers["X-Row-Count"] == "298044"
    body = requests.get(answer.headers["Location"], timeout=60)
    assert body.status_code == 200
    assert body.text.count("\n") == 298_044 + 1, "a header, then every row"
    assert statements(stack) == 1
