"""Cold start: import time of the handler module, and of what a hit and a miss add.

Each figure is the median of several fresh interpreters, so nothing is cached in
sys.modules between runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from local.bench import Table

RUNS = 5
# A fresh interpreter has no lakegate settings: its container says so in an ERROR line,
# which would land in the table.
QUIET = {**os.environ, "POWERTOOLS_LOG_LEVEL": "CRITICAL"}


def _import_seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env=QUIET,
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]))
    return statistics.median(samples)


def section() -> Table:
    rows = [
        ("handler.app (the hit path: routes, boto3, Powertools)", "import handler.app"),
        (
            "handler.shaping (what the first miss adds: polars)",
            "import handler.app; import handler.shaping",
        ),
        ("polars alone", "import polars"),
        ("duckdb alone (emulator only, never in Lambda)", "import duckdb"),
    ]
    measured = {label: _import_seconds(statement) * 1000 for label, statement in rows}
    base = measured[rows[0][0]]
    table_rows = [
        (label, f"{ms:.0f}", f"{ms - base:+.0f}" if i else "")
        for i, (label, ms) in enumerate(measured.items())
    ]
    hit_imports = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, handler.app; print('polars' in sys.modules, 'duckdb' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=QUIET,
    ).stdout.strip()
    return Table(
        title=f"Cold start: import time (median of {RUNS} fresh interpreters)",
        header=("module", "ms", "vs handler.app"),
        rows=table_rows,
        note=f"After `import handler.app`, polars/duckdb in sys.modules: {hit_imports} "
        "(tests/e2e/test_cold_start.py proves a served hit keeps it that way).",
    )
