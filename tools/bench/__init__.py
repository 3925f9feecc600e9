"""Benchmarks run with `python -m tools.bench`; each section prints one markdown table."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Table:
    """One section's result: a title, a header row and right-aligned text rows."""

    title: str
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    note: str = ""

    def render(self) -> str:
        widths = [
            max(len(cell) for cell in column)
            for column in zip(self.header, *self.rows, strict=True)
        ]

        def line(cells: tuple[str, ...]) -> str:
            return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
        lines = [f"## {self.title}", "", line(self.header), rule, *map(line, self.rows)]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)


def best_of(repetitions: int, run: Callable[[], object]) -> float:
    """The fastest of several runs, in seconds: the least disturbed by everything else."""
    fastest = float("inf")
    for _ in range(repetitions):
        started = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest
