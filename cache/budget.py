"""Statement budgets: how many warehouse statements a minute may start, per dataset and consumer.

Every distinct URL costs a statement, and the valid URL space is practically unbounded:
a few clients walking it would keep the warehouse running and its bill growing. So
before the cache starts a statement (a miss it leads, or a stale refresh) it asks
`admit`: one DynamoDB TransactWriteItems adds one to this minute's counter of the
dataset and, for a consumer with an API key, of the consumer, each on the condition
that it stays within its limit: both are counted, or neither. Hits, 304s and collapsed
waiters never ask, so a hit stays one round trip, and a consumer over its budget keeps
getting cached answers.

Counters are items of the cache table (`b#<scope>#<name>#<minute>`), expired by TTL.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from cache.errors import CacheUnavailable, OverConsumerBudget, OverStatementBudget
from cache.served import wall_clock_ms

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_MINUTE_MS = 60_000
_TTL_MARGIN_SECONDS = 120


class StatementBudget(Protocol):
    def admit(self, dataset: str, consumer: str | None, tier: str | None) -> None:
        """Count one statement for `dataset` (and a keyed `consumer`), or raise `Refused`."""


@dataclass(frozen=True, slots=True)
class Budgets:
    """The limits: statements per minute per dataset, and misses per minute per consumer tier."""

    statements_per_minute: int
    misses_per_minute: Mapping[str, int] = field(default_factory=dict)
    default_tier: str = "standard"

    def consumer_limit(self, tier: str | None) -> int | None:
        """A tier's limit; an unknown tier gets the default tier's; None: no limit."""
        return self.misses_per_minute.get(tier or self.default_tier) or self.misses_per_minute.get(
            self.default_tier
        )


def _retry_after(now_ms: int) -> int:
    """Seconds until the next minute's counters start."""
    return max(1, math.ceil((_MINUTE_MS - now_ms % _MINUTE_MS) / 1000))


class DynamoBudget:
    """Counters in the cache table, one conditional transaction per statement."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        budgets: Budgets,
        *,
        now_ms: Any = wall_clock_ms,
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._budgets = budgets
        self._now_ms = now_ms

    def admit(self, dataset: str, consumer: str | None, tier: str | None) -> None:
        """Count one statement, or raise OverStatementBudget / OverConsumerBudget."""
        now = self._now_ms()
        minute = now // _MINUTE_MS
        ttl = str((minute + 1) * 60 + _TTL_MARGIN_SECONDS)
        counters = [(f"b#s#{dataset}#{minute}", self._budgets.statements_per_minute)]
        limit = self._budgets.consumer_limit(tier) if consumer is not None else None
        if consumer is not None and limit is not None:
            counters.append((f"b#c#{consumer}#{minute}", limit))
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": pk}},
                            "UpdateExpression": "ADD n :one SET expires_at = :ttl",
                            "ConditionExpression": "attribute_not_exists(n) OR n < :limit",
                            "ExpressionAttributeValues": {
                                ":one": {"N": "1"},
                                ":limit": {"N": str(allowed)},
                                ":ttl": {"N": ttl},
                            },
                        }
                    }
                    for pk, allowed in counters
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise CacheUnavailable.of("budget count", exc) from exc
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            self._refuse(reasons, now)
            raise CacheUnavailable("budget count cancelled", error_code="Cancelled") from exc
        except BotoCoreError as exc:
            raise CacheUnavailable.of("budget count", exc) from exc

    def _refuse(self, reasons: list[str | None], now_ms: int) -> None:
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise OverStatementBudget(
                "the dataset's statement budget is spent", retry_after=_retry_after(now_ms)
            )
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise OverConsumerBudget(
                "the consumer's miss budget is spent", retry_after=_retry_after(now_ms)
            )


class MemoryBudget:
    """The same counters in memory, for unit tests."""

    def __init__(self, budgets: Budgets, *, now_ms: Any = wall_clock_ms) -> None:
        self._budgets = budgets
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def admit(self, dataset: str, consumer: str | None, tier: str | None) -> None:
        now = self._now_ms()
        minute = now // _MINUTE_MS
        dataset_key = f"{dataset}#{minute}"
        limit = self._budgets.consumer_limit(tier) if consumer is not None else None
        consumer_key = f"{consumer}#{minute}" if limit is not None else None
        with self._lock:
            if self.counts.get(dataset_key, 0) >= self._budgets.statements_per_minute:
                raise OverStatementBudget("spent", retry_after=_retry_after(now))
            if consumer_key is not None and self.counts.get(consumer_key, 0) >= (limit or 0):
                raise OverConsumerBudget("spent", retry_after=_retry_after(now))
            self.counts[dataset_key] = self.counts.get(dataset_key, 0) + 1
            if consumer_key is not None:
                self.counts[consumer_key] = self.counts.get(consumer_key, 0) + 1
