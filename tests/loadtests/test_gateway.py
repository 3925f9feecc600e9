"""The cache busters' block: answers by kind, the answers no kind may get, the dashboards' hits
without and with the busters; and how summary.md shows them."""

from typing import Any

from loadtests.gateway import buster_report
from loadtests.markdown import render_markdown
from loadtests.outcomes import Outcome
from loadtests.samples import Sample
from loadtests.summary import RunFacts, summarise

PHASES = [("ramp", 0.0, 2.0), ("baseline", 2.0, 5.0), ("buster", 5.0, 10.0)]
TABLE = "/v1/drivers?state&year"


def sample(
    t: float, route: str, status: int = 200, outcome: Outcome = "lakegate-hit", **rest: Any
) -> Sample:
    values: dict[str, Any] = {"ms": 10.0, "bytes": 100, "url": "/v1/drivers?year=2016", **rest}
    return Sample(t=t, route=route, outcome=outcome, status=status, **values)


SAMPLES = [
    sample(1.0, TABLE, outcome="miss", ms=300.0),
    sample(3.0, TABLE, ms=20.0),
    sample(4.0, TABLE, status=304, ms=30.0),
    sample(6.0, TABLE, ms=25.0),
    sample(7.0, TABLE, ms=45.0),
    sample(8.0, TABLE, status=503, outcome="error", code="statement_budget_exceeded"),
    sample(6.0, "buster: valid", outcome="miss"),
    sample(6.5, "buster: valid", 503, "error", code="statement_budget_exceeded"),
    sample(7.0, "buster: valid", 400, "error", code="invalid_parameter"),
    sample(7.5, "buster: unknown key", 401, "error", code="unauthorized"),
    sample(
        8.0, "buster: wrong case", 200, "edge-hit", wrong="200 to a request that must be refused"
    ),
    sample(8.5, "buster: unknown name", 400, "error", code="unknown_parameter"),
    sample(
        9.0, "buster: valid", 503, "error", code="statement_budget_exceeded without Retry-After"
    ),
]


def test_answers_by_kind() -> None:
    report = buster_report(SAMPLES, PHASES, busters=2, require_keys=False)
    assert report is not None
    assert (report["users"], report["from_s"], report["requests"]) == (2, 5.0, 7)
    assert report["by_kind"]["valid"] == {
        "requests": 4,
        "answers": {
            "200": 1,
            "400 invalid_parameter": 1,
            "503 statement_budget_exceeded": 1,
            "503 statement_budget_exceeded without Retry-After": 1,
        },
    }
    assert report["by_kind"]["unknown key"]["answers"] == {"401 unauthorized": 1}
    assert report["by_kind"]["repeated name"] == {"requests": 0, "answers": {}}


def test_answers_no_kind_may_get() -> None:
    report = buster_report(SAMPLES, PHASES, busters=2, require_keys=False)
    assert report is not None
    assert report["unexpected"] == {
        "valid: 503 statement_budget_exceeded without Retry-After": 1,
        "valid: refused 400 invalid_parameter": 1,
        "wrong case: answered 200": 1,
    }
    keyed = buster_report(SAMPLES, PHASES, busters=2, require_keys=True)
    assert keyed is not None
    assert keyed["unexpected"]["valid: answered 200"] == 1  # a buster has no key


def test_dashboard_hits_without_and_with_the_busters() -> None:
    report = buster_report(SAMPLES, PHASES, busters=2, require_keys=False)
    assert report is not None
    ramp, baseline, busy = report["dashboards"]
    assert (ramp["requests"], ramp["hits"]) == (1, 0)
    assert (baseline["requests"], baseline["hits"], baseline["errors"]) == (2, 2, {})
    assert (busy["requests"], busy["hits"]) == (3, 2)
    assert busy["errors"] == {"503 statement_budget_exceeded": 1}
    hits = report["dashboard_hits"]
    assert (hits["baseline"]["p50"], hits["baseline"]["p99"]) == (20.0, 30.0)
    assert (hits["with_buster"]["p50"], hits["with_buster"]["p99"]) == (25.0, 45.0)
    assert hits["change_ms"] == {"p50": 5.0, "p95": 15.0, "p99": 15.0}


def test_no_busters_no_block() -> None:
    assert buster_report(SAMPLES, PHASES, busters=0, require_keys=False) is None


def test_summary_md_shows_the_gateway() -> None:
    facts = RunFacts(
        scenario="cache-buster",
        target="local",
        edge=False,
        local=True,
        started_at="2027-01-15T08:00:00+00:00",
        duration_s=10.0,
        users=5,
        phases=PHASES,
        statements=4,
        statement_readings=[(1_800_000_000.0 + i, 2 * i) for i in range(11)],
        statement_budget=120,
        statements_admitted={30_000_000: {"drivers": {"statements": 19, "rollups": 1}}},
        busters=2,
    )
    markdown = render_markdown(summarise(SAMPLES, facts))
    assert "Wrong answers: **1**" in markdown
    assert "`/v1/drivers?year=2016` (buster: wrong case, 200): 200 to a request" in markdown
    assert (
        "max 20 against a ceiling of 120 (120 per dataset, 1 datasets): **within budget**"
        in markdown
    )
    assert "| 2027-01-15T08:00+00:00 | 10 | 20 | 19 | 19 (1) | 120 |" in markdown
    assert "**1 more statements ran than the budget counted**" in markdown
    assert (
        "| valid | 4 | 200: 1, 400 invalid_parameter: 1, 503 statement_budget_exceeded: 1, "
        in markdown
    )
    assert "| baseline | 2-5 | 2 | 2 | 20 ms | 30 ms | 30 ms | none |" in markdown
    assert "p50 20 ms → 25 ms (+5.0 ms), p99 30 ms → 45 ms (+15.0 ms)" in markdown
