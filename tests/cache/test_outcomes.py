"""The outcome, declared once: its Cache-Status, its counter, and how a client reads it back."""

from __future__ import annotations

import pytest

from cache import Outcome, metrics


def read_back(header_parameters: str) -> Outcome:
    """A client's reading (the load tests' classifier): the outcome whose marks the
    parameters carry, the one with the most marks when several do."""
    parameters = {}
    for item in header_parameters.split(";"):
        key, _, value = item.strip().partition("=")
        parameters[key] = value
    carried = [o for o in Outcome if o.marks.items() <= parameters.items()]
    return max(carried, key=lambda o: len(o.marks))


@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize("stored", [True, False])
def test_every_outcome_reads_back_from_the_header_it_renders(
    outcome: Outcome, stored: bool
) -> None:
    rendered = outcome.cache_status(ttl=-7, stored=stored, fwd_status=504)
    assert read_back(rendered) is outcome


def test_a_response_s_own_values_are_rendered_in_place_and_only_when_known() -> None:
    assert Outcome.MISS.cache_status(ttl=5, stored=True) == "fwd=miss; stored"
    assert Outcome.MISS.cache_status(ttl=5, stored=False) == "fwd=miss"
    assert Outcome.DERIVED.cache_status(ttl=5, stored=True) == "fwd=miss; stored; detail=rollup"
    assert Outcome.STALE_IF_ERROR.cache_status(ttl=-60, stored=False, fwd_status=503) == (
        "fwd=stale; ttl=-60; detail=stale-if-error; fwd-status=503"
    )
    assert Outcome.STALE_IF_ERROR.cache_status(ttl=-60, stored=False) == (
        "fwd=stale; ttl=-60; detail=stale-if-error"
    )


@pytest.mark.parametrize(
    ("outcome", "derived"),
    [
        (Outcome.MISS, Outcome.DERIVED),
        (Outcome.REFRESHED, Outcome.REFRESHED_DERIVED),
        # Their headers already say where the answer came from.
        (Outcome.BYPASS, Outcome.BYPASS),
        (Outcome.UNCACHED, Outcome.UNCACHED),
    ],
)
def test_an_answer_from_a_rollup_is_the_same_outcome_said_so(
    outcome: Outcome, derived: Outcome
) -> None:
    assert outcome.from_rollup() is derived
    assert derived.plain is outcome
    assert derived.counter == outcome.counter


def test_every_outcome_is_counted_by_one_of_the_cache_s_counters() -> None:
    counters = {v for k, v in vars(metrics).items() if k.isupper() and isinstance(v, str)}
    assert {o.counter for o in Outcome} <= counters
    assert {o.plain for o in Outcome} == set(Outcome) - {Outcome.DERIVED, Outcome.REFRESHED_DERIVED}
