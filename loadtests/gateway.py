"""What a cache-buster run says about the gateway: how the busters were answered, and
whether the dashboards beside them noticed.

The busters' requests are counted by kind (loadtests/buster.py) and answer (status and
error code: `401 unauthorized`, `503 statement_budget_exceeded`, ...), with the
answers each kind must not get: a refusal's 2xx/3xx (also a wrong answer,
loadtests/answers.py), a valid URL's 400, and a 429/503 without `Retry-After`. The dashboards' cache hits (fresh edge
or result-cache hits, 304s included) are timed phase by phase, so their latency
without the busters (the baseline phase) sits beside their latency with them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from loadtests.buster import KINDS, kind_of
from loadtests.outcomes import Outcome
from loadtests.percentiles import latency
from loadtests.samples import Sample
from loadtests.scenarios import BASELINE_PHASE, BUSTER_PHASE

HIT_OUTCOMES: tuple[Outcome, ...] = ("edge-hit", "lakegate-hit")
NO_RETRY_AFTER = " without Retry-After"  # what the locustfile adds to a 429/503's code
Phases = Sequence[tuple[str, float, float]]  # name, start second, end second


def is_dashboard(route: str) -> bool:
    """Dashboard users name their requests after the data route they read."""
    return route.startswith("/v1/")


def buster_report(
    samples: Sequence[Sample], phases: Phases, *, busters: int, require_keys: bool
) -> dict[str, Any] | None:
    """The busters' answers by kind, and the dashboards' hits phase by phase (None: no busters)."""
    if not busters:
        return None
    by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    unexpected: Counter[str] = Counter()
    for s in samples:
        kind = kind_of(s.route)
        if kind is None:
            continue
        by_kind[kind][s.answer] += 1
        refused = kind != "valid" or require_keys
        if refused and 200 <= s.status < 400:
            unexpected[f"{kind}: answered {s.status}"] += 1
        elif not refused and s.status == 400:
            unexpected[f"{kind}: refused {s.answer}"] += 1
        elif s.code.endswith(NO_RETRY_AFTER):
            unexpected[f"{kind}: {s.answer}"] += 1
    return {
        "users": busters,
        "from_s": next((round(start, 2) for name, start, _ in phases if name == BUSTER_PHASE), 0.0),
        "requests": sum(sum(c.values()) for c in by_kind.values()),
        "by_kind": {
            kind: {"requests": sum(c.values()), "answers": dict(sorted(c.items()))}
            for kind, c in by_kind.items()
        },
        "unexpected": dict(sorted(unexpected.items())),
        "dashboards": dashboards_by_phase(samples, phases),
        "dashboard_hits": dashboard_hits(samples, phases),
    }


def dashboards_by_phase(samples: Sequence[Sample], phases: Phases) -> list[dict[str, Any]]:
    """Dashboard requests by the phase they finished in: hits, their latency, refusals."""
    rows = []
    for index, (name, start, end) in enumerate(phases):
        last = index == len(phases) - 1
        group = [
            s for s in samples if is_dashboard(s.route) and start <= s.t and (s.t < end or last)
        ]
        hits = [s.ms for s in group if s.outcome in HIT_OUTCOMES]
        errors = Counter(s.answer for s in group if s.outcome == "error")
        rows.append(
            {
                "phase": name,
                "start_s": round(start, 2),
                "end_s": round(end, 2),
                "requests": len(group),
                "hits": len(hits),
                "hit_latency_ms": latency(hits),
                "errors": dict(sorted(errors.items())),
            }
        )
    return rows


def dashboard_hits(samples: Sequence[Sample], phases: Phases) -> dict[str, Any]:
    """The dashboards' hit latency without the busters and with them, and the change."""
    rows = {row["phase"]: row for row in dashboards_by_phase(samples, phases)}
    without = rows.get(BASELINE_PHASE, {}).get("hit_latency_ms") or latency([])
    beside = rows.get(BUSTER_PHASE, {}).get("hit_latency_ms") or latency([])
    return {
        "baseline": without,
        "with_buster": beside,
        "change_ms": {
            key: None
            if without[key] is None or beside[key] is None
            else round(float(beside[key] or 0) - float(without[key] or 0), 1)
            for key in ("p50", "p95", "p99")
        },
    }
