"""Budgets and pacing: every wait fits inside the Lambda's remaining time."""

import random

from handler.warehouse.deadline import (
    Deadline,
    backoff_seconds,
    budget_seconds,
    client_retry_after,
    parse_retry_after,
    poll_interval_seconds,
)


def test_budget_keeps_a_reserve_and_a_cap() -> None:
    assert budget_seconds(30_000, reserve_seconds=2, max_budget_seconds=25) == 25
    assert budget_seconds(10_000, reserve_seconds=2, max_budget_seconds=25) == 8
    assert budget_seconds(1_000, reserve_seconds=2, max_budget_seconds=25) == 0


def test_deadline_counts_down_on_its_clock() -> None:
    now = [100.0]
    deadline = Deadline(105.0, clock=lambda: now[0])
    assert deadline.remaining() == 5.0 and not deadline.expired()
    now[0] = 106.0
    assert deadline.remaining() == 0.0 and deadline.expired()


def test_backoff_is_jittered_capped_and_yields_to_retry_after() -> None:
    rng = random.Random(7)
    samples = [backoff_seconds(attempt, rng=rng) for attempt in range(12)]
    assert all(0.0 <= s <= 4.0 for s in samples)
    assert len(set(samples)) == len(samples), "jitter spreads retries"
    assert backoff_seconds(0, retry_after=3.0, rng=rng) == 3.0


def test_polls_start_fast_and_slow_down() -> None:
    intervals = [poll_interval_seconds(n) for n in range(8)]
    assert intervals[0] == 0.05 and intervals == sorted(intervals) and max(intervals) == 1.0


def test_retry_after_is_finite_seconds_capped_or_ignored() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("999999") == 30.0
    assert parse_retry_after("9" * 400) == 30.0  # overflows a float: still just the cap
    for ignored in (None, "", "-1", "inf", "Infinity", "nan", "1e3", "1_0", "soon", "+3"):
        assert parse_retry_after(ignored) is None, ignored
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None


def test_clients_are_told_whole_seconds_in_range() -> None:
    assert client_retry_after(0.2) == 1
    assert client_retry_after(4.1) == 5
    assert client_retry_after(999999) == 30
    assert client_retry_after(None) == 1
    assert client_retry_after(float("inf")) == 1
