"""Statement budgets: per dataset for everyone, per keyed consumer by tier, per minute.

The DynamoDB counters run against moto's server: one transaction per statement, both
counters or neither, and a refusal that says which budget and when the next minute
starts. The in-memory twin (used by the ResultCache tests) keeps the same rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from cache import Budgets, DynamoBudget, MemoryBudget, OverConsumerBudget, OverStatementBudget
from local.aws import REGION, MotoServer, create_cache_resources, use_local_credentials

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MINUTE_START_MS = 1_800_000_000_000 - 1_800_000_000_000 % 60_000
TABLE = f"budget-test-{uuid.uuid4().hex[:8]}"
BUDGETS = Budgets(statements_per_minute=5, misses_per_minute={"standard": 2, "bulk": 4})

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


def test_a_consumer_gets_its_tiers_misses_then_a_refusal_until_the_next_minute(
    budget_at: Factory,
) -> None:
    dataset, consumer = fresh_names()
    now = [MINUTE_START_MS + 15_000]
    budget = budget_at(lambda: now[0])
    budget.admit(dataset, consumer, "standard")
    budget.admit(dataset, consumer, "standard")
    with pytest.raises(OverConsumerBudget) as refused:
        budget.admit(dataset, consumer, "standard")
    assert refused.value.retry_after == 45
    now[0] += 45_000
    budget.admit(dataset, consumer, "standard")


def test_tiers_have_their_own_limits_and_an_unknown_tier_gets_the_default(
    budget_at: Factory,
) -> None:
    dataset, consumer = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS)
    for _ in range(4):
        budget.admit(dataset, consumer + "-bulk", "bulk")
    with pytest.raises(OverConsumerBudget):
        budget.admit(dataset, consumer + "-bulk", "bulk")
    budget.admit(dataset, consumer, "platinum")
    with pytest.raises(OverStatementBudget):  # 5 statements for the dataset are spent
        budget.admit(dataset, consumer, "platinum")


def test_the_dataset_budget_binds_everyone_and_anonymous_requests_count_only_there(
    budget_at: Factory,
) -> None:
    dataset, consumer = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS)
    for _ in range(5):
        budget.admit(dataset, None, None)
    with pytest.raises(OverStatementBudget) as refused:
        budget.admit(dataset, consumer, "standard")
    assert refused.value.retry_after == 60
    other, _ = fresh_names()
    budget.admit(other, consumer, "standard")  # another dataset's budget is its own


def test_a_refused_consumer_does_not_spend_the_datasets_budget(budget_at: Factory) -> None:
    dataset, consumer = fresh_names()
    budget = budget_at(lambda: MINUTE_START_MS)
    budget.admit(dataset, consumer, "standard")
    budget.admit(dataset, consumer, "standard")
    for _ in range(10):
        with pytest.raises(OverConsumerBudget):
            budget.admit(dataset, consumer, "standard")
    for _ in range(3):  # 5 - 2: the refusals counted nothing
        budget.admit(dataset, None, None)
    with pytest.raises(OverStatementBudget):
        budget.admit(dataset, None, None)
