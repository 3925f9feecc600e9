"""Which roll-up answers a query (handler.rollups): the matching rules, one by one.

The rules follow Cube's pre-aggregation matching, made exact: every filter, group and
measure of the query must be in the roll-up at a grain it can be rolled up from, and
only re-aggregatable measures are re-aggregated. Each test names a rule and a query on
each side of it. (tests/handler/test_derivation.py proves the answers themselves.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from handler.catalogue import Dataset, load_catalogue
from handler.errors import CatalogueError
from handler.query import parse_query
from handler.rollups import MeasurePart, answering_rollup, measure_parts, parts_of, period_start
from tests.handler.rollup_catalogue import dataset, rollup_catalogue

RICH = rollup_catalogue()
DRIVERS = dataset(RICH, "drivers")
CRASHES = dataset(RICH, "crashes")


def answered_by(data: Dataset, raw: str) -> str | None:
    rollup = answering_rollup(data, parse_query(data, raw))
    return None if rollup is None else rollup.name


# ------------------------------------------------------------------------ the declaration


def test_the_packaged_catalogue_holds_each_whole_table_as_a_rollup() -> None:
    for data in load_catalogue().datasets:
        assert [(r.name, r.grain) for r in data.rollups] == [("table", "table")]
    packaged = load_catalogue()
    assert packaged.get("drivers").rollups[0].max_rows >= 48_450  # type: ignore[union-attr]
    assert packaged.get("crashes").rollups[0].max_rows >= 298_044  # type: ignore[union-attr]


def test_declaring_rollups_keeps_every_cache_key() -> None:
    """A derived answer is the warehouse's: adding a roll-up retires nothing."""
    packaged = load_catalogue().get("drivers")
    assert packaged is not None
    without = packaged.model_copy(update={"rollups": ()})
    assert packaged.digest == without.digest


def write(tmp_path: Path, rollups: list[dict[str, object]]) -> Path:
    document = load_catalogue().model_dump(mode="json")
    document["datasets"][1]["rollups"] = rollups
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("rollups", "message"),
    [
        (
            [{"name": "r", "dimensions": ["date:hour"], "max_rows": 9}],
            "cannot be grouped by 'hour'",
        ),
        ([{"name": "r", "dimensions": ["crashes"], "max_rows": 9}], "'crashes' is not a dimension"),
        ([{"name": "r", "measures": ["nothing"], "max_rows": 9}], "'nothing' is not a measure"),
        ([{"name": "r", "dimensions": ["date", "date:month"], "max_rows": 9}], "declared twice"),
        (
            [{"name": "r", "grain": "table", "dimensions": ["state"], "max_rows": 9}],
            "no dimensions",
        ),
        ([{"name": "r", "max_rows": 9}], "keeps dimensions or measures"),
        ([{"name": "r", "dimensions": ["state"], "max_rows": 0}], "max_rows"),
        ([{"name": "r", "grain": "table", "max_rows": 9}] * 2, "rollup 'r' is declared twice"),
    ],
)
def test_a_bad_rollup_is_refused_naming_the_field(
    tmp_path: Path, rollups: list[dict[str, object]], message: str
) -> None:
    """Where (the dataset, the roll-up, its field) and what, as for the rest of the catalogue."""
    with pytest.raises(CatalogueError, match=r"datasets\.1") as refused:
        load_catalogue(write(tmp_path, rollups))
    assert message in str(refused.value)
    assert "rollup" in str(refused.value)


def test_a_date_at_its_finest_grain_may_be_written_either_way(tmp_path: Path) -> None:
    path = write(tmp_path, [{"name": "r", "dimensions": ["date:day", "state"], "max_rows": 9}])
    crashes = load_catalogue(path).get("crashes")
    assert crashes is not None
    assert crashes.rollup_grains(crashes.rollups[0]) == {"date": None, "state": None}


# ---------------------------------------------------------------------------- the parts


def test_each_measure_keeps_the_parts_it_is_rebuilt_from() -> None:
    def parts(name: str) -> list[str]:
        return [p.name for p in parts_of(CRASHES.measure(name))]

    assert parts("total_crashes") == ["sum__crashes", "count__crashes"]
    assert parts("average_fatality_rate") == ["sum__fatality_rate", "count__fatality_rate"]
    assert parts("days") == ["rows__"]
    assert parts("rated_days") == ["count__fatality_rate"]
    assert parts("most_crashes") == ["max__crashes"]
    assert parts("states") == ["distinct__state"]
    shared = measure_parts(CRASHES, ["total_rate", "average_fatality_rate", "rated_days"])
    assert shared == (MeasurePart("sum", "fatality_rate"), MeasurePart("count", "fatality_rate"))


