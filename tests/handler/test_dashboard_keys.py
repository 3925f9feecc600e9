"""Cache keys of dashboard queries, judged by their results on the sample data.

Hypothesis writes dashboard requests (ranges, lists, groups, measures, sorts) and
spells each one again in an equivalent way (items reordered, repeated and re-cased,
`gt` for `gte`, sorts completed by hand). Equivalent spellings must share a key, and two
requests that share a key must get the same rows: each statement is translated by the
emulator and run on DuckDB over the real sample tables, so "the same rows" is measured,
not assumed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache import cache_key
from handler.catalogue import Dataset, load_catalogue
from handler.query import parse_query
from handler.sql import build_statement
from local import sample_data
from local.emulator.parameters import parse_parameters
from local.emulator.translate import register_functions, translate

pytestmark = pytest.mark.slow  # it loads the sample tables and runs ~200 statements

CATALOGUE = load_catalogue()
_DRIVERS = CATALOGUE.get("drivers")
assert _DRIVERS is not None
DRIVERS: Dataset = _DRIVERS  # narrowed once, for the functions below
YEARS = ("2009", "2010", "2012", "2016")
STATES = ("Ohio", "Texas", "Maine", "Utah")


@pytest.fixture(scope="module")
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    register_functions(connection)  # Databricks' lower(), as the emulator has it
    sample_data.load_into(connection)
    yield connection
    connection.close()


def rows(connection: duckdb.DuckDBPyConnection, dataset: Dataset, raw: str) -> list[Any]:
    statement = build_statement(dataset, parse_query(dataset, raw))
    declared = parse_parameters(
        [{"name": p.name, "value": p.value, "type": p.type} for p in statement.parameters]
    )
    translated = translate(statement.sql, declared)
    return connection.execute(translated.sql, translated.values).fetchall()


def key(dataset: Dataset, raw: str) -> str:
    return cache_key(parse_query(dataset, raw).canonical(dataset, CATALOGUE.version))


@st.composite
def dashboard_request(draw: st.DrawFn) -> dict[str, list[str]]:
    """A valid drivers request as name → items (a scalar is a one-item list)."""
    request: dict[str, list[str]] = {}
    year = draw(st.sampled_from(["", "eq", "in", "range"]))
    if year == "eq":
        request["year"] = [draw(st.sampled_from(YEARS))]
    elif year == "in":
        request["year[in]"] = draw(st.lists(st.sampled_from(YEARS), min_size=1, max_size=3))
    elif year == "range":
        low, high = sorted(draw(st.lists(st.sampled_from(YEARS), min_size=2, max_size=2)))
        request["year[gte]"], request["year[lte]"] = [low], [high]
    if draw(st.booleans()):
        request["state[in]"] = draw(st.lists(st.sampled_from(STATES), min_size=1, max_size=3))
    grouped = draw(st.lists(st.sampled_from(["year", "state", "gender"]), max_size=2, unique=True))
    measured = draw(st.booleans())
    if grouped:
        request["group_by"] = grouped
    if measured:
        request["measures"] = ["total_drivers"]
    keys = (
        [*grouped, *(["total_drivers"] if measured else [])]
        if grouped
        else ([] if measured else ["year", "state", "drivers"])
    )
    # bool(): after `keys and`, mypy would infer draw() against the type of `keys`.
    if bool(keys) and draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
        request["sort"] = [f"-{k}" if draw(st.booleans()) else k for k in chosen]
    request["limit"] = [str(draw(st.sampled_from([3, 20])))]
    return request


def spelled(request: dict[str, list[str]], rng: random.Random) -> str:
    """`request` as a query string, its parameters in a random order."""
    pairs = [f"{name}={quote(','.join(items), safe=',')}" for name, items in request.items()]
    rng.shuffle(pairs)
    return "&".join(pairs)


def equivalent(request: dict[str, list[str]], rng: random.Random) -> dict[str, list[str]]:
    """The same question asked another way."""
    again = {name: list(items) for name, items in request.items()}
    for name in ("year[in]", "state[in]", "group_by", "measures"):
        if name in again:
            items = again[name] + [rng.choice(again[name])]  # one repeated
            rng.shuffle(items)
            again[name] = items
    if "state[in]" in again:
        again["state[in]"] = [s.upper() if rng.random() < 0.5 else s for s in again["state[in]"]]
    if "year[gte]" in again:
        again["year[gt]"] = [str(int(again.pop("year[gte]")[0]) - 1)]
    if "year[in]" in again and len(set(again["year[in]"])) == 1:
        again["year"] = [again.pop("year[in]")[0]]
    if "sort" not in again and "group_by" not in again and "measures" not in again:
        again["sort"] = ["year", "state", "cohort", "gender"]  # the default order, written out
    return again


@settings(max_examples=60, deadline=None, database=None)
@given(dashboard_request(), st.randoms(use_true_random=False))
def test_equivalent_dashboard_requests_share_a_key(
    request: dict[str, list[str]], rng: random.Random
) -> None:
    assert key(DRIVERS, spelled(equivalent(request, rng), rng)) == key(
        DRIVERS, spelled(request, rng)
    )


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(dashboard_request(), min_size=2, max_size=2), st.randoms(use_true_random=False))
def test_requests_that_share_a_key_get_the_same_rows(
    warehouse: duckdb.DuckDBPyConnection,
    pair: list[dict[str, list[str]]],
    rng: random.Random,
) -> None:
    first, second = (spelled(request, rng) for request in pair)
    twin = spelled(equivalent(pair[0], rng), rng)
    assert rows(warehouse, DRIVERS, twin) == rows(warehouse, DRIVERS, first)
    if key(DRIVERS, first) == key(DRIVERS, second):
        assert rows(warehouse, DRIVERS, first) == rows(warehouse, DRIVERS, second)


def test_requests_with_different_rows_have_different_keys(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    variants = [
        "group_by=state&measures=total_drivers&year=2016",
        "group_by=state&measures=total_drivers&year[gte]=2016",
        "group_by=state&measures=total_drivers&year=2016&sort=-total_drivers",
        "group_by=state&year=2016",
        "measures=total_drivers&year=2016",
        "group_by=state,gender&measures=total_drivers&year=2016",
        "year[in]=2015,2016&group_by=year&measures=total_drivers",
        "year[in]=2015,2016,2017&group_by=year&measures=total_drivers",
    ]
    answers = {raw: rows(warehouse, DRIVERS, raw + "&limit=60") for raw in variants}
    assert len({repr(a) for a in answers.values()}) == len(variants), "the variants differ"
    assert len({key(DRIVERS, raw + "&limit=60") for raw in variants}) == len(variants)


def test_a_map_of_2016_is_the_sum_of_its_raw_rows(warehouse: duckdb.DuckDBPyConnection) -> None:
    grouped = rows(warehouse, DRIVERS, "group_by=state&measures=total_drivers&year=2016&limit=60")
    raw = rows(warehouse, DRIVERS, "fields=state,drivers&year=2016&limit=5000")
    totals: dict[str, int] = {}
    for state, drivers in raw:
        totals[state] = totals.get(state, 0) + drivers
    assert dict(grouped) == totals and len(grouped) == 51
    assert [state for state, _ in grouped] == sorted(totals)
