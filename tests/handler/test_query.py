"""Query parsing: every parameter is validated, and every refusal names the parameter."""

import datetime as dt

import pytest

from handler.catalogue import Dataset, load_catalogue
from handler.errors import BadRequest, NotAcceptable
from handler.query import Condition, Query, negotiate, parse_query

_DRIVERS = load_catalogue().get("drivers")
assert _DRIVERS is not None
DRIVERS: Dataset = _DRIVERS  # narrowed once, for the functions below


def values(query: Query) -> dict[str, object]:
    return {c.parameter: c.value for c in query.filters}


def refused(raw: str, accept: str | None = None, dataset: Dataset = DRIVERS) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_query(dataset, raw, accept)
    return caught.value


def test_the_articles_example_is_typed_and_case_folded() -> None:
    query = parse_query(DRIVERS, "state=California&year=2016")
    assert query.filters == (Condition("state", "eq", "california"), Condition("year", "eq", 2016))
    assert query.fields == DRIVERS.column_names
    assert (query.limit, query.offset, query.format) == (1000, 0, "json")


def test_parameter_order_does_not_matter() -> None:
    assert parse_query(DRIVERS, "year=2016&state=Texas") == parse_query(
        DRIVERS, "state=TEXAS&year=2016"
    )


def test_projection_paging_and_format() -> None:
    query = parse_query(DRIVERS, "fields=state,drivers&limit=10&offset=20&format=csv")
    assert query.fields == ("state", "drivers")
    assert (query.limit, query.offset, query.format) == (10, 20, "csv")


def test_repeated_fields_keep_their_first_position() -> None:
    assert parse_query(DRIVERS, "fields=state,year,state").fields == ("state", "year")


def test_percent_encoded_values_are_decoded() -> None:
    query = parse_query(DRIVERS, "state=New%20York")
    assert query.filters == (Condition("state", "eq", "new york"),)


@pytest.mark.parametrize(
    ("raw", "parameter", "code"),
    [
        ("year=16", "year", "invalid_parameter"),
        ("year=1899", "year", "invalid_parameter"),
        ("year=20166", "year", "invalid_parameter"),
        ("year=abcd", "year", "invalid_parameter"),
        ("year=", "year", "invalid_parameter"),
        ("year=2016&year=2017", "year", "repeated_parameter"),
        ("state=a&state=b", "state", "repeated_parameter"),
        ("state=" + "x" * 65, "state", "invalid_parameter"),
        ("colour=red", "colour", "unknown_parameter"),
        ("YEAR=2016", "YEAR", "unknown_parameter"),
        ("limit=0", "limit", "invalid_parameter"),
        ("limit=5001", "limit", "invalid_parameter"),
        ("limit=-1", "limit", "invalid_parameter"),
        ("limit=1e3", "limit", "invalid_parameter"),
        ("offset=-5", "offset", "invalid_parameter"),
        ("offset=99999999999", "offset", "invalid_parameter"),
        ("fields=year,secret_column", "fields", "invalid_parameter"),
        ("fields=", "fields", "invalid_parameter"),
        ("format=xml", "format", "invalid_parameter"),
    ],
)
def test_bad_parameters_are_refused_by_name(raw: str, parameter: str, code: str) -> None:
    error = refused(raw)
    assert (error.parameter, error.code) == (parameter, code)
    assert parameter in error.message


def test_accept_header_selects_csv_unless_format_says_otherwise() -> None:
    assert parse_query(DRIVERS, "", "text/csv").format == "csv"
    assert parse_query(DRIVERS, "format=json", "text/csv").format == "json"
    assert parse_query(DRIVERS, "", "application/json, text/csv;q=0.5").format == "json"
    assert parse_query(DRIVERS, "", "text/html,*/*;q=0.8").format == "json"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "json"),
        ("", "json"),
        ("*/*", "json"),
        ("text/*", "csv"),
        ("text/csv;q=0.9, application/json;q=0.1", "csv"),
        ("application/json;q=0", "csv"),
    ],
)
def test_negotiation(accept: str | None, expected: str) -> None:
    if accept == "application/json;q=0":
        with pytest.raises(NotAcceptable):
            negotiate(accept)
        return
    assert negotiate(accept) == expected


def test_nothing_acceptable_is_406() -> None:
    with pytest.raises(NotAcceptable):
        parse_query(DRIVERS, "", "application/xml")


TYPED = Dataset.model_validate(
    {
        "name": "typed",
        "title": "Every filter type",
        "table": "c.s.t",
        "columns": [{"name": "c", "source": "c", "type": "number"}],
        "filters": [
            {"name": "n", "column": "c", "type": "number", "minimum": 0, "maximum": 10},
            {"name": "i", "column": "c", "type": "integer", "minimum": 1},
            {"name": "d", "column": "c", "type": "date"},
        ],
        "limit": {"default": 10, "maximum": 100},
        "freshness": {"ttl_seconds": 60},
    }
)


def typed(raw: str) -> object:
    name = raw.partition("=")[0]
    return values(parse_query(TYPED, raw))[name]


def test_filter_types_ranges_and_dates() -> None:
    assert typed("n=2.5") == 2.5
    for bad in ("11", "-1", "nan", "inf", "x", "1_0", " 2"):
        assert refused(f"n={bad}", dataset=TYPED).parameter == "n"
    assert typed("i=%2B7") == 7
    for bad in ("0", "1.0", "%207", "7%20", "1e3"):
        assert refused(f"i={bad}", dataset=TYPED).parameter == "i"
    assert typed("d=2016-02-29") == dt.date(2016, 2, 29)
    for bad in ("2015-02-29", "20160229", "2016-W01-1", "2016-02-29T00:00"):
        assert refused(f"d={bad}", dataset=TYPED).parameter == "d"


@pytest.mark.parametrize(
    "raw",
    ["state=%zz", "state=%4", "state=%ff", "state=Cali%C3", "%zz=1", "state=a%"],
)
def test_malformed_percent_encoding_and_utf8_are_refused_by_name(raw: str) -> None:
    error = refused(raw)
    assert error.code == "malformed_parameter"
    assert error.parameter is not None and error.parameter in error.message


def test_plus_is_a_space_and_utf8_is_decoded() -> None:
    assert values(parse_query(DRIVERS, "state=New+York"))["state"] == "new york"
    assert values(parse_query(DRIVERS, "state=Cura%C3%A7ao"))["state"] == "curaçao"


def test_too_many_parameters_says_so() -> None:
    error = refused("&".join(f"p{i}=1" for i in range(65)))
    assert error.code == "too_many_parameters"
    assert "Too many query parameters" in error.message and "64" in error.message


def test_an_overlong_parameter_name_is_not_echoed_in_full() -> None:
    name = "x" * 5000
    error = refused(f"{name}=1")
    assert error.parameter is not None and len(error.parameter) == 64
    assert name not in error.message
