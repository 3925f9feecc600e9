"""Statements per wall-clock minute from the sampled counter, against the budget, and the sampler."""

import itertools
import time

import pytest

from loadtests.warehouse import Minute, StatementSampler, budget_report, per_minute

T0 = 1_800_000_000.0  # a minute boundary: 1_800_000_000 = 30_000_000 * 60
M0 = 30_000_000  # its epoch minute


def readings(counts: list[int], start: float = T0, step: float = 1.0) -> list[tuple[float, int]]:
    return [(start + i * step, c) for i, c in enumerate(counts)]


def test_differences_go_to_the_minute_they_happened_in() -> None:
    # 90 readings a second apart from the boundary: 2 statements a second for the first
    # minute, 1 a second for the next 29 s.
    counts = list(itertools.accumulate([0] + [2] * 60 + [1] * 29))
    minutes = per_minute(readings(counts))
    assert minutes == [
        Minute(minute=M0, start="2027-01-15T08:00+00:00", seconds=60.0, statements=120),
        Minute(minute=M0 + 1, start="2027-01-15T08:01+00:00", seconds=29.0, statements=29),
    ]


def test_a_reading_just_after_the_boundary_keeps_the_interval_in_its_minute() -> None:
    # Readings land a few ms after each second: (59.004, 60.003] is minute 0's last second.
    minutes = per_minute([(T0 + 58.004, 0), (T0 + 59.004, 5), (T0 + 60.003, 9), (T0 + 61.002, 10)])
    assert [m.statements for m in minutes] == [9, 1]


def test_a_partial_first_minute_says_how_much_it_covers() -> None:
    minutes = per_minute(readings([0, 3, 3, 7], start=T0 + 40.0, step=10.0))
    assert [(m.minute, m.seconds, m.statements) for m in minutes] == [
        (M0, 20.0, 3),
        (M0 + 1, 10.0, 4),
    ]


def test_readings_out_of_order_and_a_reset_counter() -> None:
    assert per_minute([(T0 + 2, 5), (T0, 1), (T0 + 1, 3)])[0].statements == 4
    assert per_minute([(T0, 5), (T0 + 1, 2)])[0].statements == 0  # never negative


def test_no_or_one_reading_is_no_minute() -> None:
    assert per_minute([]) == []
    assert per_minute([(T0, 3)]) == []
    assert budget_report([(T0, 3)], 120) is None


@pytest.mark.parametrize(("budget", "within"), [(120, True), (119, False), (None, None)])
def test_the_budget_report(budget: int | None, within: bool | None) -> None:
    counts = list(itertools.accumulate([0] + [2] * 60 + [1] * 29))
    report = budget_report(readings(counts), budget)
    assert report is not None
    assert report["max_per_minute"] == 120
    assert report["within_budget"] is within
    assert report["statements"] == 149
    assert report["average_per_minute"] == round(60 * 149 / 89, 1)
    assert [m["statements"] for m in report["minutes"]] == [120, 29]
    assert report["admitted"] is None and report["minutes"][0]["admitted"] is None


def test_the_budget_is_per_dataset_so_the_warehouse_ceiling_is_its_multiple() -> None:
    counts = [0, 150, 239]  # 239 in one minute
    report = budget_report(readings(counts), 120, datasets=2)
    assert report is not None
    assert (report["ceiling_per_minute"], report["within_budget"]) == (240, True)
    alone = budget_report(readings(counts), 120)
    assert alone is not None and alone["within_budget"] is False


def test_the_budget_report_sets_what_the_origin_admitted_beside_what_ran() -> None:
    counts = list(itertools.accumulate([0] + [2] * 60 + [1] * 29))
    first = {
        "drivers": {"statements": 100, "rollups": 1},
        "crashes": {"statements": 19, "rollups": 1},
    }
    second = {"drivers": {"statements": 29, "rollups": 0}}
    report = budget_report(readings(counts), 120, {M0: first, M0 + 1: second})
    assert report is not None
    assert report["admitted"] == 148 and report["statements"] == 149
    assert [m["admitted"] for m in report["minutes"]] == [119, 29]
    assert report["minutes"][0]["by_dataset"] == first, "each dataset's own count"
    unknown = budget_report(readings(counts), 120, {M0: first, M0 + 1: None})
    assert unknown is not None and unknown["admitted"] is None


def test_the_sampler_reads_on_whole_seconds_until_stopped() -> None:
    count = itertools.count()
    sampler = StatementSampler(lambda: next(count), max_s=30).start()
    deadline = time.monotonic() + 5
    while len(sampler.readings) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    taken = sampler.stop()
    assert len(taken) >= 4  # the first, at least two on the second, the last at stop
    assert [c for _, c in taken] == sorted(c for _, c in taken)
    assert all(t % 1 < 0.2 for t, _ in taken[1:-1]), "readings land just after whole seconds"
    assert sampler.stop() == taken  # stopping twice is harmless


def test_the_sampler_ends_by_itself_and_skips_failed_reads() -> None:
    sampler = StatementSampler(lambda: None, max_s=0).start()
    assert sampler.stop() == []