# ------------------------------------------------------------------------------ the rules


def test_the_whole_table_answers_raw_rows_and_any_measure() -> None:
    assert answered_by(DRIVERS, "state=Ohio&fields=year,drivers&sort=-drivers") == "table"
    assert answered_by(DRIVERS, "group_by=cohort&measures=total_drivers") == "table"


def test_a_grouped_rollup_answers_groups_it_keeps_and_rolls_the_rest_away() -> None:
    assert answered_by(DRIVERS, "group_by=state&measures=total_drivers") == "by_year_state_gender"
    assert answered_by(DRIVERS, "measures=total_drivers,groups") == "by_year_state_gender"
    assert answered_by(DRIVERS, "group_by=cohort&measures=total_drivers") == "table", (
        "cohort is not kept: the next roll-up"
    )


def test_raw_rows_never_come_from_a_grouped_rollup() -> None:
    assert answered_by(DRIVERS, "year=2016&state=ohio") == "table"


def test_every_filter_must_be_on_a_kept_column() -> None:
    assert answered_by(DRIVERS, "group_by=year&measures=total_drivers&state[in]=ohio,utah") == (
        "by_year_state_gender"
    )
    assert answered_by(DRIVERS, "group_by=year&measures=total_drivers&cohort=16") == "table"


def test_a_period_rolls_up_to_coarser_ones_but_a_month_never_to_a_week() -> None:
    for coarser in ("date:month", "date:quarter", "date:year"):
        raw = f"group_by={coarser}&measures=total_crashes"
        assert answered_by(CRASHES, raw) == "monthly", coarser
    assert answered_by(CRASHES, "group_by=date:week&measures=total_crashes") == "table"
    assert answered_by(CRASHES, "group_by=date&measures=total_crashes") == "table"


@pytest.mark.parametrize(
    ("bounds", "rollup"),
    [
        ("date[gte]=2024-01-01&date[lte]=2024-03-31", "monthly"),
        ("date[gte]=2024-04-01", "monthly"),
        ("date[gt]=2024-03-31", "monthly"),  # the same bound, written exclusively
        ("date[lt]=2024-04-01", "monthly"),
        ("date[gte]=2024-01-15", "table"),
        ("date[lte]=2024-03-30", "table"),
        ("date=2024-03-01", "table"),
    ],
)
def test_a_date_filter_on_a_period_must_select_whole_periods(bounds: str, rollup: str) -> None:
    assert answered_by(CRASHES, f"group_by=state&measures=total_crashes&{bounds}") == rollup


def test_min_max_and_averages_re_aggregate_but_a_distinct_count_needs_its_exact_groups() -> None:
    rich = "group_by=year&measures=smallest_group,largest_group,average_group"
    assert answered_by(DRIVERS, rich) == "by_year_state_gender"
    exact = "group_by=year,state,gender&measures=cohorts"
    assert answered_by(DRIVERS, exact) == "by_year_state_gender"
    assert answered_by(DRIVERS, f"{exact}&year[gte]=2010&state=ohio") == "by_year_state_gender"
    assert answered_by(DRIVERS, "group_by=year,state&measures=cohorts") == "table"


def test_a_measure_the_rollup_does_not_keep_sends_the_query_on() -> None:
    assert answered_by(CRASHES, "group_by=state&measures=states") == "table"


def test_an_export_larger_than_every_rollup_goes_to_the_warehouse() -> None:
    packaged = load_catalogue().get("crashes")
    assert packaged is not None
    within = parse_query(packaged, "limit=400000&format=csv")
    beyond = parse_query(packaged, "limit=400001&format=csv")
    assert answering_rollup(packaged, within) is not None
    assert answering_rollup(packaged, beyond) is None


def test_without_rollups_nothing_is_derived() -> None:
    bare = DRIVERS.model_copy(update={"rollups": ()})
    assert answering_rollup(bare, parse_query(bare, "year=2016")) is None


@pytest.mark.parametrize(
    ("day", "period", "start"),
    [
        ("2024-03-14", "week", "2024-03-11"),  # a Thursday; weeks start on Monday
        ("2024-03-14", "month", "2024-03-01"),
        ("2024-08-14", "quarter", "2024-07-01"),
        ("2024-08-14", "year", "2024-01-01"),
        ("2024-08-14", "day", "2024-08-14"),
    ],
)
def test_periods_start_where_date_trunc_starts_them(day: str, period: str, start: str) -> None:
    assert period_start(dt.date.fromisoformat(day), period) == dt.date.fromisoformat(start)  # type: ignore[arg-type]
