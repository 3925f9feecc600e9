"""The sample datasets: licensed drivers, and daily road crashes, by state.

Invented but plausible numbers, the same on every run (and in every test):

- drivers by state, year, age cohort and gender, in the shape of the FHWA "licensed
  drivers by sex and age group" tables, from a fixed seed;
- crashes per state and day, 2010-2025 (about 300,000 rows), with a fatality rate
  (DECIMAL(6,3); NULL for about one state-day in 53, not rated yet), a weekend flag
  and a revision timestamp (NULL for one in 61, never revised): the types, and the
  NULLs, the drivers table lacks. DuckDB computes them from integer hashes of the day and state, so
  loading them costs milliseconds, not a Python loop.

load_into() also creates lakegate.test.all_types, one row of every type the emulator
maps plus one row of NULLs, for end-to-end type tests, and lakegate.bench.crashes_x4,
a view of the crashes four times over (1,192,176 rows) for the export benchmark: a
view costs nothing until a statement reads it.
"""

from __future__ import annotations

import random
import time
from typing import Any

SEED = 20160101
YEARS = range(1994, 2019)
COHORTS = [
    "Under 16", "16", "17", "18", "19", "20-24", "25-29", "30-34", "35-39", "40-44",
    "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+",
]  # fmt: skip
GENDERS = ["Male", "Female"]
TABLE = "lakegate.dmv.licensed_drivers"
ALL_TYPES_TABLE = "lakegate.test.all_types"
CRASHES_TABLE = "lakegate.safety.daily_crashes"
BENCH_CRASHES_VIEW = "lakegate.bench.crashes_x4"
BENCH_COPIES = 4
CRASH_DAYS = ("2010-01-01", "2026-01-01")  # [first, end)
CRASHES_PER_MILLION = 50  # a day's crashes per million residents, about the US average

# Rough 2010 population in millions: only the proportions matter.
STATE_WEIGHTS: dict[str, float] = {
    "Alabama": 4.8, "Alaska": 0.71, "Arizona": 6.4, "Arkansas": 2.9, "California": 37.3,
    "Colorado": 5.0, "Connecticut": 3.6, "Delaware": 0.9, "District of Columbia": 0.6,
    "Florida": 18.8, "Georgia": 9.7, "Hawaii": 1.4, "Idaho": 1.6, "Illinois": 12.8,
    "Indiana": 6.5, "Iowa": 3.0, "Kansas": 2.9, "Kentucky": 4.3, "Louisiana": 4.5,
    "Maine": 1.3, "Maryland": 5.8, "Massachusetts": 6.5, "Michigan": 9.9, "Minnesota": 5.3,
    "Mississippi": 3.0, "Missouri": 6.0, "Montana": 1.0, "Nebraska": 1.8, "Nevada": 2.7,
    "New Hampshire": 1.3, "New Jersey": 8.8, "New Mexico": 2.1, "New York": 19.4,
    "North Carolina": 9.5, "North Dakota": 0.67, "Ohio": 11.5, "Oklahoma": 3.8,
    "Oregon": 3.8, "Pennsylvania": 12.7, "Rhode Island": 1.05, "South Carolina": 4.6,
    "South Dakota": 0.81, "Tennessee": 6.3, "Texas": 25.1, "Utah": 2.8, "Vermont": 0.63,
    "Virginia": 8.0, "Washington": 6.7, "West Virginia": 1.85, "Wisconsin": 5.7,
    "Wyoming": 0.56,
}  # fmt: skip

# Licensed drivers per 1,000 residents in each cohort: few under 16, a bulge in the
# middle ages, a thinning tail; together about 0.7 drivers per resident.
COHORT_SHARE: dict[str, float] = {
    "Under 16": 0.4, "16": 6.5, "17": 9.0, "18": 11.0, "19": 12.0, "20-24": 62.0,
    "25-29": 66.0, "30-34": 66.0, "35-39": 67.0, "40-44": 68.0, "45-49": 70.0,
    "50-54": 68.0, "55-59": 61.0, "60-64": 52.0, "65-69": 40.0, "70-74": 29.0,
    "75-79": 21.0, "80-84": 14.0, "85+": 10.0,
}  # fmt: skip
GENDER_SHARE = {"Male": 0.495, "Female": 0.505}
ANNUAL_GROWTH = 0.011


def generate_rows(seed: int = SEED) -> list[tuple[int, str, str, str, int]]:
    """Every (year, state, cohort, gender, drivers) row, in a stable order."""
    rng = random.Random(seed)
    rows: list[tuple[int, str, str, str, int]] = []
    for state, weight in STATE_WEIGHTS.items():
        # Each state grows at its own steady pace, so series look real and stay smooth.
        growth = ANNUAL_GROWTH * rng.uniform(0.3, 1.9)
        for year in YEARS:
            scale = weight * 1_000_000 * (1 + growth) ** (year - 2010)
            for cohort in COHORTS:
                for gender in GENDERS:
                    noise = rng.uniform(0.97, 1.03)
                    drivers = scale * COHORT_SHARE[cohort] / 1000 * GENDER_SHARE[gender] * noise
                    rows.append((year, state, cohort, gender, max(1, round(drivers))))
    return rows


