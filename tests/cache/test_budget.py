"""Statement budgets, shared fairly: per dataset and minute, a reserve for roll-ups and equal
shares for consumers (keyless traffic is one), and per keyed consumer its tier's misses.

The DynamoDB counters run against moto's server: one transaction per statement, every
counter or none, and a refusal that says which budget and when the next minute starts.
The in-memory twin (a container's own budget while the table is down) keeps the same rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from cache import (
    Budgets,
    CacheUnavailable,
    DynamoBudget,
    FallbackBudget,
    MemoryBudget,
    OverConsumerBudget,
    OverShare,
    OverStatementBudget,
)
from local.aws import REGION, MotoServer, create_cache_resources, use_local_credentials

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MINUTE_START_MS = 1_800_000_000_000 - 1_800_000_000_000 % 60_000
TABLE = f"budget-test-{uuid.uuid4().hex[:8]}"
# 12 a minute per dataset: 2 for roll-ups, 10 for consumers in 2 shares of 5.
BUDGETS = Budgets(
    statements_per_minute=12,
    misses_per_minute={"standard": 3, "bulk": 8},
    fair_shares=2,
    rollup_reserve=2,
)

Factory = Callable[[Callable[[], int]], DynamoBudget | MemoryBudget]


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[DynamoDBClient]:
    use_local_credentials()
    server = MotoServer().start()
    try:
        create_cache_resources(server.url, TABLE, f"{TABLE}-bucket")
        yield boto3.client("dynamodb", endpoint_url=server.url, region_name=REGION)
    finally:
        server.stop()


@pytest.fixture(params=["dynamodb", "memory"])
def budget_at(request: pytest.FixtureRequest) -> Factory:
    if request.param == "memory":
        return lambda clock: MemoryBudget(BUDGETS, now_ms=clock)
    client: DynamoDBClient = request.getfixturevalue("dynamodb")
    table = TABLE
    return lambda clock: DynamoBudget(client, table, BUDGETS, now_ms=clock)


def fresh_names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"dataset-{suffix}", f"consumer-{suffix}"


def test_the_shares_are_what_is_left_after_the_reserve_divided_equally() -> None:
    assert (BUDGETS.reserve, BUDGETS.consumers, BUDGETS.share) == (2, 10, 5)
    assert Budgets(120).share == 29, "defaults: 4 kept for roll-ups, 4 shares of 29"
    assert Budgets(3, rollup_reserve=10).reserve == 2, "the consumers always keep one"


def test_a_keyless_flood_takes_one_share_and_a_keyed_consumer_still_gets_its_own(
    budget_at: Factory,
) -> None:
    dataset, consumer = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS + 15_000)
    for _ in range(5):
        budget.admit(dataset, None, None)
    for _ in range(20):  # every keyless request is the same consumer, whatever its address
        with pytest.raises(OverShare) as refused:
            budget.admit(dataset, None, None)
    assert refused.value.retry_after == 45
    for _ in range(3):
        budget.admit(dataset, consumer, "bulk")  # within its share: never a 503


def test_a_consumer_within_its_share_is_refused_only_once_every_share_is_spent(
    budget_at: Factory,
) -> None:
    dataset, first = fresh_names()
    _, second = fresh_names()
    _, third = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS)
    for who in (first, second):
        for _ in range(5):
            budget.admit(dataset, who, "bulk")
    with pytest.raises(OverStatementBudget) as refused:  # S = 2 consumers spent all 10
        budget.admit(dataset, third, "bulk")
    assert refused.value.retry_after == 60


def test_roll_ups_have_their_reserve_whatever_the_consumers_spent(budget_at: Factory) -> None:
    dataset, first = fresh_names()
    _, second = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS)
    for who in (first, second):
        for _ in range(5):
            budget.admit(dataset, who, "bulk")
    budget.admit_rollup(dataset)
    budget.admit_rollup(dataset)
    with pytest.raises(OverStatementBudget):
        budget.admit_rollup(dataset)


def test_a_keyed_consumer_gets_its_tiers_misses_across_datasets_then_a_refusal(
    budget_at: Factory,
) -> None:
    dataset, consumer = fresh_names()
    other, _ = fresh_names()
    now = [MINUTE_START_MS + 15_000]
    budget = budget_at(lambda: now[0])
    budget.admit(dataset, consumer, "standard")
    budget.admit(dataset, consumer, "standard")
    budget.admit(other, consumer, "standard")
    with pytest.raises(OverConsumerBudget) as refused:
        budget.admit(other, consumer, "standard")
    assert refused.value.retry_after == 45
    now[0] += 45_000
    budget.admit(dataset, consumer, "standard")


def test_an_unknown_tier_gets_the_default_tiers_misses(budget_at: Factory) -> None:
    dataset, consumer = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS)
    for _ in range(3):
        budget.admit(dataset, consumer, "platinum")
    with pytest.raises(OverConsumerBudget):
        budget.admit(dataset, consumer, "platinum")


def test_a_refusal_counts_nothing(budget_at: Factory) -> None:
    dataset, consumer = fresh_names()
    _, other = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS)
    for _ in range(3):
        budget.admit(dataset, consumer, "standard")
    for _ in range(10):
        with pytest.raises(OverConsumerBudget):
            budget.admit(dataset, consumer, "standard")
    for _ in range(5):  # the dataset counted 3 of its 10, not 13
        budget.admit(dataset, other, "bulk")
    for _ in range(2):
        budget.admit(dataset, None, None)


def test_each_dataset_has_its_own_minute(budget_at: Factory) -> None:
    dataset, _ = fresh_names()
    other, _ = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS)
    for _ in range(5):
        budget.admit(dataset, None, None)
    budget.admit(other, None, None)


class Unavailable:
    def admit(self, dataset: str, consumer: str | None, tier: str | None) -> None:
        raise CacheUnavailable("down")

    def admit_rollup(self, dataset: str) -> None:
        raise CacheUnavailable("down")


def test_while_the_table_is_down_a_container_holds_to_its_part_of_the_budget() -> None:
    own = MemoryBudget(BUDGETS.scaled(containers=4), now_ms=lambda: MINUTE_START_MS)
    budget = FallbackBudget(Unavailable(), own)
    assert BUDGETS.scaled(containers=4).share == 1
    dataset, consumer = fresh_names()
    budget.admit(dataset, None, None)
    with pytest.raises(OverShare):
        budget.admit(dataset, None, None)
    budget.admit(dataset, consumer, "standard")
    budget.admit_rollup(dataset)
    with pytest.raises(OverStatementBudget):
        budget.admit_rollup(dataset)


def test_the_table_counts_while_it_answers(dynamodb: DynamoDBClient) -> None:
    shared = DynamoBudget(dynamodb, TABLE, BUDGETS, now_ms=lambda: MINUTE_START_MS)
    own = MemoryBudget(BUDGETS, now_ms=lambda: MINUTE_START_MS)
    dataset, _ = fresh_names()
    FallbackBudget(shared, own).admit(dataset, None, None)
    assert own.counts == {}, "nothing counted in memory while the table counts"


def test_a_container_forgets_past_minutes() -> None:
    now = [MINUTE_START_MS]
    own = MemoryBudget(BUDGETS, now_ms=lambda: now[0])
    dataset, _ = fresh_names()
    own.admit(dataset, None, None)
    now[0] += 60_000
    own.admit(dataset, None, None)
    assert all(key.endswith(str(now[0] // 60_000)) for key in own.counts)
