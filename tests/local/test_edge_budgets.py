"""The whole gateway through the local edge: keys at the edge, budgets at the origin behind it.

nginx runs the edge function in front of the embedded stack, whose origin counts
statements in moto's DynamoDB: a consumer over its miss budget is refused its misses
(429) while its cached answers keep flowing, from the edge and from the origin's cache;
a flood from one consumer takes its own share of the dataset's statements and leaves
every other consumer's new queries answered; dashboards answered from a roll-up spend
nothing. Statements here are crashes exports past the roll-up's bound (400,000 rows),
which only the warehouse answers. Budgets count per wall-clock minute, so a count does
not start in a minute's last seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from edge.keys import FileKeyStore, create
from local.edge import Edge
from local.emulator import EmulatorConfig
from local.nginx_config import EdgeConfig
from local.stack import EmbeddedStack, StackConfig

# Three shares of 5 (17 - 2 kept for roll-ups): one for each consumer the tests start
# statements as in a minute, so none within its share ever meets a spent dataset.
STATEMENT_BUDGET = 17
SHARE = 5
MISS_BUDGET = 2
STATES = ("Ohio", "Texas", "Utah", "Iowa", "Maine", "Idaho", "Kansas", "Nevada", "Oregon")


def export(state: str, limit: int = 400_001) -> str:
    """A crashes export no roll-up answers (past its bound): one statement."""
    return f"/v1/crashes?state={state}&limit={limit}&format=csv"


@dataclass
class Gateway:
    stack: EmbeddedStack
    edge: Edge
    keys: FileKeyStore

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(f"{self.edge.url}{path}", headers=headers, timeout=30)

    def statements(self) -> int:
        assert self.stack.emulator is not None
        stats = requests.get(f"{self.stack.emulator.url}/__emulator/stats", timeout=5).json()
        return int(stats["statements_executed"])


@pytest.fixture(scope="module")
def gateway(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    keys = FileKeyStore(Path(tmp_path_factory.mktemp("keys")) / "keys.json")
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=5),
        max_containers=8,
        environment={
            "LAKEGATE_KEYS_FILE": str(keys.path),
            "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": str(STATEMENT_BUDGET),
            "LAKEGATE_FAIR_SHARES": "3",
            "LAKEGATE_ROLLUP_RESERVE_PER_MINUTE": "2",
            "LAKEGATE_MISS_BUDGETS": f"standard={MISS_BUDGET},bulk=100",
        },
    )
    with EmbeddedStack(config) as stack:
        edge_config = EdgeConfig(origin_url=stack.url, keys_file=keys.path)
        with Edge(edge_config) as edge:
            yield Gateway(stack, edge, keys)


def a_whole_minute_ahead() -> None:
    left = 60 - time.time() % 60
    if left < 8:
        time.sleep(left + 0.1)


def test_over_its_miss_budget_a_consumer_gets_429_on_misses_and_200_on_hits(
    gateway: Gateway,
) -> None:
    key, _ = create(gateway.keys, "thrifty", ("*",), "standard")
    auth = {"x-api-key": key}
    a_whole_minute_ahead()
    seen = ("Utah", "Ohio")
    for state in seen:
        assert gateway.get(export(state, 400_002), **auth).status_code == 200
    before = gateway.statements()
    refused = gateway.get(export("Iowa", 400_002), **auth)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "miss_budget_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    assert gateway.statements() == before
    for state in seen:  # cached answers keep flowing: the edge's, in every spelling
        again = gateway.get(export(state.upper(), 400_002), **auth)
        assert again.status_code == 200
        assert again.headers["Cache-Status"].rsplit(",", 1)[-1].strip() == "edge; hit"


def flood(gateway: Gateway, urls: list[str], **headers: str) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(lambda url: gateway.get(url, **headers), urls))


def test_a_flood_from_one_consumer_leaves_another_consumers_new_queries_answered(
    gateway: Gateway,
) -> None:
    key, _ = create(gateway.keys, "dashboard", ("*",), "bulk")
    a_whole_minute_ahead()
    before = gateway.statements()
    flooding = flood(gateway, [export(state) for state in STATES])
    assert sum(a.status_code == 200 for a in flooding) == SHARE, "keyless traffic: one share"
    refused = [a for a in flooding if a.status_code != 200]
    assert refused and {a.status_code for a in refused} == {429}, "never a 503 for others"
    assert all(a.json()["error"]["code"] == "share_exceeded" for a in refused)
    assert all("Retry-After" in a.headers for a in refused)
    mine = flood(
        gateway, [export(state, 400_003) for state in STATES[:SHARE]], **{"x-api-key": key}
    )
    assert [a.status_code for a in mine] == [200] * SHARE, "the dashboard's share was its own"
    assert gateway.statements() - before == 2 * SHARE


def test_dashboards_answered_from_a_rollup_spend_no_budget_through_the_edge(
    gateway: Gateway,
) -> None:
    a_whole_minute_ahead()
    before = gateway.statements()
    urls = [
        f"/v1/drivers?year={y}&group_by=state&measures=total_drivers" for y in range(1994, 2019)
    ]
    answers = flood(gateway, urls)
    assert [a.status_code for a in answers] == [200] * len(urls)
    assert gateway.statements() - before <= 1, "one statement: the roll-up's, if not held yet"