def load_into(connection: Any) -> float:
    """Create the lakegate catalog and its two tables; returns the seconds it took.

    `connection` is a duckdb.DuckDBPyConnection (typed loosely so runtime code can
    import this module without DuckDB installed)."""
    started = time.perf_counter()
    connection.execute("ATTACH IF NOT EXISTS ':memory:' AS lakegate")
    connection.execute("CREATE SCHEMA IF NOT EXISTS lakegate.dmv")
    connection.execute("CREATE SCHEMA IF NOT EXISTS lakegate.test")
    connection.execute(
        f"CREATE OR REPLACE TABLE {TABLE} ("
        "year INTEGER NOT NULL, state VARCHAR NOT NULL, cohort VARCHAR NOT NULL, "
        "gender VARCHAR NOT NULL, drivers BIGINT NOT NULL)"
    )
    columns = list(zip(*generate_rows(), strict=True))
    # One statement with five list parameters unnested side by side: a columnar bulk
    # insert, ~100x faster than executemany and without pandas or Arrow.
    connection.execute(
        f"INSERT INTO {TABLE} SELECT UNNEST($1::INTEGER[]), UNNEST($2::VARCHAR[]), "
        "UNNEST($3::VARCHAR[]), UNNEST($4::VARCHAR[]), UNNEST($5::BIGINT[])",
        [list(column) for column in columns],
    )
    _load_crashes(connection)
    _load_all_types(connection)
    _load_bench_views(connection)
    return time.perf_counter() - started


def _load_crashes(connection: Any) -> None:
    connection.execute("CREATE SCHEMA IF NOT EXISTS lakegate.safety")
    states = ", ".join(
        f"('{name}', {weight}, {index})"
        for index, (name, weight) in enumerate(STATE_WEIGHTS.items())
    )
    first, end = CRASH_DAYS
    # Noise from integer hashes of (day, state): deterministic everywhere, unlike random().
    connection.execute(
        f"""
        CREATE OR REPLACE TABLE {CRASHES_TABLE} AS
        WITH days AS (
            SELECT CAST(d AS DATE) AS crash_date, CAST(row_number() OVER (ORDER BY d) AS BIGINT) AS i
            FROM range(DATE '{first}', DATE '{end}', INTERVAL 1 DAY) AS r(d)
        ), states(state, weight, j) AS (VALUES {states})
        SELECT
            crash_date,
            state,
            CAST(round(weight * {CRASHES_PER_MILLION}
                * (1 + 0.15 * sin(2 * pi() * dayofyear(crash_date) / 365.25))
                * CASE WHEN isodow(crash_date) >= 6 THEN 1.12 ELSE 1.0 END
                * (0.85 + ((i * 7919 + j * 104729) % 1000) / 3333.0)) AS INTEGER) AS crashes,
            -- About one state-day in 53 is not rated yet, one in 61 never revised: NULLs
            -- for sorts, filters and aggregates to meet.
            CASE WHEN (i * 31 + j * 17) % 53 = 0 THEN NULL
                ELSE CAST(0.4 + ((i * 104723 + j * 7927) % 1000) / 800.0 AS DECIMAL(6,3))
            END AS fatality_rate,
            isodow(crash_date) >= 6 AS weekend,
            CASE WHEN (i + 3 * j) % 61 = 0 THEN NULL
                ELSE timezone('UTC', CAST(crash_date AS TIMESTAMP) + INTERVAL 30 HOUR
                    + to_minutes(CAST((i + j) % 120 AS BIGINT)))
            END AS updated_at
        FROM days CROSS JOIN states
        ORDER BY crash_date, state
        """
    )


def _load_bench_views(connection: Any) -> None:
    connection.execute("CREATE SCHEMA IF NOT EXISTS lakegate.bench")
    connection.execute(
        f"CREATE OR REPLACE VIEW {BENCH_CRASHES_VIEW} AS "
        f"SELECT c.*, CAST(n AS INTEGER) AS copy_no FROM {CRASHES_TABLE} AS c "
        f"CROSS JOIN range({BENCH_COPIES}) AS r(n)"
    )


def _load_all_types(connection: Any) -> None:
    connection.execute(
        f"CREATE OR REPLACE TABLE {ALL_TYPES_TABLE} ("
        "id INTEGER, c_boolean BOOLEAN, c_tinyint TINYINT, c_smallint SMALLINT, "
        "c_int INTEGER, c_bigint BIGINT, c_float FLOAT, c_double DOUBLE, "
        "c_decimal DECIMAL(10,2), c_string VARCHAR, c_date DATE, c_timestamp_ntz TIMESTAMP, "
        "c_timestamp TIMESTAMPTZ, c_binary BLOB, c_array INTEGER[], "
        "c_map MAP(VARCHAR, INTEGER), c_struct STRUCT(a INTEGER, b VARCHAR), c_interval INTERVAL)"
    )
    connection.execute(
        f"INSERT INTO {ALL_TYPES_TABLE} VALUES "
        "(1, true, -8, 300, 70000, 9000000000, 1.5, 2.25, 12345678.90, 'Grüße, \"quoted\"', "
        "DATE '2016-02-29', TIMESTAMP '2016-02-29 13:45:30.123', "
        "TIMESTAMPTZ '2016-02-29 13:45:30.5+00', '\\x00\\xFFlake'::BLOB, [1, 2, NULL], "
        "MAP {'a': 1, 'b': 2}, {'a': 7, 'b': 'seven'}, "
        "INTERVAL '1 day 2 hours 3 minutes 4.5 seconds'), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
        "NULL, NULL, NULL, NULL)"
    )
