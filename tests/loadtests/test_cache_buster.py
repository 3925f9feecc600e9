"""A short cache-buster run through the runner, on the embedded stack it starts itself.

The statement budget is set low (30 a minute) so that a 20-second run spends it: the
report must show the warehouse held to it, no wrong answers, every buster kind
answered, and the dashboards' hit latency with and without the busters.
"""

import json
from typing import Any

import pytest

from loadtests.runner import run
from loadtests.summary import REQUIRED_FIELDS

pytestmark = pytest.mark.slow
BUDGET = 30


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAKEGATE_STATEMENT_BUDGET_PER_MINUTE", str(BUDGET))
        patch.delenv("LAKEGATE_REQUIRE_KEYS", raising=False)
        report = run(
            "cache-buster",
            users=5,
            duration=20,
            output=tmp_path_factory.mktemp("reports"),
            progress_s=0,
            say=lambda _: None,
        )
    document: dict[str, Any] = json.loads((report / "summary.json").read_text())
    document["_markdown"] = (report / "summary.md").read_text()
    return document


def test_the_report_has_every_field(summary: dict[str, Any]) -> None:
    assert set(REQUIRED_FIELDS) <= set(summary)
    assert summary["_markdown"].startswith("# cache-buster")
    assert "## Gateway" in summary["_markdown"]
    buster = summary["buster"]
    assert buster["users"] == 1 and buster["requests"] > 0
    assert set(buster["dashboard_hits"]) == {"baseline", "with_buster", "change_ms"}
    assert [p["phase"] for p in buster["dashboards"]] == ["ramp", "baseline", "buster"]


def test_no_wrong_answers(summary: dict[str, Any]) -> None:
    assert summary["wrong_answers"]["total"] == 0, summary["wrong_answers"]["examples"]
    assert summary["wrong_answers"]["answers_read"] > 0
    assert summary["buster"]["unexpected"] == {}


def test_the_warehouse_stays_within_the_statement_budget(summary: dict[str, Any]) -> None:
    budget = summary["statement_budget"]
    # Per dataset: the dashboards read drivers and crashes, the emulator counts both.
    assert (budget["budget_per_minute"], budget["datasets"]) == (BUDGET, 2)
    assert budget["statements"] > 0
    assert budget["max_per_minute"] <= 2 * BUDGET, budget["minutes"]
    assert budget["within_budget"] is (budget["max_per_minute"] <= 2 * BUDGET)
    # ...and each dataset's share is what the origin's counters admitted, summed.
    assert budget["admitted"] is None or budget["statements"] <= budget["admitted"]


def test_the_gateway_refuses_what_it_must(summary: dict[str, Any]) -> None:
    kinds = summary["buster"]["by_kind"]
    assert set(kinds["unknown key"]["answers"]) <= {"401 unauthorized"}
    for kind in ("unknown name", "wrong case", "repeated name", "bad value"):
        assert all(a.startswith("400 ") for a in kinds[kind]["answers"]), kinds[kind]
    assert set(kinds["valid"]["answers"]) <= {"200", "503 statement_budget_exceeded"}
