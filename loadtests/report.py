"""Writing a run's report: samples and the Locust process's facts in, summary.json, summary.md
and latency.png out, plus the one-line headline the runner prints.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loadtests.chart import write_chart
from loadtests.markdown import render_markdown
from loadtests.samples import read_samples
from loadtests.scenarios import Scenario
from loadtests.summary import RunFacts, summarise
from loadtests.target import Target
from loadtests.warehouse import Reading, write_readings


def write_report(
    spec: Scenario,
    target: Target,
    users: int,
    duration_s: float,
    run_dir: Path,
    statements: int | None,
    readings: Sequence[Reading] = (),
    admitted: Mapping[int, Mapping[str, Mapping[str, int]] | None] | None = None,
) -> dict[str, Any]:
    samples = read_samples(run_dir / "samples.csv")
    facts_json = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    duration = float(facts_json.get("duration_s") or duration_s)
    phases = [(p.name, start, end) for p, start, end in spec.phase_bounds(duration_s)]
    facts = RunFacts(
        scenario=spec.name,
        target="local" + (" with nginx edge" if target.edge else "")
        if target.local
        else target.url,
        edge=target.edge,
        local=target.local,
        started_at=facts_json.get("started_at", ""),
        duration_s=duration,
        users=users,
        phases=phases,
        statements=statements,
        statement_readings=readings,
        statements_admitted=admitted,
        statement_budget=target.statement_budget,
        budgeted_datasets=target.datasets,
        busters=facts_json.get("busters", 0),
        require_keys=target.require_keys,
        locust_requests=facts_json["locust"]["requests"],
        locust_failures=facts_json["locust"]["failures"],
        operator=_operator(facts_json),
        machine=machine(target.edge),
        notes=[*target.notes, *_fault_notes(facts_json.get("faults", []))],
    )
    summary = summarise(samples, facts)
    if readings:
        write_readings(run_dir / "statements.csv", readings)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (run_dir / "summary.md").write_text(render_markdown(summary), encoding="utf-8")
    title = (
        f"lakegate {spec.name}{' + edge' if target.edge else ''}: {users} users, {duration:.0f} s"
    )
    write_chart(run_dir / "latency.png", samples, duration, title, phases)
    return summary


def _operator(facts_json: dict[str, Any]) -> dict[str, Any]:
    operators = facts_json.get("operators", 0)
    return {
        "count": operators,
        "status": (
            "none in this scenario"
            if not operators
            else f"{operators}, enabled"
            if facts_json.get("operator_enabled")
            else f"{operators}, disabled (no admin token)"
        ),
    }


def machine(edge: bool) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        # At the end of the run: the 1- and 5-minute figures cover it. Other work on the
        # machine shows here, and in every latency.
        "load_average": _load_average(),
    }
    if edge:
        from local.edge import nginx_path

        nginx = nginx_path()
        if nginx:
            version = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
            info["nginx"] = version.stderr.strip().removeprefix("nginx version: ")
    return info


def _load_average() -> str | None:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return None


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def _fault_notes(faults: list[dict[str, Any]]) -> list[str]:
    return [f"at {f['at_s']:.0f} s, phase {f['phase']}: warehouse {f['faults']}" for f in faults]


def headline(summary: dict[str, Any], run_dir: Path) -> str:
    ms = summary["latency_ms"]
    text = (
        f"done: {summary['requests']:,} requests, {summary['requests_per_s']:.1f}/s, "
        f"{summary['failures']:,} errors, p50 {ms['p50']} ms, p99 {ms['p99']} ms"
    )
    if summary["warehouse"] is not None:
        text += f", {summary['warehouse']['per_1000_requests']:.1f} statements per 1000 requests"
    budget = summary["statement_budget"]
    if budget is not None and budget["budget_per_minute"] is not None:
        text += (
            f"; at most {budget['max_per_minute']} statements a minute "
            f"(budget {budget['budget_per_minute']} per dataset, {budget['datasets']} datasets)"
        )
    text += f"; {summary['wrong_answers']['total']} wrong answers"
    return f"{text}\nreport: {run_dir / 'summary.md'}"
