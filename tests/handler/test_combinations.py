"""How parameters combine: filter forms, lists, ranges, aggregates and sorting.

Each value is judged alone by the parameter model; these are the rules for values that
are each valid but must agree, and the canonical form equivalent requests end in.
"""

from __future__ import annotations

import datetime as dt

import pytest

from handler.catalogue import Dataset, load_catalogue
from handler.errors import BadRequest
from handler.query import Condition, Query, parse_query


def _dataset(name: str) -> Dataset:
    dataset = load_catalogue().get(name)
    assert dataset is not None
    return dataset


DRIVERS = _dataset("drivers")
CRASHES = _dataset("crashes")


def query(raw: str, dataset: Dataset = DRIVERS) -> Query:
    return parse_query(dataset, raw)


def refused(raw: str, dataset: Dataset = DRIVERS) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_query(dataset, raw)
    return caught.value


# --- filter forms ------------------------------------------------------------------


def test_a_range_is_two_conditions_on_one_filter() -> None:
    assert query("year[gte]=2010&year[lte]=2016").filters == (
        Condition("year", "gte", 2010),
        Condition("year", "lte", 2016),
    )


def test_exclusive_integer_and_date_bounds_become_inclusive_ones() -> None:
    assert query("year[gt]=2009&year[lt]=2017") == query("year[gte]=2010&year[lte]=2016")
    assert query("date[gt]=2023-12-31", CRASHES) == query("date[gte]=2024-01-01", CRASHES)
    assert query("date[lt]=2024-03-01", CRASHES).filters == (
        Condition("date", "lte", dt.date(2024, 2, 29)),
    )


def test_equal_bounds_are_an_equality_and_a_one_item_list_too() -> None:
    assert query("year[gte]=2016&year[lte]=2016") == query("year=2016")
    assert query("year[in]=2016") == query("year=2016")
    assert query("state[in]=Ohio,OHIO") == query("state=ohio")


def test_list_items_are_sorted_folded_and_kept_once() -> None:
    assert query("state[in]=Texas,ohio,TEXAS").filters == (
        Condition("state", "in", ("ohio", "texas")),
    )
    assert query("year[in]=2016,2010,%2B2010").filters == (Condition("year", "in", (2010, 2016)),)


@pytest.mark.parametrize(
    ("raw", "parameter"),
    [
        ("year=2016&year[gte]=2010", "year[gte]"),
        ("year[in]=2016,2017&year[lte]=2010", "year[lte]"),
        ("year=2016&year[in]=2016", "year[in]"),
        ("year[gt]=2010&year[gte]=2011", "year[gte]"),
        ("year[lt]=2010&year[lte]=2011", "year[lte]"),
    ],
)
def test_forms_that_contradict_or_repeat_each_other_are_refused(raw: str, parameter: str) -> None:
    error = refused(raw)
    assert (error.code, error.parameter) == ("conflicting_parameters", parameter)
    assert parameter in error.message


@pytest.mark.parametrize(
    ("raw", "parameter"),
    [
        ("year[gte]=2017&year[lte]=2016", "year[gte]"),
        ("year[gt]=2015&year[lt]=2016", "year[gt]"),
        ("year[gt]=2016&year[lte]=2016", "year[gt]"),
    ],
)
def test_bounds_no_value_can_satisfy_are_refused_naming_the_lower(raw: str, parameter: str) -> None:
    error = refused(raw)
    assert (error.code, error.parameter) == ("empty_range", parameter)


def test_an_exclusive_bound_at_the_end_of_the_calendar_stays_exclusive() -> None:
    assert query("date[gt]=9999-12-31", CRASHES).filters == (
        Condition("date", "gt", dt.date(9999, 12, 31)),
    )


def test_too_many_list_items_an_empty_item_and_an_unknown_operator_are_refused() -> None:
    too_many = ",".join(str(2000 + i) for i in range(31))
    assert refused(f"year[in]={too_many}").parameter == "year[in]"
    assert "up to 30 values" in refused(f"year[in]={too_many}").message
    assert refused("state[in]=Ohio,,Texas").parameter == "state[in]"
    assert refused("year[between]=1").code == "unknown_parameter"
    assert refused("gender[in]=Male").code == "unknown_parameter"  # not a declared form
    assert refused("state[gte]=Ohio").code == "unknown_parameter"  # strings have no ranges


# --- aggregates ----------------------------------------------------------------------


def test_group_by_and_measures_are_kept_in_catalogue_order() -> None:
    grouped = query("group_by=state,year&measures=total_drivers")
    assert (grouped.group_by, grouped.measures, grouped.fields) == (
        ("year", "state"),
        ("total_drivers",),
        (),
    )
    assert grouped == query("group_by=year,state,year&measures=total_drivers")
    assert query("measures=days,total_crashes", CRASHES).measures == ("total_crashes", "days")


def test_grouped_rows_are_ordered_by_their_group_unless_sorted() -> None:
    assert query("group_by=state,year").sort == ("year", "state")
    assert query("group_by=state&measures=total_drivers&sort=-total_drivers").sort == (
        "-total_drivers",
        "state",
    )
    # Measures alone are one row: there is nothing to order.
    assert query("measures=total_drivers&sort=-total_drivers").sort == ()


def test_fields_apply_to_raw_rows_only() -> None:
    for raw in ("fields=year&group_by=state", "fields=year&measures=total_drivers"):
        error = refused(raw)
        assert (error.code, error.parameter) == ("conflicting_parameters", "fields")


def test_a_date_is_grouped_one_way_at_a_time() -> None:
    assert query("group_by=date:month,state", CRASHES).group_by == ("date:month", "state")
    error = refused("group_by=date,date:month", CRASHES)
    assert (error.code, error.parameter) == ("conflicting_parameters", "group_by")


def test_unknown_dimensions_and_measures_are_refused_by_name() -> None:
    assert refused("group_by=drivers").parameter == "group_by"  # a measure's column
    assert refused("measures=sum_drivers").parameter == "measures"
    assert refused("group_by=year:month").parameter == "group_by"  # year has no periods


# --- sorting -------------------------------------------------------------------------


def test_raw_rows_sort_then_break_ties_on_the_row_key() -> None:
    assert query("").sort == ("year", "state", "cohort", "gender")
    assert query("sort=-drivers").sort == ("-drivers", "year", "state", "cohort", "gender")
    assert query("sort=state,-year").sort == ("state", "-year", "cohort", "gender")


def test_sorts_that_order_alike_are_one_query() -> None:
    assert query("sort=year,state,cohort,gender") == query("")
    assert query("sort=year,-year") == query("sort=year")
    # Once the row key is complete, later keys change nothing.
    assert query("sort=year,state,cohort,gender,-drivers") == query("")


def test_sort_names_only_what_the_rows_hold() -> None:
    error = refused("sort=total_drivers")
    assert (error.code, error.parameter) == ("unsortable", "sort")
    assert "year, state, cohort, gender, drivers" in error.message
    assert refused("group_by=state&sort=year").code == "unsortable"
    assert refused("measures=total_drivers&sort=state").code == "unsortable"
    assert refused("sort=bogus").code == "invalid_parameter"
