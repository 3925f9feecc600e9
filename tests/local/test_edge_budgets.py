"""The whole gateway through the local edge: keys at the edge, budgets at the origin behind it.

nginx runs the edge function in front of the embedded stack, whose origin counts
statements in moto's DynamoDB: a consumer over its miss budget is refused its misses
(429) while its cached answers keep flowing, from the edge and from the origin's cache,
and a flood of distinct URLs never runs more statements than the dataset's budget.
Budgets count per wall-clock minute, so a count does not start in a minute's last seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from local.edge import Edge
from local.emulator import EmulatorConfig
from local.keys import FileKeyStore, create
from local.nginx_config import EdgeConfig
from local.stack import EmbeddedStack, StackConfig

STATEMENT_BUDGET = 6
MISS_BUDGET = 2


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
            "LAKEGATE_MISS_BUDGETS": f"standard={MISS_BUDGET}",
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
    seen = [f"/v1/drivers?state=Utah&year={year}" for year in (2003, 2004)]
    for path in seen:
        assert gateway.get(path, **auth).status_code == 200
    before = gateway.statements()
    refused = gateway.get("/v1/drivers?state=Utah&year=2005", **auth)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "miss_budget_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    assert gateway.statements() == before
    for path in seen:  # cached answers keep flowing: the edge's, in every spelling
        again = gateway.get(path.replace("Utah", "UTAH"), **auth)
        assert again.status_code == 200
        assert again.headers["Cache-Status"].rsplit(",", 1)[-1].strip() == "edge; hit"


def test_the_dataset_budget_holds_under_a_flood_through_the_edge(gateway: Gateway) -> None:
    a_whole_minute_ahead()
    before = gateway.statements()
    urls = [f"/v1/drivers?year={year}&limit={n}" for year in range(1994, 2019) for n in (3, 4)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(gateway.get, urls))
    assert gateway.statements() - before <= STATEMENT_BUDGET
    assert {a.status_code for a in answers} <= {200, 429, 503}
    refused = [a for a in answers if a.status_code == 503]
    assert refused, "the flood met the budget"
    assert all(a.json()["error"]["code"] == "statement_budget_exceeded" for a in refused)
    assert all("Retry-After" in a.headers for a in refused)
