"""The fault matrix: every warehouse fault against every cache state, and what must happen.

One declaration (FAULTS by STATES) is run by `python -m tools.faults` (a markdown table,
non-zero exit on any miss) and by tests/tools/test_faults.py (one test per cell).
The requirement ("Under faults"): never a 500, and never a wrong or partial 200; clean
502/503/504, with Retry-After on 503/504, within the Lambda's time; a fresh entry never
touches the warehouse; a stale entry is answered at once while one background refresh
(an asynchronous self-invocation) meets the fault; no statement runs twice; every
give-up that knows a statement id cancels it; no log line holds the warehouse token.

Each cell asks its own query: a failure holds its key failing for a while
(LAKEGATE_ERROR_HOLD_SECONDS), and the cells must not see each other's entries.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import requests
import yaml

from cache.metrics import REFUSED, STATEMENTS
from handler.catalogue import DEFAULT_CATALOGUE
from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tools.fault_cases import (
    FAULTS,
    LAMBDA_TIMEOUT_SECONDS,
    STATES,
    TTL_SECONDS,
    Expected,
    Fault,
    State,
    cell_path,
)

__all__ = [
    "FAULTS",
    "STATES",
    "Fault",
    "Observed",
    "State",
    "run_matrix",
    "stack_config",
    "write_short_catalogue",
]


@dataclass(frozen=True)
class Observed:
    fault: str
    state: State
    status: int
    cache_status: str | None
    retry_after: str | None
    executes: int
    statements: int
    cancels: int
    seconds: float = 0.0
    leaked: bool = False  # the warehouse token in a log line of this cell
    # A stale entry's background refresh that did not end in its time: what the stack did
    # meanwhile. None: it ended, or there was none to wait for.
    unrefreshed: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


_PROBE = "/v1/drivers?state=Oregon&year=1999"  # settle()'s queries, one limit each


def write_short_catalogue(directory: Path) -> Path:
    """The packaged catalogue with a 1 s freshness window and a long grace period, and no
    roll-ups: each fault meets the query's own statement."""
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    for dataset in document["datasets"]:
        dataset["freshness"] = {"ttl_seconds": TTL_SECONDS, "stale_seconds": 300}
        dataset.pop("rollups", None)
    path = directory / "catalogue.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def stack_config(catalogue_path: Path) -> StackConfig:
    """Small chunks (so chunk links are followed) and a 6 s Lambda: a ~4 s warehouse budget."""
    return StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=50, chunk_rows=10),
        max_containers=8,
        catalogue_path=catalogue_path,
        admin=False,
        # One share, and a budget the matrix cannot spend: it is one keyless consumer
        # running about two statements a cell, ~100 in a minute when the machine is quick,
        # and a refused background refresh would pass for a fault's doing. Budgets have
        # tests of their own (tests/cache/test_budget.py, tests/e2e/test_gateway.py).
        environment=MappingProxyType(
            {
                "LAKEGATE_ERROR_HOLD_SECONDS": "0.5",
                "LAKEGATE_FAIR_SHARES": "1",
                "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": "100000",
            }
        ),
        lambda_timeout_seconds=LAMBDA_TIMEOUT_SECONDS,
    )


# --- running it -------------------------------------------------------------------


@dataclass
class _Run:
    stack: EmbeddedStack
    log: io.StringIO = field(default_factory=io.StringIO)  # this cell's lakegate log lines
    session: requests.Session = field(default_factory=requests.Session)
    # Never asked twice: a probe asked again once stale would refresh in the background,
    # into the next cell's faults.
    probes: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def warehouse(self) -> str:
        assert self.stack.emulator is not None, "the matrix needs the emulator"
        return self.stack.emulator.url

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.stack.url}{path}", timeout=30)

    def leaked(self) -> bool:
        """Whether a log line since the last look holds the warehouse's token."""
        assert self.stack.emulator is not None
        lines, token = self.log.getvalue(), self.stack.emulator.config.token
        self.log.seek(0)
        self.log.truncate()
        return token in lines or "Bearer" in lines

    def reset(self) -> None:
        self.session.post(f"{self.warehouse}/__emulator/reset", timeout=5).raise_for_status()

    def set_faults(self, switches: Mapping[str, Any]) -> None:
        url = f"{self.warehouse}/__emulator/faults"
        self.session.post(url, json=dict(switches), timeout=5).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return dict(self.session.get(f"{self.warehouse}/__emulator/stats", timeout=5).json())

    def activity(self) -> tuple[int, int]:
        """Asynchronous invocations started and statements refused, so far."""
        server = self.stack.server
        return (server.async_started if server else 0), self.stack.recorder.counts[REFUSED]

    def activity_since(self, before: tuple[int, int]) -> str:
        started, refused = (now - then for now, then in zip(self.activity(), before, strict=True))
        return f"{started} asynchronous invocations started, {refused} statements refused"

    def computes(self) -> int:
        """Warehouse runs finished (in line or in the background), failed or not."""
        return self.stack.recorder.counts[STATEMENTS]


