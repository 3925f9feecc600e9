"""The summary's arithmetic on synthetic samples: percentiles, rates, breakdowns, statements."""

from typing import Any

import pytest

from loadtests.markdown import render_markdown
from loadtests.outcomes import OUTCOMES, Outcome
from loadtests.percentiles import latency, percentile
from loadtests.samples import Sample, read_samples, write_samples
from loadtests.summary import REQUIRED_FIELDS, RunFacts, summarise

ROUTE = "/v1/drivers?state&year"


def sample(
    t: float, outcome: Outcome, ms: float, *, status: int = 200, url: str = "/a", route: str = ROUTE
) -> Sample:
    return Sample(t=t, route=route, outcome=outcome, status=status, ms=ms, bytes=100, url=url)


def facts(**overrides: Any) -> RunFacts:
    values: dict[str, Any] = {
        "scenario": "steady",
        "target": "local",
        "edge": False,
        "local": True,
        "started_at": "2026-11-25T10:00:00+00:00",
        "duration_s": 10.0,
        "users": 5,
        "phases": [("first", 0.0, 5.0), ("second", 5.0, 10.0)],
        "statements": 3,
        **overrides,
    }
    return RunFacts(**values)


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) == 0.0


def test_latency_block() -> None:
    assert latency([30.0, 10.0, 20.0, 40.0]) == {
        "p50": 20.0,
        "p95": 40.0,
        "p99": 40.0,
        "max": 40.0,
        "mean": 25.0,
    }
    assert latency([]) == dict.fromkeys(["p50", "p95", "p99", "max", "mean"])


SAMPLES = [
    sample(0.5, "miss", 300.0, url="/a"),
    sample(1.0, "lakegate-hit", 10.0, url="/a"),
    sample(2.0, "lakegate-hit", 20.0, status=304, url="/a"),
    sample(3.0, "collapsed", 290.0, url="/b"),
    sample(6.0, "error", 5.0, status=503, url="/c"),  # never served before
    sample(7.0, "stale", 15.0, url="/b"),
    sample(8.0, "error", 6.0, status=502, url="/b"),  # served before
    sample(9.5, "miss", 310.0, url="/d"),
    sample(10.2, "bypass", 50.0, url="/admin/invalidate", route="/admin/invalidate"),
]


def test_totals_rates_and_error_rate() -> None:
    summary = summarise(SAMPLES, facts())
    assert summary["requests"] == 9
    assert summary["failures"] == 2
    assert summary["error_rate"] == round(2 / 9, 4)
    assert summary["requests_per_s"] == 0.9
    assert summary["latency_ms"]["p50"] == 20.0
    assert summary["latency_ms"]["max"] == 310.0
    assert summary["status_counts"] == {"200": 6, "304": 1, "502": 1, "503": 1}
    assert summary["not_modified"] == 1


def test_outcome_breakdown_adds_up_to_the_request_count() -> None:
    by_outcome = summarise(SAMPLES, facts())["by_outcome"]
    assert list(by_outcome) == list(OUTCOMES)
    assert sum(row["requests"] for row in by_outcome.values()) == len(SAMPLES)
    assert sum(row["share"] for row in by_outcome.values()) == pytest.approx(1.0, abs=1e-3)
    assert by_outcome["miss"]["requests"] == 2
    assert by_outcome["miss"]["latency_ms"]["p50"] == 300.0
    assert by_outcome["edge-hit"] == {
        "requests": 0,
        "share": 0.0,
        "latency_ms": dict.fromkeys(["p50", "p95", "p99", "max", "mean"]),
    }


def test_by_route() -> None:
    by_route = summarise(SAMPLES, facts())["by_route"]
    assert by_route[ROUTE]["requests"] == 8
    assert by_route[ROUTE]["failures"] == 2
    assert by_route[ROUTE]["requests_per_s"] == 0.8
    assert by_route["/admin/invalidate"]["requests"] == 1


def test_phases_split_by_finish_time_and_the_last_keeps_stragglers() -> None:
    first, second = summarise(SAMPLES, facts())["phases"]
    assert (first["phase"], first["requests"], first["failures"]) == ("first", 4, 0)
    assert (second["phase"], second["requests"], second["failures"]) == ("second", 5, 2)
    assert first["requests_per_s"] == 0.8
    assert second["stale_share"] == 0.2
    assert second["outcomes"] == {"stale": 1, "miss": 1, "bypass": 1, "error": 2}
    assert first["requests"] + second["requests"] == len(SAMPLES)


def test_warehouse_statements_per_1000_requests() -> None:
    warehouse = summarise(SAMPLES, facts(statements=3))["warehouse"]
    assert warehouse["statements"] == 3
    assert warehouse["data_requests"] == 8  # the admin request never runs a data statement
    assert warehouse["per_1000_requests"] == round(1000 * 3 / 9, 2)
    assert warehouse["saved_per_1000_requests"] == round(1000 * (8 - 3) / 9, 2)


def test_no_warehouse_figures_against_a_remote_host() -> None:
    assert summarise(SAMPLES, facts(statements=None, local=False))["warehouse"] is None


def test_errors_split_by_url_history() -> None:
    assert summarise(SAMPLES, facts())["errors"] == {
        "total": 2,
        "on_urls_never_served": 1,
        "on_urls_served_before": 1,
        "by_status": {"502": 1, "503": 1},
        "by_answer": {"502": 1, "503": 1},
    }


def test_locust_totals_are_cross_checked() -> None:
    agrees = summarise(SAMPLES, facts(locust_requests=9, locust_failures=2))["locust"]
    assert agrees == {"requests": 9, "failures": 2, "agrees": True}
    assert not summarise(SAMPLES, facts(locust_requests=10, locust_failures=2))["locust"]["agrees"]


def test_every_field_is_present_and_markdown_renders_it() -> None:
    summary = summarise(SAMPLES, facts(notes=["freshness compressed"]))
    assert set(REQUIRED_FIELDS) <= set(summary)
    markdown = render_markdown(summary)
    assert "| 9 | 0.9 | 2 (22.22%)" in markdown
    assert "| miss | 2 | 22.2% | 300 ms" in markdown
    assert "333.3 per 1000 requests" in markdown
    assert "- freshness compressed" in markdown


def test_an_empty_run_summarises_to_zeros() -> None:
    summary = summarise([], facts(statements=0))
    assert summary["requests"] == 0 and summary["error_rate"] == 0.0
    assert summary["warehouse"]["per_1000_requests"] == 0.0
    render_markdown(summary)


def test_samples_round_trip_through_csv(tmp_path: Any) -> None:
    path = tmp_path / "samples.csv"
    write_samples(path, SAMPLES)
    assert read_samples(path) == SAMPLES
