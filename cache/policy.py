"""The small types the cache is configured and driven with, owned here so it needs nothing above.

`Freshness` is a dataset's policy (the catalogue declares it); `FlightPolicy` is how
single flight waits (from the settings); `Budget` is how much time a request has left
(the warehouse client's Deadline satisfies it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Freshness:
    """Fresh for `ttl_seconds`, then servable stale for `stale_seconds` more."""

    ttl_seconds: int
    stale_seconds: int = 0


@dataclass(frozen=True, slots=True)
class FlightPolicy:
    lease_ms: int = 8_000  # how long a dead holder blocks others
    error_hold_ms: int = 2_000  # after a failure, others fail fast instead of piling on
    stale_refresh_s: float = 3.0  # with a stale copy to fall back on, try the warehouse briefly
    first_pause_s: float = 0.02
    max_pause_s: float = 0.25


class Budget(Protocol):
    """Time a request may still spend, in seconds."""

    def remaining(self) -> float: ...


@dataclass(frozen=True, slots=True)
class CappedBudget:
    """At most `seconds` from now, and never more than `inner` has left."""

    inner: Budget
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        own = self.seconds - (time.monotonic() - self.started)
        return max(0.0, min(self.inner.remaining(), own))
