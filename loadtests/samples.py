"""One row per request: when it finished, its route, cache outcome, status, latency and URL,
the error code of a refusal, and why its answer was wrong (loadtests/answers.py), if it was.

The Locust process records every request here (the same `request` events Locust's
own statistics count, so the two always agree) and writes `samples.csv` when it
quits; the runner reads it back to compute the summary and draw the chart. Raw rows
rather than Locust's rounded histograms give exact percentiles per outcome and per
second, at ~60 bytes a request.
"""

from __future__ import annotations

import csv
import time
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from loadtests.outcomes import OUTCOMES, Outcome


@dataclass(frozen=True, slots=True)
class Sample:
    t: float  # seconds from the start of the test to the end of the request
    route: str  # Locust's request name
    outcome: Outcome
    status: int  # 0: no response (connection error, timeout)
    ms: float
    bytes: int
    url: str
    code: str = ""  # an error body's `error.code` (e.g. statement_budget_exceeded)
    wrong: str = ""  # why the answer was wrong (loadtests/answers.py); "" when it was not

    @property
    def answer(self) -> str:
        """`200`, `401 unauthorized`, `0` (no response): the status and its error code."""
        return f"{self.status} {self.code}".strip()


COLUMNS = tuple(f.name for f in fields(Sample))


class SampleLog:
    """Samples of one run, in the order requests finished."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.time() if started is None else started
        self.samples: list[Sample] = []

    def restart(self, started: float | None = None) -> None:
        self.started = time.time() if started is None else started
        self.samples.clear()

    def record(
        self,
        *,
        route: str,
        outcome: Outcome,
        status: int,
        ms: float,
        size: int,
        url: str,
        started: float,
        code: str = "",
        wrong: str = "",
    ) -> None:
        """`started` is the request's start (epoch seconds), as Locust reports it."""
        finished = round(started + ms / 1000 - self.started, 4)
        self.samples.append(Sample(finished, route, outcome, status, ms, size, url, code, wrong))


def write_samples(path: Path, samples: list[Sample]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows(astuple(s) for s in samples)


def read_samples(path: Path) -> list[Sample]:
    with path.open(newline="", encoding="utf-8") as file:
        rows = csv.DictReader(file)
        return [
            Sample(
                t=float(row["t"]),
                route=row["route"],
                outcome=_outcome(row["outcome"]),
                status=int(row["status"]),
                ms=float(row["ms"]),
                bytes=int(row["bytes"]),
                url=row["url"],
                code=row.get("code") or "",
                wrong=row.get("wrong") or "",
            )
            for row in rows
        ]


def _outcome(value: str) -> Outcome:
    for outcome in OUTCOMES:
        if value == outcome:
            return outcome
    raise ValueError(f"unknown outcome {value!r} in samples")
