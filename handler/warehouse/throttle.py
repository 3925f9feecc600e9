"""The container's memory of the warehouse saying "too many requests".

A 429 is about the workspace, not about one key: when it comes, every other key this
container serves would send its own execute and earn its own 429. So the client keeps
one "throttled until" per WarehouseClient (one per container, like its HTTP session):
until the warehouse's capped Retry-After has passed, new statements fail fast with a
503 that carries lakegate's own Retry-After. The request that met the 429 keeps its
own retries; only new executes are held back.

This is deliberate per-container state, shared by the threads of one container and
guarded by a lock; the clock is injectable so tests move time instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from handler.errors import WarehouseUnavailable
from handler.warehouse.deadline import client_retry_after

# Without a usable Retry-After, a 429 still holds new executes back this long.
DEFAULT_HOLD_SECONDS = 1.0


class Throttle:
    """When the warehouse last throttled this container, and until when to hold back."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._until = 0.0

    def record(self, retry_after: float | None) -> None:
        """A 429 arrived; `retry_after` is the warehouse's value, already parsed and capped."""
        hold = DEFAULT_HOLD_SECONDS if retry_after is None else retry_after
        with self._lock:
            self._until = max(self._until, self._clock() + hold)

    def check(self) -> None:
        """Raise WarehouseUnavailable while the hold lasts; return at once otherwise."""
        with self._lock:
            left = self._until - self._clock()
        if left > 0:
            raise WarehouseUnavailable(
                "warehouse throttled this container recently; execute not sent",
                error_code="TOO_MANY_REQUESTS",
                retry_after=client_retry_after(left),
            )
