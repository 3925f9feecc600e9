"""The arithmetic of a run: samples (and Locust's own totals) in, `summary.json`/`summary.md` out.

Percentiles are nearest-rank over the exact latencies (Locust's own tables round to
two significant digits), so the overall, per-route and per-outcome figures agree with
each other. Every request lands in exactly one outcome: the outcome counts add up to
the request count, and the test suite holds the summary to that.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadtests.outcomes import OUTCOMES, Outcome
from loadtests.samples import Sample

PERCENTILES = (50, 95, 99)
DATA_ROUTE_PREFIX = "/v1/"  # requests an uncached API would answer with one statement each
STALE_OUTCOMES: tuple[Outcome, ...] = ("edge-stale", "stale")
REQUIRED_FIELDS = (
    "scenario",
    "target",
    "edge",
    "local",
    "started_at",
    "duration_s",
    "users",
    "requests",
    "failures",
    "error_rate",
    "requests_per_s",
    "latency_ms",
    "by_route",
    "by_outcome",
    "status_counts",
    "not_modified",
    "phases",
    "warehouse",
    "errors",
    "operator",
    "locust",
    "machine",
    "notes",
)


@dataclass(frozen=True)
class RunFacts:
    """What the samples cannot tell: the setup, the clock and the warehouse's count."""

    scenario: str
    target: str
    edge: bool
    local: bool
    started_at: str
    duration_s: float
    users: int
    phases: Sequence[tuple[str, float, float]] = ()  # name, start second, end second
    statements: int | None = None  # warehouse statements during the run (local only)
    locust_requests: int | None = None
    locust_failures: int | None = None
    operator: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    notes: Sequence[str] = ()


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100] of already sorted values; 0.0 for none."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


def latency(ms: Iterable[float]) -> dict[str, float | None]:
    """p50/p95/p99/max/mean in milliseconds (None for no requests), to 0.1 ms."""
    values = sorted(ms)
    keys = [f"p{p}" for p in PERCENTILES] + ["max", "mean"]
    if not values:
        return dict.fromkeys(keys)
    result: dict[str, float | None] = {
        f"p{p}": round(percentile(values, p), 1) for p in PERCENTILES
    }
    result["max"] = round(values[-1], 1)
    result["mean"] = round(statistics.fmean(values), 1)
    return result


def summarise(samples: Sequence[Sample], facts: RunFacts) -> dict[str, Any]:
    requests = len(samples)
    failures = sum(1 for s in samples if s.outcome == "error")
    duration = max(facts.duration_s, 1e-9)
    statuses = Counter(str(s.status) for s in samples)
    return {
        "scenario": facts.scenario,
        "target": facts.target,
        "edge": facts.edge,
        "local": facts.local,
        "started_at": facts.started_at,
        "duration_s": round(facts.duration_s, 2),
        "users": facts.users,
        "requests": requests,
        "failures": failures,
        "error_rate": _ratio(failures, requests),
        "requests_per_s": round(requests / duration, 2),
        "latency_ms": latency(s.ms for s in samples),
        "by_route": by_route(samples, duration),
        "by_outcome": by_outcome(samples),
        "status_counts": dict(sorted(statuses.items())),
        "not_modified": statuses.get("304", 0),
        "phases": by_phase(samples, facts.phases),
        "warehouse": warehouse(samples, facts.statements),
        "errors": errors(samples),
        "operator": facts.operator,
        "locust": {
            "requests": facts.locust_requests,
            "failures": facts.locust_failures,
            "agrees": facts.locust_requests in (None, requests)
            and facts.locust_failures in (None, failures),
        },
        "machine": facts.machine,
        "notes": list(facts.notes),
    }


def by_route(samples: Sequence[Sample], duration_s: float) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.route].append(s)
    return {
        route: {
            "requests": len(group),
            "failures": sum(1 for s in group if s.outcome == "error"),
            "requests_per_s": round(len(group) / duration_s, 2),
            "latency_ms": latency(s.ms for s in group),
        }
        for route, group in sorted(groups.items())
    }


def by_outcome(samples: Sequence[Sample]) -> dict[str, dict[str, Any]]:
    """Every outcome, in tier order, with its count, share and latency (zeros included)."""
    groups: dict[str, list[float]] = {o: [] for o in OUTCOMES}
    for s in samples:
        groups[s.outcome].append(s.ms)
    return {
        outcome: {
            "requests": len(ms),
            "share": _ratio(len(ms), len(samples)),
            "latency_ms": latency(ms),
        }
        for outcome, ms in groups.items()
    }


def by_phase(
    samples: Sequence[Sample], phases: Sequence[tuple[str, float, float]]
) -> list[dict[str, Any]]:
    """Requests by the phase in which they finished; the last phase keeps the stragglers."""
    result = []
    for index, (name, start, end) in enumerate(phases):
        last = index == len(phases) - 1
        group = [s for s in samples if start <= s.t and (s.t < end or last)]
        outcomes = Counter(s.outcome for s in group)
        failures = outcomes.get("error", 0)
        result.append(
            {
                "phase": name,
                "start_s": round(start, 2),
                "end_s": round(end, 2),
                "requests": len(group),
                "requests_per_s": round(len(group) / max(end - start, 1e-9), 2),
                "failures": failures,
                "error_rate": _ratio(failures, len(group)),
                "stale_share": _ratio(sum(outcomes[o] for o in STALE_OUTCOMES), len(group)),
                "latency_ms": latency(s.ms for s in group),
                "outcomes": {o: outcomes[o] for o in OUTCOMES if outcomes[o]},
            }
        )
    return result