def until(check: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    """Poll `check` every 0.1 s until it holds; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.1)


def run_cell(run: _Run, index: int, fault: Fault, state: State) -> Observed:
    """Prepare the state with a healthy warehouse, switch the fault on, ask once, observe."""
    path = cell_path(index, state)
    for _attempt in range(3):
        run.reset()
        if state != "no entry":
            # Retried: a container may still hold back after an earlier 429.
            until(lambda: run.get(path).status_code == 200, f"{path} stored an entry")
        stored = time.monotonic()
        if state == "stale entry":
            time.sleep(TTL_SECONDS + 0.1)  # the freshness window passes; nothing to poll for
        run.reset()  # zero the counters the preparation ran up
        before = run.computes()
        run.set_faults(fault.switches)
        # A fresh entry must still be fresh when asked: on a stalled machine, set it up again
        # (the fault has not been met yet, so nothing is hidden).
        if state != "fresh entry" or time.monotonic() - stored < TTL_SECONDS / 2:
            break
        run.reset()
    run.leaked()  # the preparation's lines are not the cell's
    activity = run.activity()
    started = time.monotonic()
    try:
        response: requests.Response | None = run.get(path)
    except requests.RequestException:  # no answer at all: the cell says so
        response = None
    seconds = time.monotonic() - started
    unrefreshed = None
    if state == "stale entry" and response is not None and response.status_code == 200:
        try:
            until(lambda: run.computes() > before, "the background refresh finished")
        except AssertionError:
            unrefreshed = run.activity_since(activity)
    stats = run.stats()
    headers = response.headers if response is not None else {}
    observed = Observed(
        fault=fault.name,
        state=state,
        status=response.status_code if response is not None else 0,
        cache_status=headers.get("Cache-Status"),
        retry_after=headers.get("Retry-After"),
        executes=int(stats["executes_received"]),
        statements=int(stats["statements_run"]),
        cancels=int(stats["cancels_received"]),
        seconds=seconds,
        leaked=run.leaked(),
        unrefreshed=unrefreshed,
    )
    return _judged(observed, fault.expected(state))


def _judged(seen: Observed, want: Expected) -> Observed:
    problems = []
    if seen.status != want.status:
        problems.append(f"status {seen.status or 'none'}, wanted {want.status}")
    if seen.seconds > LAMBDA_TIMEOUT_SECONDS:
        problems.append(f"answered after {seen.seconds:.1f} s, beyond the Lambda's time")
    if seen.leaked:
        problems.append("the warehouse token in a log line")
    if seen.unrefreshed is not None:
        problems.append(f"the background refresh never ended ({seen.unrefreshed})")
    if want.cache_status is None and seen.cache_status is not None:
        problems.append(f"Cache-Status {seen.cache_status!r} on an error")
    if want.cache_status is not None and not re.fullmatch(
        want.cache_status, seen.cache_status or ""
    ):
        problems.append(f"Cache-Status {seen.cache_status!r}, wanted /{want.cache_status}/")
    if want.status >= 500:
        has = seen.retry_after is not None and seen.retry_after.isdigit()
        if want.retry_after and not (has and 1 <= int(seen.retry_after or 0) <= 30):
            problems.append(f"Retry-After {seen.retry_after!r}, wanted 1..30")
        if not want.retry_after and seen.retry_after is not None:
            problems.append(f"Retry-After {seen.retry_after!r} on a {want.status}")
    if seen.statements != want.statements:
        problems.append(f"{seen.statements} statements run, wanted {want.statements}")
    if want.executes is not None and seen.executes != want.executes:
        problems.append(f"{seen.executes} executes received, wanted {want.executes}")
    if seen.cancels != want.cancels:
        problems.append(f"{seen.cancels} cancels, wanted {want.cancels}")
    return Observed(**{**seen.__dict__, "problems": tuple(problems)})


def settle(run: _Run) -> None:
    """Faults off, and wait until a new query is answered again (a 429's hold has passed)."""
    run.reset()
    until(lambda: run.get(f"{_PROBE}&limit={next(run.probes)}").ok, "answered again")


def run_matrix(stack: EmbeddedStack) -> list[Observed]:
    """Every cell, in declaration order, against a started stack (its emulator reset after)."""
    run = _Run(stack)
    # Every line the stack's lakegate logger writes, as Lambda would send it to CloudWatch.
    lakegate = logging.getLogger("lakegate")
    lines = logging.StreamHandler(run.log)
    lines.setFormatter(lakegate.handlers[0].formatter)
    lakegate.addHandler(lines)
    rows = []
    try:
        for index, fault in enumerate(FAULTS):
            for state in STATES:
                rows.append(run_cell(run, index, fault, state))
                settle(run)
    finally:
        lakegate.removeHandler(lines)
        run.session.close()
    return rows


def markdown(rows: list[Observed]) -> str:
    lines = [
        "| fault | cache state | status | Cache-Status | Retry-After "
        "| executes / statements | cancels | seconds | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        mark = "✓" if row.ok else "✗ " + "; ".join(row.problems)
        lines.append(
            f"| {row.fault} | {row.state} | {row.status or '—'} | {row.cache_status or '—'} "
            f"| {row.retry_after or '—'} | {row.executes} / {row.statements} "
            f"| {row.cancels} | {row.seconds:.1f} | {mark} |"
        )
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        config = stack_config(write_short_catalogue(Path(directory)))
        with EmbeddedStack(config) as stack:
            rows = run_matrix(stack)
    print(markdown(rows))
    failed = sum(not row.ok for row in rows)
    print(f"\n{len(rows) - failed}/{len(rows)} cells as required")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
