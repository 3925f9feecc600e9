"""Names of the cache's metrics, and the small interface the cache records them through.

The handler plugs in its CloudWatch EMF writer (handler.observability); unit tests plug
in a counter.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

HIT = "CacheHit"
MISS = "CacheMiss"
COLLAPSED = "CacheCollapsed"
STALE = "CacheStaleServed"
REFRESH = "CacheRefresh"
BYPASS = "CacheBypass"
WRITE_FAILED = "CacheWriteFailed"
LEASE_WAIT = "LeaseWait"
GAVE_UP = "LeaseWaitGaveUp"  # waited out the budget, or failed fast on a failing key
REFUSED = "StatementRefused"  # a statement budget was spent (cache/budget.py)
STATEMENTS = "WarehouseStatements"  # every statement started: answers and roll-ups
ROLLUP_DERIVED = "RollupDerived"  # answers made from a cached roll-up, no statement of their own
ROLLUP_FETCHED = "RollupFetched"  # roll-up statements (one per roll-up per freshness window)
ROLLUP_LOADED = "RollupLoaded"  # roll-ups read from their stored object into a container
WAREHOUSE_MS = "WarehouseLatency"


class Recorder(Protocol):
    def count(self, name: str, value: int = 1) -> None: ...

    def milliseconds(self, name: str, value: float) -> None: ...

    def flush(self) -> None:
        """Publish what this invocation recorded (called once per invocation)."""


class CountingRecorder:
    """Keeps counts in memory (tests, benchmarks)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.timings: dict[str, list[float]] = {}

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value

    def milliseconds(self, name: str, value: float) -> None:
        self.timings.setdefault(name, []).append(value)

    def flush(self) -> None:
        """Counts stay in memory for the test or benchmark to read."""
