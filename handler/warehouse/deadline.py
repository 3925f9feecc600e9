"""Time budgets and retry pacing for warehouse calls.

Everything the client does for one request (execute, retries, polls, chunks)
happens inside one Deadline derived from the Lambda's remaining time, so a slow
warehouse turns into a clean 504 instead of a Lambda timeout. Retry-After is read
here too: the warehouse's value bounded on the way in, lakegate's own on the way out.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A Retry-After the warehouse sends is believed up to this long; lakegate's own clients
# are told to come back within CLIENT_RETRY_AFTER_RANGE, whatever upstream said.
MAX_RETRY_AFTER_SECONDS = 30.0
CLIENT_RETRY_AFTER_RANGE = (1, 30)
_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


@dataclass
class Deadline:
    """A point on the monotonic clock after which no new warehouse work starts."""

    expires_at: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0


def budget_seconds(remaining_ms: int, reserve_seconds: float, max_budget_seconds: float) -> float:
    """Warehouse budget from the Lambda's remaining time, keeping a reserve to answer."""
    return max(0.0, min(remaining_ms / 1000.0 - reserve_seconds, max_budget_seconds))


def backoff_seconds(
    attempt: int,
    *,
    base: float = 0.2,
    cap: float = 4.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Capped exponential backoff with full jitter; a server's Retry-After wins when larger."""
    uniform = rng.uniform if rng is not None else random.uniform
    jittered = float(uniform(0.0, min(cap, base * (2.0**attempt))))
    return max(jittered, retry_after or 0.0)


def poll_interval_seconds(poll: int, *, first: float = 0.05, cap: float = 1.0) -> float:
    """Polls start fast (most statements finish in well under a second) and slow down."""
    return min(cap, first * (2.0**poll))


def parse_retry_after(value: str | None, *, cap: float = MAX_RETRY_AFTER_SECONDS) -> float | None:
    """Retry-After as finite delay-seconds, capped; anything else is ignored (None).

    Databricks sends whole seconds. An HTTP-date, "inf", "nan", a negative number or
    garbage is not a delay lakegate can honour, and "999999" must not become a sleep
    of days: the cap bounds it.
    """
    if not value or not _DELAY_SECONDS.fullmatch(value.strip()):
        return None
    return min(float(value.strip()), cap)  # only digits: an absurdly long one is inf, then cap


def client_retry_after(seconds: float | None) -> int:
    """The Retry-After lakegate gives its own clients: whole seconds, always in range."""
    low, high = CLIENT_RETRY_AFTER_RANGE
    if seconds is None or not math.isfinite(seconds):
        return low
    return max(low, min(high, math.ceil(seconds)))
