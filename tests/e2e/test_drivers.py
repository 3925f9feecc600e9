"""GET /v1/drivers end to end: HTTP → Function URL event → handler → emulator → HTTP."""

import csv
import gzip
import io
import itertools
from urllib.parse import urljoin

import pytest
import requests

from local.stack import EmbeddedStack
from tests.e2e.conftest import statements

COHORTS = [
    "Under 16",
    "16",
    "17",
    "18",
    "19",
    "20-24",
    "25-29",
    "30-34",
    "35-39",
    "40-44",
    "45-49",
    "50-54",
    "55-59",
    "60-64",
    "65-69",
    "70-74",
    "75-79",
    "80-84",
    "85+",
]


def test_the_articles_example_returns_every_cohort_and_gender(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    response = api.get(f"{stack.url}/v1/drivers?state=California&year=2016")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    rows = response.json()
    assert isinstance(rows, list) and len(rows) == len(COHORTS) * 2
    assert {(r["cohort"], r["gender"]) for r in rows} == set(
        itertools.product(COHORTS, ["Male", "Female"])
    )
    for row in rows:
        assert list(row) == ["year", "state", "cohort", "gender", "drivers"]
        assert row["year"] == 2016 and row["state"] == "California"
        assert isinstance(row["drivers"], int) and row["drivers"] > 0
    assert "Link" not in response.headers
    assert statements(stack) == 1


def test_state_matches_case_insensitively(stack: EmbeddedStack, api: requests.Session) -> None:
    upper = api.get(f"{stack.url}/v1/drivers?state=CALIFORNIA&year=2016").json()
    assert upper == api.get(f"{stack.url}/v1/drivers?state=california&year=2016").json()
    assert len(upper) == 38


def test_responses_are_gzipped_for_clients_that_ask(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    url = f"{stack.url}/v1/drivers?state=Texas&year=2010"
    raw = api.get(url, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert raw.headers["Content-Encoding"] == "gzip"
    packed = raw.raw.read(decode_content=False)
    plain = api.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(packed) == plain.content


def test_csv_by_parameter_or_accept_header(stack: EmbeddedStack, api: requests.Session) -> None:
    url = f"{stack.url}/v1/drivers?state=Ohio&year=2000"
    by_parameter = api.get(f"{url}&format=csv")
    by_header = api.get(url, headers={"Accept": "text/csv"})
    assert by_parameter.headers["Content-Type"].startswith("text/csv")
    assert by_parameter.text == by_header.text
    table = list(csv.DictReader(io.StringIO(by_parameter.text)))
    assert len(table) == 38 and set(table[0]) == {"year", "state", "cohort", "gender", "drivers"}
    assert table[0]["year"] == "2000"


def test_fields_project_columns_in_the_order_asked(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    rows = api.get(f"{stack.url}/v1/drivers?state=Utah&year=2005&fields=drivers,cohort").json()
    assert len(rows) == 38 and all(list(r) == ["drivers", "cohort"] for r in rows)


def test_pages_link_to_the_next_until_the_end(stack: EmbeddedStack, api: requests.Session) -> None:
    url: str | None = f"{stack.url}/v1/drivers?state=Iowa&limit=100"
    seen: list[tuple[int, str, str]] = []
    pages = 0
    while url is not None and pages < 20:
        response = api.get(url)
        assert response.status_code == 200
        seen += [(r["year"], r["cohort"], r["gender"]) for r in response.json()]
        pages += 1
        url = urljoin(url, response.links["next"]["url"]) if "next" in response.links else None
    assert url is None, "pagination ends"
    assert len(seen) == 25 * 38 and len(set(seen)) == len(seen)
    assert pages == 10


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("year=16", "year"),
        ("year=2016&year=2017", "year"),
        ("state=a&state=b", "state"),
        ("state=" + "x" * 65, "state"),
        ("bogus=1", "bogus"),
        ("limit=5001", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("fields=year,password", "fields"),
        ("format=xml", "format"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    stack: EmbeddedStack, api: requests.Session, query: str, parameter: str
) -> None:
    response = api.get(f"{stack.url}/v1/drivers?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["parameter"] == parameter and error["code"] and error["message"]
    assert response.headers["Cache-Control"] == "no-store"
    assert statements(stack) == 0, "bad input never reaches the warehouse"


def test_unknown_routes_are_404(stack: EmbeddedStack, api: requests.Session) -> None:
    response = api.get(f"{stack.url}/v1/nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_health_and_openapi(stack: EmbeddedStack, api: requests.Session) -> None:
    assert api.get(f"{stack.url}/healthz").json() == {"status": "ok"}
    page = api.get(f"{stack.url}/swagger")
    assert page.status_code == 200 and "swagger-ui" in page.text.lower()
    document = api.get(f"{stack.url}/swagger?format=json").json()
    operation = document["paths"]["/v1/drivers"]["get"]
    names = {p["name"]: p for p in operation["parameters"]}
    assert set(names) == {
        *("year", "year[gt]", "year[gte]", "year[lt]", "year[lte]", "year[in]"),
        *("state", "state[in]", "cohort", "cohort[in]"),
        *("fields", "group_by", "measures", "sort", "limit", "offset", "format"),
    }
    assert names["year"]["schema"] == {"type": "integer", "minimum": 1900, "maximum": 2100}
    assert names["state"]["schema"]["maxLength"] == 64
    assert names["limit"]["schema"]["maximum"] == 5000
    assert {"200", "400", "502", "503", "504"} <= set(operation["responses"])
    row = operation["responses"]["200"]["content"]["application/json"]["schema"]["items"]
    assert set(row["properties"]) == {
        "year",
        "state",
        "cohort",
        "gender",
        "drivers",
        "total_drivers",
    }


def test_head_answers_what_get_would_without_a_body(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    path = f"{stack.url}/v1/drivers?state=Alabama&year=2012"
    got = api.get(path, headers={"Accept-Encoding": "identity"})
    head = api.head(path, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["ETag"] == got.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(got.content))
    assert head.headers["Cache-Status"].startswith("lakegate; hit")
    refused = api.head(f"{stack.url}/v1/drivers?stat=Alabama")
    assert refused.status_code == 400 and refused.content == b""
