"""Statement budgets: how many warehouse statements a minute may start, shared fairly.

Every distinct URL could cost a statement, so before the cache starts one (a miss it
leads, or a stale refresh, that no roll-up answers) it asks `admit`. Derived answers,
hits, 304s and collapsed waiters never ask, so a hit stays one round trip.

Fair share, per dataset and minute, with B statements (`statements_per_minute`):

- R of them (`rollup_reserve`) are kept for roll-up statements, which serve everyone:
  no consumer can spend them. What is left, B - R, is divided into S equal shares
  (`fair_shares`), share = (B - R) // S.
- A consumer may start at most one share on a dataset in a minute; past it, 429 for
  that consumer only. A consumer is an API key's consumer; all keyless traffic together
  is one consumer: counting per client address would let a flood from many addresses
  take many shares, and behind NATs and proxies one address is many users anyway.
- The consumers together may start B - R. Each holds at most one share, so a consumer
  within its share meets a spent dataset (503) only if S other consumers each spent
  their whole share in the same minute: set S to at least the number of consumers
  (keys, plus one for keyless traffic) and that never happens.
- A keyed consumer also has its tier's misses per minute across datasets
  (`misses_per_minute`, unchanged): 429 past it.

The counters are items of the cache table (`b#<scope>#…#<minute>`, expired by TTL),
moved together by one DynamoDB TransactWriteItems, each on the condition that it stays
within its limit: all are counted, or none. If the table cannot count, the handler
falls back to the same rules in its container's memory (`FallbackBudget`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from cache.errors import (
    CacheUnavailable,
    OverConsumerBudget,
    OverShare,
    OverStatementBudget,
    Refused,
)
from cache.served import wall_clock_ms

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_MINUTE_MS = 60_000
_TTL_MARGIN_SECONDS = 120
KEYLESS = "~keyless"  # never a consumer name (those start with a letter or digit)


class StatementBudget(Protocol):
    def admit(self, dataset: str, consumer: str | None, tier: str | None) -> None:
        """Count one statement a consumer's request starts (None: keyless), or raise `Refused`."""

    def admit_rollup(self, dataset: str) -> None:
        """Count one roll-up statement against the dataset's reserve, or raise `Refused`."""


