"""Cold start: import time of the handler module, and of what a hit and a miss add.

Each figure is the median of several fresh interpreters, so nothing is cached in
sys.modules between runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from tools.bench import Table

RUNS = 5
# As Lambda's init phase sees it: configured (so the container builds its clients, as a
# deployed function does), and with LAMBDA_TASK_ROOT set, without which X-Ray's SDK
# builds two botocore clients for centralised sampling that Lambda never uses (~200 ms).
# Nothing is contacted: clients are built, no call is made.
LAMBDA_LIKE = {
    **os.environ,
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "LAMBDA_TASK_ROOT": os.path.join(os.environ.get("TMPDIR", "/tmp"), "lakegate-task-root"),
    "AWS_LAMBDA_FUNCTION_NAME": "lakegate-bench",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "DATABRICKS_HOST": "https://example.cloud.databricks.com",
    "DATABRICKS_WAREHOUSE_ID": "bench",
    "DATABRICKS_TOKEN": "bench",
    "LAKEGATE_CACHE_TABLE": "bench",
    "LAKEGATE_CACHE_BUCKET": "bench",
}


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
            env=LAMBDA_LIKE,
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
        env=LAMBDA_LIKE,
    ).stdout.strip()
    return Table(
        title=f"Cold start: import time, configured as in Lambda's init (median of {RUNS} fresh interpreters)",
        header=("module", "ms", "vs handler.app"),
        rows=table_rows,
        note=f"After `import handler.app`, polars/duckdb in sys.modules: {hit_imports} "
        "(tests/e2e/test_cold_start.py proves a served hit keeps it that way).",
    )
