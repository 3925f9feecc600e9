"""Nearest-rank percentiles over exact latencies, the one definition every figure uses.

Locust's own tables round response times to two significant digits; the report reads
exact latencies from samples.csv instead, so that overall, per-route, per-outcome and
per-phase figures agree with each other.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence

PERCENTILES = (50, 95, 99)
LATENCY_KEYS = (*(f"p{p}" for p in PERCENTILES), "max", "mean")


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100] of already sorted values; 0.0 for none."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


def latency(ms: Iterable[float]) -> dict[str, float | None]:
    """p50/p95/p99/max/mean in milliseconds (None for no requests), to 0.1 ms."""
    values = sorted(ms)
    if not values:
        return dict.fromkeys(LATENCY_KEYS)
    result: dict[str, float | None] = {
        f"p{p}": round(percentile(values, p), 1) for p in PERCENTILES
    }
    result["max"] = round(values[-1], 1)
    result["mean"] = round(statistics.fmean(values), 1)
    return result
