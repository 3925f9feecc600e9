"""A seeded Zipf sampler over a list: the first item is the most popular, then it falls off.

Dashboards do not ask for every state and year equally: a few (the big states, the
latest year) get most of the traffic and a long tail gets the rest. The rank-k item
is drawn with probability proportional to 1 / k**s, which is what makes a cache's hit
rate depend on its size and TTL the way it does in production.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Zipf(Generic[T]):
    """Draw items by rank: P(items[k-1]) = (1 / k**s) / sum(1 / j**s for j in 1..n)."""

    def __init__(self, items: Sequence[T], s: float = 1.0, seed: int | None = 0) -> None:
        if not items:
            raise ValueError("a Zipf sampler needs at least one item")
        if not s >= 0:  # also refuses NaN
            raise ValueError(f"the Zipf exponent must be >= 0, got {s}")
        self.items: tuple[T, ...] = tuple(items)
        self.s = s
        weights = [1.0 / rank**s for rank in range(1, len(self.items) + 1)]
        total = sum(weights)
        self.probabilities: tuple[float, ...] = tuple(w / total for w in weights)
        self._cumulative = list(itertools.accumulate(self.probabilities))
        self._random = random.Random(seed)

    def __call__(self) -> T:
        return self.sample()

    def sample(self) -> T:
        # The last cumulative sum can fall a hair below 1.0: clamp to the last item.
        index = bisect.bisect_right(self._cumulative, self._random.random())
        return self.items[min(index, len(self.items) - 1)]

    def samples(self, count: int) -> list[T]:
        return [self.sample() for _ in range(count)]

    def probability(self, item: T) -> float:
        """The probability of drawing `item` (its first occurrence's rank)."""
        return self.probabilities[self.items.index(item)]
