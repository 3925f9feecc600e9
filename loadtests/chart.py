"""The chart of a run: latency percentiles and throughput by cache outcome, second by second."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: reports are written on servers and in CI

import matplotlib.pyplot as plt

from loadtests.outcomes import OUTCOMES
from loadtests.percentiles import percentile
from loadtests.samples import Sample

COLOURS = {
    "edge-hit": "#1b9e77",
    "edge-stale": "#66c2a5",
    "lakegate-hit": "#377eb8",
    "stale": "#a6cee3",
    "refresh": "#984ea3",
    "collapsed": "#ff7f00",
    "derived": "#a6d854",
    "miss": "#e6ab02",
    "bypass": "#999999",
    "error": "#e41a1c",
}


WINDOW_S = (
    3  # latency percentiles over the trailing seconds: a page load's requests finish together
)


def per_second(
    samples: Sequence[Sample], duration_s: float, window_s: int = WINDOW_S
) -> tuple[list[int], dict[str, list[float]], dict[str, list[int]]]:
    """Seconds, trailing-window latency percentiles (NaN when idle), counts per outcome."""
    seconds = list(range(max(1, math.ceil(duration_s))))
    latencies: list[list[float]] = [[] for _ in seconds]
    counts: dict[str, list[int]] = {o: [0] * len(seconds) for o in OUTCOMES}
    for s in samples:
        index = min(max(int(s.t), 0), len(seconds) - 1)
        latencies[index].append(s.ms)
        counts[s.outcome][index] += 1
    percentiles: dict[str, list[float]] = {}
    windows = [
        sorted(v for values in latencies[max(0, i - window_s + 1) : i + 1] for v in values)
        for i in seconds
    ]
    for p in (50, 95, 99):
        percentiles[f"p{p}"] = [percentile(w, p) if w else math.nan for w in windows]
    return seconds, percentiles, counts


def write_chart(
    path: Path,
    samples: Sequence[Sample],
    duration_s: float,
    title: str,
    phases: Sequence[tuple[str, float, float]] = (),
) -> None:
    seconds, percentiles, counts = per_second(samples, duration_s)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=[1, 1])
    for name, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
        top.plot(seconds, percentiles[name], style, label=name, linewidth=1.4)
    top.set_yscale("log")
    top.set_ylabel(f"latency (ms, log; {WINDOW_S} s window)")
    top.legend(loc="upper right", fontsize=8)
    top.grid(True, which="both", alpha=0.3)

    present = [o for o in OUTCOMES if any(counts[o])]
    if present:
        bottom.stackplot(
            seconds,
            [counts[o] for o in present],
            labels=present,
            colors=[COLOURS[o] for o in present],
            step="post",
        )
    bottom.set_ylabel("requests / s by outcome")
    bottom.set_xlabel("seconds")
    bottom.legend(loc="upper right", fontsize=8, ncol=3)
    bottom.grid(True, alpha=0.3)

    for name, start, _end in phases:
        for axis in (top, bottom):
            axis.axvline(start, color="black", linewidth=0.6, linestyle="--", alpha=0.5)
        top.annotate(name, (start, 1), xycoords=("data", "axes fraction"), fontsize=8,
                     xytext=(3, -12), textcoords="offset points")  # fmt: skip
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
