"""Shaping: warehouse wire rows → JSON body, pandas as the original article did it vs lakegate.

The rows have the licensed-drivers shape (year INT, state STRING, cohort STRING,
gender STRING, drivers LONG) and are cells as the warehouse sends them: strings.
"""

from __future__ import annotations

import json
import random
from functools import partial
from typing import Any

import orjson

from handler.encoding import to_json
from handler.result import ResultColumn, StatementResult
from handler.shaping import to_frame
from tools.bench import Table, best_of

COLUMNS = (
    ResultColumn("year", "INT", "INT"),
    ResultColumn("state", "STRING", "STRING"),
    ResultColumn("cohort", "STRING", "STRING"),
    ResultColumn("gender", "STRING", "STRING"),
    ResultColumn("drivers", "LONG", "BIGINT"),
)
NUMERIC = ("year", "drivers")
STATES = (
    "Alabama", "Alaska", "Arizona", "California", "Colorado", "Florida", "Georgia",
    "Illinois", "New York", "North Carolina", "Ohio", "Pennsylvania", "Texas", "Washington",
)  # fmt: skip
COHORTS = ("16-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54", "55-59")
# (rows, repetitions): fewer repetitions where one run is long enough to be steady.
SIZES = ((1_000, 30), (10_000, 10), (100_000, 5))


def wire_rows(count: int, seed: int = 2016) -> list[list[str | None]]:
    """Deterministic rows, every cell a string as in a JSON_ARRAY chunk."""
    rng = random.Random(seed)
    return [
        [
            str(rng.randint(1994, 2018)),
            rng.choice(STATES),
            rng.choice(COHORTS),
            rng.choice(("Female", "Male")),
            str(rng.randint(0, 2_000_000)),
        ]
        for _ in range(count)
    ]


def pandas_baseline(names: list[str], data_array: list[list[str | None]]) -> bytes:
    """The article's recipe: DataFrame, to_numeric(errors="coerce"), records, json.dumps."""
    import pandas as pd  # type: ignore[import-untyped]  # dev only: the Lambda image has none

    frame = pd.DataFrame(data_array, columns=names)
    for name in NUMERIC:
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return json.dumps(frame.to_dict(orient="records")).encode()


def lakegate(result: StatementResult) -> bytes:
    return to_json(to_frame(result))


def section() -> Table:
    names = [column.name for column in COLUMNS]
    rows: list[tuple[str, ...]] = []
    for count, repetitions in SIZES:
        data = wire_rows(count)
        result = StatementResult("bench", COLUMNS, data)
        # Same data out of both, or the timing compares different work.
        baseline: Any = json.loads(pandas_baseline(names, data))
        if orjson.loads(lakegate(result)) != baseline:
            raise AssertionError(f"pandas and lakegate disagree at {count} rows")
        pandas_s = best_of(repetitions, partial(pandas_baseline, names, data))
        polars_s = best_of(repetitions, partial(lakegate, result))
        rows.append(
            (
                f"{count:,}",
                f"{pandas_s * 1000:.1f}",
                f"{polars_s * 1000:.1f}",
                f"{count / pandas_s:,.0f}",
                f"{count / polars_s:,.0f}",
                f"{pandas_s / polars_s:.1f}x",
            )
        )
    return Table(
        title="shaping: wire rows → JSON body (licensed drivers, 5 columns)",
        header=("rows", "pandas ms", "polars ms", "pandas rows/s", "polars rows/s", "speedup"),
        rows=rows,
        note="Best of N runs with time.perf_counter. pandas: the original article's recipe; "
        "polars: handler.shaping.to_frame + to_json.",
    )
