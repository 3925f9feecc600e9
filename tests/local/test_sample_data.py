"""The sample dataset: deterministic, complete, plausible, and fast to load."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import duckdb
import pytest

from local.emulator.translate import translate
from local.sample_data import (
    ALL_TYPES_TABLE,
    COHORTS,
    GENDERS,
    STATE_WEIGHTS,
    TABLE,
    YEARS,
    generate_rows,
    load_into,
)

ROWS = generate_rows()


def test_the_same_rows_every_run() -> None:
    assert generate_rows() == ROWS
    assert generate_rows(seed=1) != ROWS  # the seed, not luck, fixes the numbers
    # A golden value: changing the data must be a deliberate act (other tests read it).
    assert sum(row[4] for row in ROWS) == 5_397_802_058


def test_one_row_per_year_state_cohort_and_gender() -> None:
    assert len(ROWS) == 51 * 25 * 19 * 2
    keys = Counter(row[:4] for row in ROWS)
    assert max(keys.values()) == 1
    assert {row[0] for row in ROWS} == set(range(1994, 2019)) == set(YEARS)
    assert {row[1] for row in ROWS} == set(STATE_WEIGHTS)
    assert len(STATE_WEIGHTS) == 51 and "District of Columbia" in STATE_WEIGHTS
    assert {row[2] for row in ROWS} == set(COHORTS)
    assert {row[3] for row in ROWS} == set(GENDERS) == {"Male", "Female"}


def test_cohorts_are_exactly_the_published_labels() -> None:
    assert COHORTS == [
        "Under 16", "16", "17", "18", "19", "20-24", "25-29", "30-34", "35-39", "40-44",
        "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+",
    ]  # fmt: skip


def test_california_2016_has_38_rows() -> None:
    california = [row for row in ROWS if row[1] == "California" and row[0] == 2016]
    assert len(california) == 38


def test_counts_are_plausible() -> None:
    by_key = {row[:4]: row[4] for row in ROWS}
    assert all(isinstance(row[4], int) and row[4] > 0 for row in ROWS)
    for cohort in COHORTS:  # big states have more drivers than small ones
        assert (
            by_key[(2016, "California", cohort, "Male")] > by_key[(2016, "Wyoming", cohort, "Male")]
        )
    assert (
        by_key[(2016, "Texas", "Under 16", "Female")] < by_key[(2016, "Texas", "40-44", "Female")]
    )
    totals = Counter[int]()
    for year, _state, _cohort, _gender, drivers in ROWS:
        totals[year] += drivers
    assert totals[2018] > totals[1994]  # slowly growing
    assert 150_000_000 < totals[2016] < 300_000_000  # the US has ~220 million drivers


@pytest.fixture
def database() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_load_into_creates_the_three_part_table_quickly(
    database: duckdb.DuckDBPyConnection,
) -> None:
    # Measured ~0.2 s; executemany would take ~25 s. The best of two runs and a loose
    # bound keep a busy CI machine from failing the test while still catching that.
    seconds = min(load_into(database), load_into(database))
    assert seconds < 2.0
    assert database.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone() == (len(ROWS),)
    columns = database.execute(f"DESCRIBE {TABLE}").fetchall()
    assert [(c[0], c[1]) for c in columns] == [
        ("year", "INTEGER"),
        ("state", "VARCHAR"),
        ("cohort", "VARCHAR"),
        ("gender", "VARCHAR"),
        ("drivers", "BIGINT"),
    ]
    stored = database.execute(f"SELECT * FROM {TABLE} ORDER BY ALL").fetchall()
    assert stored == sorted(ROWS)


def test_the_three_part_name_survives_the_databricks_translation(
    database: duckdb.DuckDBPyConnection,
) -> None:
    load_into(database)
    translated = translate(
        "SELECT COUNT(*) FROM `lakegate`.dmv.licensed_drivers WHERE year = 2016", {}
    )
    assert database.execute(translated.sql, translated.values).fetchone() == (51 * 19 * 2,)


def test_all_types_has_a_full_row_and_a_null_row(database: duckdb.DuckDBPyConnection) -> None:
    load_into(database)
    full, empty = database.execute(f"SELECT * FROM {ALL_TYPES_TABLE} ORDER BY id").fetchall()
    assert None not in full
    assert empty[0] == 2 and set(empty[1:]) == {None}
    assert len(full) == 18  # id + 17 types