@dataclass(frozen=True, slots=True)
class Budgets:
    """The limits, per minute (the module docstring says how they combine)."""

    statements_per_minute: int  # B, per dataset: everything
    misses_per_minute: Mapping[str, int] = field(
        default_factory=dict
    )  # per keyed consumer, by tier
    default_tier: str = "standard"
    fair_shares: int = 4  # S: how many equal shares the consumers' part is divided into
    rollup_reserve: int = 4  # R, per dataset: for roll-up statements only

    @property
    def reserve(self) -> int:
        """The roll-ups' part: R, leaving the consumers at least one statement."""
        return max(0, min(self.rollup_reserve, self.statements_per_minute - 1))

    @property
    def consumers(self) -> int:
        """The consumers' part of a dataset's minute: B - R."""
        return self.statements_per_minute - self.reserve

    @property
    def share(self) -> int:
        """One consumer's share of a dataset's minute."""
        return max(1, self.consumers // max(1, self.fair_shares))

    def consumer_limit(self, tier: str | None) -> int | None:
        """A tier's limit; an unknown tier gets the default tier's; None: no limit."""
        return self.misses_per_minute.get(tier or self.default_tier) or self.misses_per_minute.get(
            self.default_tier
        )

    def scaled(self, containers: int) -> Budgets:
        """Each limit divided among `containers` (rounded up): one container's part."""

        def part(limit: int) -> int:
            return max(1, math.ceil(limit / max(1, containers)))

        return Budgets(
            statements_per_minute=part(self.statements_per_minute),
            misses_per_minute={tier: part(n) for tier, n in self.misses_per_minute.items()},
            default_tier=self.default_tier,
            fair_shares=self.fair_shares,
            rollup_reserve=part(self.rollup_reserve) if self.rollup_reserve else 0,
        )


@dataclass(frozen=True, slots=True)
class _Counter:
    key: str
    limit: int
    refusal: Callable[[int], Refused]  # given Retry-After seconds


def dataset_counters(dataset: str, minute: int) -> tuple[str, str]:
    """The keys of the two counters that together count every statement of a dataset in one
    epoch minute: the consumers' and the roll-ups' (a report sums them)."""
    return f"b#s#{dataset}#{minute}", f"b#r#{dataset}#{minute}"


def _counters(
    budgets: Budgets, dataset: str, consumer: str | None, tier: str | None, minute: int
) -> list[_Counter]:
    """What one consumer's statement counts against, most particular first (the first
    spent one names the refusal)."""
    who = consumer or KEYLESS
    counters = [
        _Counter(f"b#f#{dataset}#{who}#{minute}", budgets.share, _over_share),
        _Counter(dataset_counters(dataset, minute)[0], budgets.consumers, _over_dataset),
    ]
    limit = budgets.consumer_limit(tier) if consumer is not None else None
    if consumer is not None and limit is not None:
        counters.insert(1, _Counter(f"b#c#{consumer}#{minute}", limit, _over_tier))
    return counters


def _rollup_counters(budgets: Budgets, dataset: str, minute: int) -> list[_Counter]:
    return [_Counter(dataset_counters(dataset, minute)[1], budgets.reserve, _over_dataset)]


def _over_share(retry_after: int) -> Refused:
    return OverShare(
        "the consumer's share of the dataset's statements is spent", retry_after=retry_after
    )


def _over_tier(retry_after: int) -> Refused:
    return OverConsumerBudget("the consumer's miss budget is spent", retry_after=retry_after)


def _over_dataset(retry_after: int) -> Refused:
    return OverStatementBudget("the dataset's statement budget is spent", retry_after=retry_after)


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
        now_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._budgets = budgets
        self._now_ms = now_ms

    def admit(self, dataset: str, consumer: str | None, tier: str | None) -> None:
        now = self._now_ms()
        self._count(_counters(self._budgets, dataset, consumer, tier, now // _MINUTE_MS), now)

    def admit_rollup(self, dataset: str) -> None:
        now = self._now_ms()
        self._count(_rollup_counters(self._budgets, dataset, now // _MINUTE_MS), now)

    def _count(self, counters: list[_Counter], now: int) -> None:
        if any(c.limit <= 0 for c in counters):
            raise next(c for c in counters if c.limit <= 0).refusal(_retry_after(now))
        ttl = str((now // _MINUTE_MS + 1) * 60 + _TTL_MARGIN_SECONDS)
        try:
            self._db.transact_write_items(
                TransactItems=[{"Update": self._increment(c, ttl)} for c in counters]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise CacheUnavailable.of("budget count", exc) from exc
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            for counter, reason in zip(counters, reasons, strict=False):
                if reason == "ConditionalCheckFailed":
                    raise counter.refusal(_retry_after(now)) from None
            raise CacheUnavailable("budget count cancelled", error_code="Cancelled") from exc
        except BotoCoreError as exc:
            raise CacheUnavailable.of("budget count", exc) from exc

    def _increment(self, counter: _Counter, ttl: str) -> Any:
        return {
            "TableName": self._table,
            "Key": {"pk": {"S": counter.key}},
            "UpdateExpression": "ADD n :one SET expires_at = :ttl",
            "ConditionExpression": "attribute_not_exists(n) OR n < :limit",
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":limit": {"N": str(counter.limit)},
                ":ttl": {"N": ttl},
            },
        }


class MemoryBudget:
    """The same counters in memory: unit tests, and a container's own while the table is down."""

    def __init__(self, budgets: Budgets, *, now_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._budgets = budgets
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def admit(self, dataset: str, consumer: str | None, tier: str | None) -> None:
        now = self._now_ms()
        self._count(_counters(self._budgets, dataset, consumer, tier, now // _MINUTE_MS), now)

    def admit_rollup(self, dataset: str) -> None:
        now = self._now_ms()
        self._count(_rollup_counters(self._budgets, dataset, now // _MINUTE_MS), now)

    def _count(self, counters: list[_Counter], now: int) -> None:
        minute = str(now // _MINUTE_MS)
        with self._lock:
            # Past minutes' counters go: a container's memory must not grow with time.
            for key in [k for k in self.counts if not k.endswith(minute)]:
                del self.counts[key]
            for counter in counters:
                if self.counts.get(counter.key, 0) >= counter.limit:
                    raise counter.refusal(_retry_after(now))
            for counter in counters:
                self.counts[counter.key] = self.counts.get(counter.key, 0) + 1


class FallbackBudget:
    """The table's counters while they answer; while they do not, this container's own.

    A container's own budget is its part of the shared one (`Budgets.scaled` by the
    function's concurrency limit), so that N containers counting alone start at most
    about what the table would have let them: N x ceil(limit / concurrency)."""

    def __init__(self, shared: StatementBudget, own: StatementBudget) -> None:
        self._shared = shared
        self._own = own

    def admit(self, dataset: str, consumer: str | None, tier: str | None) -> None:
        try:
            self._shared.admit(dataset, consumer, tier)
        except CacheUnavailable:
            self._own.admit(dataset, consumer, tier)

    def admit_rollup(self, dataset: str) -> None:
        try:
            self._shared.admit_rollup(dataset)
        except CacheUnavailable:
            self._own.admit_rollup(dataset)
