"""Dashboard panels end to end: ranges, lists, aggregates, periods and sorting over HTTP.

Through the embedded stack (Function URL stand-in → handler → emulator on DuckDB), on
both sample datasets: a map of 2016 in one request, a trend over a range for a list of
states, a monthly series of crashes, and the second dataset's types over the wire.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

from local.stack import EmbeddedStack
from tests.e2e.conftest import statements


def get(api: requests.Session, stack: EmbeddedStack, path: str) -> requests.Response:
    return api.get(f"{stack.url}{path}")


def test_a_map_of_2016_is_one_request_with_one_row_per_state(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    grouped = get(api, stack, "/v1/drivers?year=2016&group_by=state&measures=total_drivers")
    assert grouped.status_code == 200
    rows = grouped.json()
    assert len(rows) == 51 and set(rows[0]) == {"state", "total_drivers"}
    raw = get(api, stack, "/v1/drivers?year=2016&fields=state,drivers&limit=5000").json()
    totals: dict[str, int] = {}
    for row in raw:
        totals[row["state"]] = totals.get(row["state"], 0) + row["drivers"]
    assert {r["state"]: r["total_drivers"] for r in rows} == totals


def test_a_trend_for_three_states_is_one_request(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    answer = get(
        api,
        stack,
        "/v1/drivers?year%5Bgte%5D=2010&year%5Blte%5D=2016&state%5Bin%5D=Ohio,texas,Maine"
        "&group_by=state,year&measures=total_drivers",
    )
    assert answer.status_code == 200
    rows = answer.json()
    assert len(rows) == 21
    assert [(r["year"], r["state"]) for r in rows[:3]] == [
        (2010, "Maine"),
        (2010, "Ohio"),
        (2010, "Texas"),
    ], "in catalogue order (year, then state), whatever order group_by named them"


def test_equivalent_spellings_cost_one_statement(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    base = "/v1/drivers?group_by=gender&measures=total_drivers&year%5Bin%5D="
    first = get(api, stack, base + "2011,2013")
    before = statements(stack)
    for spelling in ("2013,2011", "2011,2013,2011", "2013,%2B2011"):
        again = get(api, stack, base + spelling)
        assert again.json() == first.json()
    assert statements(stack) == before, "each spelling was a cache hit"


def test_a_sorted_aggregate_pages_deterministically(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    path = "/v1/drivers?group_by=state,gender&measures=total_drivers&sort=-total_drivers&limit=40"
    seen: list[tuple[str, str]] = []
    values: list[int] = []
    while path:
        answer = get(api, stack, path)
        assert answer.status_code == 200
        seen += [(r["state"], r["gender"]) for r in answer.json()]
        values += [r["total_drivers"] for r in answer.json()]
        following = answer.links.get("next", {}).get("url")
        path = urljoin("/v1/drivers", following) if following else ""
        if following:
            assert dict(parse_qsl(urlsplit(following).query))["sort"] == "-total_drivers"
    assert len(seen) == len(set(seen)) == 102, "every group once, across pages"
    assert values == sorted(values, reverse=True)


def test_a_monthly_crash_series_with_measures_of_every_type(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    answer = get(
        api,
        stack,
        "/v1/crashes?date%5Bgte%5D=2024-01-01&date%5Blt%5D=2024-04-01&state=ohio"
        "&group_by=date:month&measures=total_crashes,average_fatality_rate,days",
    )
    assert answer.status_code == 200
    rows = answer.json()
    assert [r["date_month"] for r in rows] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert [r["days"] for r in rows] == [31, 29, 31]
    for row in rows:
        assert isinstance(row["total_crashes"], int) and row["total_crashes"] > 0
        assert isinstance(row["average_fatality_rate"], float)


def test_the_crashes_types_travel_as_the_api_documents_them(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    (row,) = get(api, stack, "/v1/crashes?date=2024-03-03&state=Utah").json()
    assert row["date"] == "2024-03-03"
    assert row["weekend"] is True, "3 March 2024 was a Sunday"
    assert isinstance(row["crashes"], int)
    whole, _, decimals = row["fatality_rate"].partition(".")
    assert whole.isdigit() and len(decimals) == 3, "DECIMAL(6,3) as text, three decimals"
    assert row["updated_at"].endswith("Z") and row["updated_at"].startswith("2024-03-04T")
    csv_answer = get(api, stack, "/v1/crashes?date=2024-03-03&state=Utah&format=csv")
    (record,) = csv.DictReader(io.StringIO(csv_answer.text))
    assert record["weekend"] == "true" and record["fatality_rate"] == row["fatality_rate"]


def test_nulls_travel_as_null_in_json_and_empty_in_csv(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    """Utah's 2 March 2024 is neither rated nor revised in the sample data."""
    (row,) = get(api, stack, "/v1/crashes?date=2024-03-02&state=Utah").json()
    assert row["fatality_rate"] is None and row["updated_at"] is None
    csv_answer = get(api, stack, "/v1/crashes?date=2024-03-02&state=Utah&format=csv")
    (record,) = csv.DictReader(io.StringIO(csv_answer.text))
    assert record["fatality_rate"] == "" and record["updated_at"] == ""


def test_bad_combinations_are_400s_naming_the_parameter(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    cases = {
        "/v1/drivers?year%5Bgte%5D=2017&year%5Blte%5D=2016": ("empty_range", "year[gte]"),
        "/v1/drivers?year=2016&year%5Bgte%5D=2010": ("conflicting_parameters", "year[gte]"),
        "/v1/drivers?fields=year&group_by=state": ("conflicting_parameters", "fields"),
        "/v1/drivers?sort=total_drivers": ("unsortable", "sort"),
        "/v1/drivers?year%5Bbetween%5D=1": ("unknown_parameter", "year[between]"),
        "/v1/crashes?group_by=date,date:year": ("conflicting_parameters", "group_by"),
        "/v1/crashes?state%5Bin%5D=" + ",".join(["x"] * 52): ("invalid_parameter", "state[in]"),
    }
    for path, (code, parameter) in cases.items():
        answer = get(api, stack, path)
        assert answer.status_code == 400, path
        error = answer.json()["error"]
        assert (error["code"], error["parameter"]) == (code, parameter), path
