"""A 15-second smoke load test through the runner, on the embedded stack it starts itself.

Behaviour, not speed: nothing fails, the report is complete, and every request is
accounted for in exactly one cache outcome.
"""

import json
from pathlib import Path

import pytest

from loadtests.runner import run
from loadtests.summary import REQUIRED_FIELDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run("smoke", users=5, duration=15, output=tmp_path_factory.mktemp("reports"))


def test_no_request_failed(report: Path) -> None:
    summary = json.loads((report / "summary.json").read_text())
    assert summary["requests"] > 0
    assert summary["failures"] == 0, (report / "summary.md").read_text()


def test_the_summary_has_every_field(report: Path) -> None:
    summary = json.loads((report / "summary.json").read_text())
    assert set(REQUIRED_FIELDS) <= set(summary)
    for block in (summary["latency_ms"], *(r["latency_ms"] for r in summary["by_route"].values())):
        assert set(block) == {"p50", "p95", "p99", "max", "mean"}
    assert summary["local"] is True
    assert summary["warehouse"]["statements"] > 0  # the cache starts empty


def test_outcomes_add_up_to_the_request_count(report: Path) -> None:
    summary = json.loads((report / "summary.json").read_text())
    counted = sum(row["requests"] for row in summary["by_outcome"].values())
    assert counted == summary["requests"] == summary["locust"]["requests"]
    assert summary["locust"]["agrees"]
    # Every query is derived from the datasets' roll-ups: the misses the warehouse never saw.
    assert summary["by_outcome"]["derived"]["requests"] > 0
    assert summary["rollups"]["share"] == 1.0


def test_the_report_holds_locust_output_and_the_chart(report: Path) -> None:
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust.html", "samples.csv"):
        assert (report / name).stat().st_size > 0, name
    assert (report / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (report / "summary.md").read_text().startswith("# smoke")
