"""`python -m tools.bench [--section NAME]`: run the benchmark sections, print their tables.

A section is a function returning a `Table`; add one by appending it to SECTIONS.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

# The handler's per-request INFO logs would bury the tables.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from tools.bench import (
    Table,
    arrow,
    cache,
    cold_start,
    edge,
    exports,
    panels,
    rollup_memory,
    shaping,
)

SECTIONS: list[tuple[str, Callable[[], Table]]] = [
    ("shaping", shaping.section),
    ("arrow", arrow.section),
    ("handler", cache.handler_section),
    ("dashboard", cache.dashboard_section),
    ("map", panels.map_section),
    ("mixed-dashboard", panels.mixed_section),
    ("rollups", rollup_memory.section),
    ("cold-start", cold_start.section),
    ("edge", edge.section),
    ("exports", exports.section),
]


def main(argv: list[str] | None = None) -> None:
    names = [name for name, _ in SECTIONS]
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__)
    parser.add_argument("--section", choices=names, help="run only this section")
    args = parser.parse_args(argv)
    chosen = [run for name, run in SECTIONS if args.section in (None, name)]
    for index, run in enumerate(chosen):
        if index:
            print()
        print(run().render(), flush=True)


if __name__ == "__main__":
    main()
