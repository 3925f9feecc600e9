"""The Zipf sampler: rank-k items drawn in proportion to 1/k**s, reproducibly, never off the list."""

from collections import Counter

import pytest

from loadtests.zipf import Zipf

ITEMS = [f"item{k}" for k in range(1, 11)]


def test_probabilities_follow_one_over_rank() -> None:
    zipf = Zipf(ITEMS, s=1.0)
    harmonic = sum(1 / k for k in range(1, 11))
    assert zipf.probabilities[0] == pytest.approx(1 / harmonic)
    assert zipf.probabilities[1] == pytest.approx(zipf.probabilities[0] / 2)
    assert zipf.probabilities[9] == pytest.approx(zipf.probabilities[0] / 10)
    assert sum(zipf.probabilities) == pytest.approx(1.0)


def test_drawn_frequencies_match_the_probabilities() -> None:
    zipf = Zipf(ITEMS, s=1.2, seed=42)
    draws = 50_000
    counts = Counter(zipf.samples(draws))
    for item in ITEMS:
        assert counts[item] / draws == pytest.approx(zipf.probability(item), abs=0.01)
    # The head dominates and frequencies fall with rank.
    assert counts["item1"] > counts["item2"] > counts["item4"] > counts["item10"]


def test_a_larger_exponent_concentrates_on_the_head() -> None:
    assert Zipf(ITEMS, s=2.0).probability("item1") > Zipf(ITEMS, s=1.0).probability("item1")


def test_exponent_zero_is_uniform() -> None:
    assert Zipf(ITEMS, s=0).probabilities == pytest.approx([0.1] * 10)


def test_same_seed_same_sequence_other_seed_other_sequence() -> None:
    assert Zipf(ITEMS, seed=7).samples(200) == Zipf(ITEMS, seed=7).samples(200)
    assert Zipf(ITEMS, seed=7).samples(200) != Zipf(ITEMS, seed=8).samples(200)


def test_every_draw_is_an_item_of_the_list() -> None:
    assert set(Zipf(ITEMS, s=0.5, seed=1).samples(5_000)) <= set(ITEMS)
    assert Zipf(["only"]).samples(10) == ["only"] * 10


@pytest.mark.parametrize("s", [-0.1, float("nan")])
def test_a_negative_or_nan_exponent_is_refused(s: float) -> None:
    with pytest.raises(ValueError, match="exponent"):
        Zipf(ITEMS, s=s)


def test_an_empty_list_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Zipf([])
