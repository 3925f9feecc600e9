"""Emulator settings (fixed at start) and faults (switchable while it runs)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOKEN = "dapi-local-emulator"


@dataclass(frozen=True)
class InitialFaults:
    """Faults switched on from the first request (the CLI flags map onto these)."""

    throttle_next: int = 0
    unavailable_next: int = 0
    fail_next: int = 0
    latency_ms: int | None = None
    hang: bool = False
    error_rate: float = 0.0


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs to know before it starts."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: let the OS pick a free port (tests run in parallel)
    token: str = DEFAULT_TOKEN
    oauth_client_id: str = "lakegate-local"
    oauth_client_secret: str = "lakegate-local-secret"
    latency_ms: int = 300
    chunk_rows: int = 10_000
    warehouse_id: str = "local-warehouse"
    # Databricks keeps a finished result for a while, then reports CLOSED; the emulator
    # does the same so a long load test does not hold every result set in memory.
    result_ttl_s: float = 900.0
    seed: int = 0  # seeds Faults.error_rate so a failing run can be replayed
    faults: InitialFaults = field(default_factory=InitialFaults)


class Faults:
    """Switchable misbehaviour; every read and write holds the lock (HTTP threads race)."""

    FIELDS = ("throttle_next", "unavailable_next", "fail_next", "latency_ms", "hang", "error_rate")

    def __init__(self, initial: InitialFaults | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._initial = initial or InitialFaults()
        self._apply_initial()

    def _apply_initial(self) -> None:
        start = self._initial
        self._throttle_next = start.throttle_next
        self._unavailable_next = start.unavailable_next
        self._fail_next = start.fail_next
        self._latency_ms = start.latency_ms
        self._hang = start.hang
        self._error_rate = start.error_rate
        self._random = random.Random(self._seed)

    def set(self, **changes: Any) -> None:
        """Set any of FIELDS; raises ValueError (nothing changed) on a bad name or value."""
        checked = {name: _check(name, value) for name, value in changes.items()}
        with self._lock:
            for name, value in checked.items():
                setattr(self, f"_{name}", value)

    def clear(self) -> None:
        """Switch every fault off (not back to the start-up faults: reset means healthy)."""
        with self._lock:
            self._initial = InitialFaults()
            self._apply_initial()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {name: getattr(self, f"_{name}") for name in self.FIELDS}

    # Plain attribute style for callers (emu.faults.hang = True); writes validate via set().
    @property
    def throttle_next(self) -> int:
        with self._lock:
            return self._throttle_next

    @throttle_next.setter
    def throttle_next(self, value: int) -> None:
        self.set(throttle_next=value)

    @property
    def unavailable_next(self) -> int:
        with self._lock:
            return self._unavailable_next

    @unavailable_next.setter
    def unavailable_next(self, value: int) -> None:
        self.set(unavailable_next=value)

    @property
    def fail_next(self) -> int:
        with self._lock:
            return self._fail_next

    @fail_next.setter
    def fail_next(self, value: int) -> None:
        self.set(fail_next=value)

    @property
    def latency_ms(self) -> int | None:
        with self._lock:
            return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: int | None) -> None:
        self.set(latency_ms=value)

    @property
    def hang(self) -> bool:
        with self._lock:
            return self._hang

    @hang.setter
    def hang(self, value: bool) -> None:
        self.set(hang=value)

    @property
    def error_rate(self) -> float:
        with self._lock:
            return self._error_rate

    @error_rate.setter
    def error_rate(self, value: float) -> None:
        self.set(error_rate=value)

    def take_request_fault(self) -> int | None:
        """Consume one queued HTTP fault: 429 first, then 503; None when healthy."""
        with self._lock:
            if self._throttle_next > 0:
                self._throttle_next -= 1
                return 429
            if self._unavailable_next > 0:
                self._unavailable_next -= 1
                return 503
            return None

    def take_statement_failure(self) -> bool:
        """Decide, once per accepted statement, whether it is doomed to end FAILED."""
        with self._lock:
            if self._fail_next > 0:
                self._fail_next -= 1
                return True
            # Draw only when a rate is set, so switching it on later replays the same sequence.
            return self._error_rate > 0 and self._random.random() < self._error_rate


def _check(name: str, value: Any) -> Any:
    if name in ("throttle_next", "unavailable_next", "fail_next"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
        return value
    if name == "latency_ms":
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise ValueError("latency_ms must be null or a non-negative integer")
        return value
    if name == "hang":
        if not isinstance(value, bool):
            raise ValueError("hang must be a boolean")
        return value
    if name == "error_rate":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError("error_rate must be a number between 0.0 and 1.0")
        return float(value)
    raise ValueError(f"unknown fault {name!r}; known: {', '.join(Faults.FIELDS)}")
