"""The wrong-answer check: right rows pass, wrong rows, fields, counts and answered refusals fail."""

import orjson
import pytest

from handler.catalogue import Dataset, load_catalogue
from loadtests.answers import Answers, Requested, check_rows, parse_rows, tally
from loadtests.samples import Sample

JSON = "application/json"
CSV = "text/csv; charset=utf-8; header=present"
ALL = ("year", "state", "cohort", "gender", "drivers")


@pytest.fixture(scope="module")
def answers() -> Answers:
    dataset = load_catalogue().get("drivers")
    assert dataset is not None
    return Answers(dataset)


def row(year: int = 2016, state: str = "Ohio", **rest: object) -> dict[str, object]:
    return {"year": year, "state": state, "cohort": "16", "gender": "Female", "drivers": 7, **rest}


def body(rows: list[dict[str, object]]) -> bytes:
    return orjson.dumps(rows)


def test_the_right_rows_pass(answers: Answers) -> None:
    url = "/v1/drivers?state=OHIO&year=2016"
    assert answers.wrong(url, 200, JSON, body([row(), row()]), refused=False) is None
    assert answers.wrong(url, 200, JSON, b"[]", refused=False) is None  # nothing matched


def test_a_state_is_matched_case_insensitively_and_a_year_as_a_number(answers: Answers) -> None:
    url = "/v1/drivers?state=new+YORK&year=%2B02016"
    rows = [row(state="New York"), row(state="new york")]
    assert answers.wrong(url, 200, JSON, body(rows), refused=False) is None


@pytest.mark.parametrize(
    ("url", "rows", "problem"),
    [
        ("/v1/drivers?year=2016", [row(), row(year=2015)], "row 1 has year 2015, not 2016"),
        ("/v1/drivers?state=ohio", [row(state="Iowa")], "row 0 has state 'Iowa', not 'ohio'"),
        ("/v1/drivers?fields=year,drivers", [row()], "row 0 has fields cohort,drivers,gender"),
        ("/v1/drivers?year=2016&limit=1", [row(), row()], "2 rows for limit=1"),
    ],
)
def test_wrong_rows_are_flagged(
    answers: Answers, url: str, rows: list[dict[str, object]], problem: str
) -> None:
    wrong = answers.wrong(url, 200, JSON, body(rows), refused=False)
    assert wrong is not None and wrong.startswith(problem)


def test_only_the_requested_fields_in_any_order(answers: Answers) -> None:
    url = "/v1/drivers?fields=drivers,year,drivers&year=2016"
    assert answers.wrong(url, 200, JSON, b'[{"year":2016,"drivers":3}]', refused=False) is None
    missing = answers.wrong(url, 200, JSON, b'[{"year":2016}]', refused=False)
    assert missing == "row 0 has fields year"


def test_the_default_limit_is_the_catalogues(answers: Answers) -> None:
    rows = [row()] * 1001
    assert answers.wrong("/v1/drivers?state=ohio", 200, JSON, body(rows), refused=False) == (
        "1001 rows for limit=1000"
    )


def test_csv_answers_are_read_too(answers: Answers) -> None:
    good = b"year,state,drivers\n2016,Ohio,3\n2016,OHIO,4\n"
    bad = b"year,state,drivers\n2016,Ohio,3\n2017,Ohio,4\n"
    url = "/v1/drivers?year=2016&state=ohio&fields=year,state,drivers&format=csv"
    assert answers.wrong(url, 200, CSV, good, refused=False) is None
    assert answers.wrong(url, 200, CSV, bad, refused=False) == "row 1 has year '2017', not 2016"


@pytest.mark.parametrize("status", [200, 304])
def test_any_answer_to_a_refused_request_is_wrong(answers: Answers, status: int) -> None:
    url = "/v1/drivers?stat=ohio&year=2016"
    assert answers.wrong(url, status, JSON, body([row()]), refused=True) == (
        f"{status} to a request that must be refused"
    )


@pytest.mark.parametrize("status", [400, 401, 429, 503, 0])
def test_refusals_and_failures_are_not_answers(answers: Answers, status: int) -> None:
    assert answers.wrong("/v1/drivers?stat=x", status, JSON, b"{}", refused=True) is None
    assert answers.wrong("/v1/drivers?year=2016", status, JSON, b"{}", refused=False) is None


def test_an_unreadable_200_is_wrong(answers: Answers) -> None:
    assert answers.wrong("/v1/drivers", 200, JSON, b"<html>", refused=False) == (
        "unreadable application/json: not JSON"
    )
    assert answers.wrong("/v1/drivers", 200, JSON, b'{"a": 1}', refused=False) == (
        "unreadable application/json: not an array of row objects"
    )


def test_other_routes_are_not_judged(answers: Answers) -> None:
    assert answers.wrong("/admin/invalidate", 200, JSON, b"{}", refused=False) is None


def test_requested_reads_the_url_as_a_form() -> None:
    dataset = load_catalogue().get("drivers")
    assert isinstance(dataset, Dataset)
    asked = Requested.from_url("/v1/drivers?state=New+York&limit=5&fields=year", dataset)
    assert asked == Requested(year=None, state="new york", fields=frozenset({"year"}), limit=5)
    assert Requested.from_url("/v1/drivers", dataset).fields == frozenset(ALL)


def test_aggregate_panels_are_held_to_their_lists_ranges_groups_and_measures() -> None:
    dataset = load_catalogue().get("drivers")
    assert isinstance(dataset, Dataset)
    trend = Requested.from_url(
        "/v1/drivers?state%5Bin%5D=Ohio,Texas&year%5Bgt%5D=2009&year%5Blte%5D=2016"
        "&group_by=state,year&measures=total_drivers",
        dataset,
    )
    assert trend.fields == frozenset({"state", "year", "total_drivers"})
    good = [{"year": 2010, "state": "Ohio", "total_drivers": 7}]
    assert check_rows(trend, good) is None
    assert check_rows(trend, [{**good[0], "year": 2009}]) == (
        "row 0 has year 2009, not from 2010 to 2016"
    )
    assert check_rows(trend, [{**good[0], "state": "Iowa"}]) == (
        "row 0 has state 'Iowa', not one of 'ohio', 'texas'"
    )
    assert check_rows(trend, [{"year": 2010, "state": "Ohio"}]) == "row 0 has fields state,year"
    listed = Requested.from_url(
        "/v1/drivers?year%5Bin%5D=2010,2012&measures=total_drivers", dataset
    )
    assert check_rows(listed, [{"total_drivers": 1}]) is None
    assert listed.allows_year(2012) and not listed.allows_year(2011)


def test_check_rows_and_parse_rows() -> None:
    asked = Requested(year=2016, state=None, fields=frozenset(ALL), limit=10)
    assert check_rows(asked, parse_rows(JSON, body([row(state="Iowa")]))) is None
    with pytest.raises(ValueError):
        parse_rows(JSON, b"not json")


def test_tally_counts_and_quotes_wrong_answers() -> None:
    def sample(t: float, wrong: str = "", status: int = 200) -> Sample:
        return Sample(
            t, "buster: typo", "lakegate-hit", status, 3.0, 10, f"/v1/drivers?{t}", "", wrong
        )

    summary = tally([sample(1.0), sample(2.0, "row 0 has year 2015"), sample(3.0, status=400)])
    assert summary["total"] == 1 and summary["answers_read"] == 2
    assert summary["by_route"] == {"buster: typo": 1}
    assert summary["examples"][0]["problem"] == "row 0 has year 2015"