def warehouse(samples: Sequence[Sample], statements: int | None) -> dict[str, Any] | None:
    """Statements per 1000 requests, and how many an uncached API would have run on top."""
    if statements is None:
        return None
    requests = len(samples)
    data_requests = sum(1 for s in samples if s.route.startswith(DATA_ROUTE_PREFIX))
    per_1000 = 1000 * statements / requests if requests else 0.0
    saved = 1000 * (data_requests - statements) / requests if requests else 0.0
    return {
        "statements": statements,
        "data_requests": data_requests,
        "per_1000_requests": round(per_1000, 2),
        "saved_per_1000_requests": round(saved, 2),
    }


def errors(samples: Sequence[Sample]) -> dict[str, Any]:
    """Failed requests, split by whether their URL had been answered successfully before.

    Under a brownout the caches can only hide failures for what they hold: an error on a
    URL never served before is the warehouse's, an error on a served one is a cache's.
    """
    served: set[str] = set()
    never, before = 0, 0
    by_status: Counter[str] = Counter()
    for s in sorted(samples, key=lambda s: s.t):
        if s.outcome != "error":
            served.add(s.url)
            continue
        by_status[str(s.status)] += 1
        if s.url in served:
            before += 1
        else:
            never += 1
    return {
        "total": never + before,
        "on_urls_never_served": never,
        "on_urls_served_before": before,
        "by_status": dict(sorted(by_status.items())),
    }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def render_markdown(summary: dict[str, Any]) -> str:
    """summary.md: the setup, the headline numbers, then by outcome, by route and by phase."""
    s = summary
    tiers = "nginx edge → " if s["edge"] else ""
    setup = (
        f"{tiers}Function URL server → result cache (moto) → warehouse emulator"
        if s["local"]
        else f"{s['target']}"
    )
    operator = s["operator"] or {}
    lines = [
        f"# {s['scenario']}{' with the edge' if s['edge'] else ''} — {s['started_at']}",
        "",
        f"- Target: {setup}",
        f"- Load: {s['users']} dashboard users, {s['duration_s']:.0f} s"
        + (f"; operators: {operator.get('status')}" if operator else ""),
        f"- Machine: {_machine(s['machine'])}",
        "",
        "| requests | req/s | errors | p50 | p95 | p99 | max |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['requests']:,} | {s['requests_per_s']:.1f} | {s['failures']:,} "
        f"({100 * s['error_rate']:.2f}%) | {_ms_cells(s['latency_ms'])} |",
        "",
    ]
    wh = s["warehouse"]
    if wh is not None:
        lines += [
            f"Warehouse: {wh['statements']:,} statements for {s['requests']:,} requests = "
            f"**{wh['per_1000_requests']:.1f} per 1000 requests**; an uncached API would have "
            f"run one per data request, so **{wh['saved_per_1000_requests']:.1f} per 1000 "
            "were saved**.",
            "",
        ]
    lines += [
        "## By cache outcome",
        "",
        "| outcome | requests | share | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for outcome, row in s["by_outcome"].items():
        if row["requests"]:
            lines.append(
                f"| {outcome} | {row['requests']:,} | {100 * row['share']:.1f}% "
                f"| {_ms_cells(row['latency_ms'])} |"
            )
    total = sum(row["requests"] for row in s["by_outcome"].values())
    lines += [
        f"| **total** | {total:,} | 100% | | | | |",
        "",
        f"304 Not Modified: {s['not_modified']:,}; statuses: "
        + ", ".join(f"{k}: {v:,}" for k, v in s["status_counts"].items()),
        "",
        "## By route",
        "",
        "| route | requests | req/s | errors | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for route, row in s["by_route"].items():
        lines.append(
            f"| `{route}` | {row['requests']:,} | {row['requests_per_s']:.1f} "
            f"| {row['failures']:,} | {_ms_cells(row['latency_ms'])} |"
        )
    lines += [
        "",
        "## By phase",
        "",
        "| phase | seconds | requests | req/s | errors | served stale | p50 | p99 | outcomes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in s["phases"]:
        mix = ", ".join(f"{o} {n:,}" for o, n in p["outcomes"].items())
        lines.append(
            f"| {p['phase']} | {p['start_s']:.0f}-{p['end_s']:.0f} | {p['requests']:,} "
            f"| {p['requests_per_s']:.1f} | {p['failures']:,} | {100 * p['stale_share']:.1f}% "
            f"| {_ms(p['latency_ms']['p50'])} | {_ms(p['latency_ms']['p99'])} | {mix} |"
        )
    err = s["errors"]
    lines += [
        "",
        f"Errors: {err['total']:,} ({err['on_urls_never_served']:,} on URLs never served "
        f"before, {err['on_urls_served_before']:,} on URLs served before)"
        + (f"; by status {err['by_status']}" if err["by_status"] else "")
        + ".",
    ]
    if s["notes"]:
        lines += ["", "## Notes", "", *(f"- {note}" for note in s["notes"])]
    return "\n".join(lines) + "\n"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms"


def _ms_cells(row: dict[str, float | None]) -> str:
    return " | ".join(_ms(row[k]) for k in ("p50", "p95", "p99", "max"))


def _machine(machine: dict[str, Any]) -> str:
    if not machine:
        return "not recorded"
    return ", ".join(f"{k} {v}" for k, v in machine.items())
