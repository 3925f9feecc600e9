"""One load test from start to report: `run("steady")` → reports/steady-20261125-101500/.

Without a host it starts the embedded stack (and the nginx edge when asked and
installed: loadtests/embedded.py), samples the warehouse's statement count every
second (loadtests/warehouse.py), runs Locust headless in a child process
(loadtests/locust_process.py), then writes the report (loadtests/report.py):
Locust's CSV and HTML, samples.csv, summary.json, summary.md and latency.png. Every
run is bounded: the shape stops at its duration and the child is terminated, then
killed, if it outlives that by GRACE_S.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from loadtests.errors import LoadTestError, UsageError
from loadtests.locust_process import GRACE_S, run_locust
from loadtests.report import headline, write_report
from loadtests.scenarios import HEALTHY, SCENARIOS, Scenario, check_bounds
from loadtests.target import Target, check_host
from loadtests.warehouse import StatementSampler, per_minute, set_faults, statements

__all__ = ["GRACE_S", "LoadTestError", "UsageError", "run"]

REQUIRE_KEYS_VARIABLE = "LAKEGATE_REQUIRE_KEYS"

Print = Callable[[str], None]


def run(
    scenario: str,
    host: str | None = None,
    users: int | None = None,
    duration: float | None = None,
    output: Path = Path("reports"),
    *,
    edge: bool = False,
    explicit_host: bool = True,
    progress_s: float = 5.0,
    say: Print = print,
) -> Path:
    """Run one scenario and return the directory holding its report."""
    spec, users, duration_s = _checked(scenario, users, duration)
    require_keys = spec.require_keys or os.environ.get(REQUIRE_KEYS_VARIABLE) == "1"
    if host is not None:
        _check_remote(spec, host, explicit_host, edge=edge, require_keys=require_keys)
    run_dir = _new_run_dir(output, scenario)
    with contextlib.ExitStack() as cleanup:
        if host is not None:
            target = Target(host, local=False)
        else:
            from loadtests.embedded import local_target

            target = cleanup.enter_context(
                local_target(spec, edge, run_dir, say, users=users, require_keys=require_keys)
            )
        if spec.fresh_cache and not target.local:
            target.notes.append("the remote cache was not emptied before this cold-start run")
        say(
            f"lakegate loadtest: {scenario}, {users} users, {duration_s:.0f} s, against "
            f"{target.url}{' (nginx edge)' if target.edge else ''}; report in {run_dir}"
        )
        warehouse = target.warehouse_url
        before = statements(warehouse) if warehouse else None
        sampler = None
        if warehouse is not None:
            sampler = StatementSampler(
                lambda: statements(warehouse), max_s=duration_s + GRACE_S + 30
            ).start()
        try:
            run_locust(spec, target, users, duration_s, run_dir, progress_s)
        finally:
            readings = sampler.stop() if sampler is not None else []
            if warehouse is not None:
                set_faults(warehouse, dict(HEALTHY))
        after = statements(warehouse) if warehouse else None
        counted = None if before is None else (after or 0) - before
        admitted = (
            {m.minute: target.admitted(m.minute) for m in per_minute(readings)}
            if target.admitted is not None
            else None
        )
        summary = write_report(
            spec, target, users, duration_s, run_dir, counted, readings, admitted
        )
    say(headline(summary, run_dir))
    return run_dir


def _checked(
    scenario: str, users: int | None, duration: float | None
) -> tuple[Scenario, int, float]:
    spec = SCENARIOS.get(scenario)
    if spec is None:
        raise UsageError(f"unknown scenario {scenario!r}; one of: {', '.join(SCENARIOS)}")
    users = spec.users if users is None else users
    duration_s = float(spec.duration_s if duration is None else duration)
    try:
        check_bounds(users, duration_s)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return spec, users, duration_s


def _check_remote(
    spec: Scenario, host: str, explicit: bool, *, edge: bool, require_keys: bool
) -> None:
    check_host(host, explicit)
    if spec.needs_emulator:
        raise UsageError(
            f"{spec.name} switches faults on the local warehouse emulator: run it without --host"
        )
    if edge:
        raise UsageError("--edge puts nginx in front of the embedded stack: drop --host")
    if require_keys:
        raise UsageError(
            "required API keys are created in the embedded stack's key store: run without "
            f"--host, or unset {REQUIRE_KEYS_VARIABLE}"
        )


def _new_run_dir(output: Path, scenario: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        path = output / f"{scenario}-{stamp}{f'-{attempt}' if attempt else ''}"
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise LoadTestError(f"cannot create a report directory under {output}")
