"""The arithmetic of a run: samples (and Locust's own totals) in, `summary.json` out.

Percentiles are nearest-rank over the exact latencies (loadtests/percentiles.py), so
the overall, per-route and per-outcome figures agree with each other. Every request
lands in exactly one outcome: the outcome counts add up to the request count, and the
test suite holds the summary to that. Wrong answers (loadtests/answers.py), statements
per budget minute (loadtests/warehouse.py) and the cache busters' block
(loadtests/gateway.py) are summed up by their own modules; loadtests/markdown.py
renders the result as summary.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadtests.answers import tally
from loadtests.buster import kind_of
from loadtests.gateway import buster_report
from loadtests.outcomes import OUTCOMES, Outcome
from loadtests.percentiles import latency
from loadtests.samples import Sample
from loadtests.warehouse import Reading, budget_report

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
    "rollups",
    "errors",
    "operator",
    "wrong_answers",
    "statement_budget",
    "buster",
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
    statement_readings: Sequence[Reading] = ()  # the emulator's count, each second (local only)
    statement_budget: int | None = None  # the origin's budget per dataset and minute, if known
    budgeted_datasets: int = 1  # the datasets it counts for (the emulator counts them all)
    # Its counters, by epoch minute and dataset.
    statements_admitted: Mapping[int, Mapping[str, Mapping[str, int]] | None] | None = None
    busters: int = 0
    require_keys: bool = False
    locust_requests: int | None = None
    locust_failures: int | None = None
    operator: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    notes: Sequence[str] = ()


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
        "rollups": rollup_share(samples),
        "errors": errors(samples),
        "operator": facts.operator,
        "wrong_answers": tally(samples),
        "statement_budget": budget_report(
            facts.statement_readings,
            facts.statement_budget,
            facts.statements_admitted,
            datasets=facts.budgeted_datasets,
        ),
        "buster": buster_report(
            samples, facts.phases, busters=facts.busters, require_keys=facts.require_keys
        ),
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
    data_requests = sum(
        1 for s in samples if s.route.startswith(DATA_ROUTE_PREFIX) or kind_of(s.route) == "valid"
    )
    per_1000 = 1000 * statements / requests if requests else 0.0
    saved = 1000 * (data_requests - statements) / requests if requests else 0.0
    return {
        "statements": statements,
        "data_requests": data_requests,
        "per_1000_requests": round(per_1000, 2),
        "saved_per_1000_requests": round(saved, 2),
    }


def rollup_share(samples: Sequence[Sample]) -> dict[str, Any]:
    """The origin's misses (answers it made rather than found), and how many of them were
    derived from a roll-up instead of running a statement of their own."""
    derived = sum(1 for s in samples if s.outcome == "derived")
    misses = derived + sum(1 for s in samples if s.outcome in ("miss", "refresh"))
    return {"misses": misses, "derived": derived, "share": _ratio(derived, misses)}


def errors(samples: Sequence[Sample]) -> dict[str, Any]:
    """Failed requests, split by whether their URL had been answered successfully before.

    Under a brownout the caches can only hide failures for what they hold: an error on a
    URL never served before is the warehouse's, an error on a served one is a cache's.
    """
    served: set[str] = set()
    never, before = 0, 0
    by_status: Counter[str] = Counter()
    by_answer: Counter[str] = Counter()
    for s in sorted(samples, key=lambda s: s.t):
        if s.outcome != "error":
            served.add(s.url)
            continue
        by_status[str(s.status)] += 1
        by_answer[s.answer] += 1
        if s.url in served:
            before += 1
        else:
            never += 1
    return {
        "total": never + before,
        "on_urls_never_served": never,
        "on_urls_served_before": before,
        "by_status": dict(sorted(by_status.items())),
        "by_answer": dict(sorted(by_answer.items())),  # status and error code
    }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
