"""The warehouse during a run: the emulator's statement counter, sampled and binned into minutes.

The origin's statement budget counts statements per dataset per wall-clock minute (a
DynamoDB counter per `epoch_ms // 60000`, cache/budget.py), so that is how the report
counts them: the runner samples the emulator's `statements_executed` (counted when a
statement is submitted) on every whole second, and each sampled difference belongs to
the minute that holds most of its interval. Samples land just after each second,
minute boundaries included, so a minute's figure is what the warehouse ran in it, give
or take the statements of a few milliseconds.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

Reading = tuple[float, int]  # (epoch seconds, statements_executed)


def statements(warehouse_url: str) -> int | None:
    """The emulator's statement count so far; None when it cannot be read."""
    try:
        stats = requests.get(f"{warehouse_url}/__emulator/stats", timeout=5).json()
        return int(stats["statements_executed"])
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def set_faults(warehouse_url: str, faults: dict[str, Any]) -> None:
    with contextlib.suppress(requests.RequestException):
        requests.post(f"{warehouse_url}/__emulator/faults", json=faults, timeout=5)


class StatementSampler:
    """Reads the statement count on every whole second, in a thread, until stopped.

    Bounded twice: `stop()` ends it, and it ends by itself after `max_s` seconds."""

    def __init__(
        self,
        read: Callable[[], int | None],
        *,
        max_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.readings: list[Reading] = []
        self._read = read
        self._clock = clock
        self._max_s = max_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="statement-sampler", daemon=True)

    def start(self) -> StatementSampler:
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> list[Reading]:
        if self._thread.is_alive():
            self._stopped.set()
            self._thread.join(timeout=10)
            self._sample()
        return self.readings

    def _loop(self) -> None:
        deadline = self._clock() + self._max_s
        while self._clock() < deadline:
            now = self._clock()
            if self._stopped.wait(timeout=math.floor(now) + 1 - now):
                return
            self._sample()

    def _sample(self) -> None:
        at = self._clock()
        count = self._read()
        if count is not None:
            self.readings.append((at, count))


def write_readings(path: Path, readings: Sequence[Reading]) -> None:
    """statements.csv: one row per reading, epoch seconds and the count so far."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(("epoch_s", "statements_executed"))
        writer.writerows((f"{t:.3f}", count) for t, count in readings)


@dataclass(frozen=True, slots=True)
class Minute:
    minute: int  # epoch seconds // 60, the budget's own name for the minute
    start: str  # the same minute, UTC, ISO 8601
    seconds: float  # how much of the minute the readings cover
    statements: int


def per_minute(readings: Sequence[Reading]) -> list[Minute]:
    """Statements per wall-clock minute, each difference given to the minute holding its midpoint."""
    counts: dict[int, int] = {}
    covered: dict[int, float] = {}
    ordered = sorted(readings)
    for (t0, c0), (t1, c1) in itertools.pairwise(ordered):
        minute = math.floor((t0 + t1) / 2 / 60)
        counts[minute] = counts.get(minute, 0) + max(0, c1 - c0)
        covered[minute] = covered.get(minute, 0.0) + (t1 - t0)
    return [
        Minute(
            minute=minute,
            start=datetime.fromtimestamp(minute * 60, UTC).isoformat(timespec="minutes"),
            seconds=round(min(60.0, covered[minute]), 1),
            statements=counts[minute],
        )
        for minute in sorted(counts)
    ]


# What the origin's counters admitted for one dataset in one minute: all its statements,
# and how many of them were roll-ups' (cache.dataset_counters).
DatasetAdmitted = Mapping[str, int]  # {"statements": n, "rollups": m}


def budget_report(
    readings: Sequence[Reading],
    budget: int | None,
    admitted: Mapping[int, Mapping[str, DatasetAdmitted] | None] | None = None,
    *,
    datasets: int = 1,
) -> dict[str, Any] | None:
    """Statements per minute against the statement budget (None without readings).

    The budget is per dataset and the emulator counts every dataset's statements, so
    the warehouse's ceiling is the budget times the datasets; each dataset's own share
    is held by the origin's counters, which `admitted` reads per dataset.

    `admitted`, where known, is what the origin's own budget counters say they let
    through in each minute, by dataset: more statements than admissions ran without
    being counted.
    """
    minutes = per_minute(readings)
    if not minutes:
        return None
    ordered = sorted(readings)
    span = ordered[-1][0] - ordered[0][0]
    total = ordered[-1][1] - ordered[0][1]
    peak = max(m.statements for m in minutes)
    rows = []
    for m in minutes:
        by_dataset = (admitted or {}).get(m.minute)
        let_through = (
            None if by_dataset is None else sum(d["statements"] for d in by_dataset.values())
        )
        rows.append({**asdict(m), "admitted": let_through, "by_dataset": by_dataset})
    counted = [row["admitted"] for row in rows]
    return {
        "budget_per_minute": budget,
        "datasets": datasets,
        "ceiling_per_minute": None if budget is None else budget * datasets,
        "statements": total,
        "admitted": None if None in counted or not admitted else sum(counted),
        "average_per_minute": round(60 * total / span, 1) if span > 0 else 0.0,
        "max_per_minute": peak,
        "within_budget": None if budget is None else peak <= budget * datasets,
        "minutes": rows,
    }
