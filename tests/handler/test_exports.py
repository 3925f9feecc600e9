"""Exports: a dataset that declares `export: {maximum_rows: N}` answers up to N rows at once.

A `limit` above the page maximum is an export and must name its `format` (json, csv or
parquet); `format=parquet` is always one; above N is a 400 naming `limit`. Pages are as
they were. An answer too large for a Lambda response is a 303 to a presigned URL, never
stored by a downstream cache.
"""

from __future__ import annotations

import io
from decimal import Decimal

import polars as pl
import pytest
from pydantic import ValidationError

from cache import Entry, Outcome, Served
from handler.cache_headers import by_reference_headers
from handler.catalogue import Catalogue, load_catalogue
from handler.combinations import COMBINATION_CODES
from handler.encoding import to_parquet
from handler.errors import BadRequest
from handler.parameters import parameters_of
from handler.query import parse_query
from handler.responses import see_other
from handler.result import ResultColumn, StatementResult
from handler.shaping import to_frame

CATALOGUE = load_catalogue()
CRASHES = CATALOGUE.get("crashes")
DRIVERS = CATALOGUE.get("drivers")
assert CRASHES is not None and DRIVERS is not None and CRASHES.export is not None


def refused(raw: str, dataset: object = CRASHES) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_query(dataset, raw)  # type: ignore[arg-type]
    return caught.value


# ------------------------------------------------------------------------------ the catalogue


def test_crashes_declares_an_export_of_a_million_rows_and_drivers_none() -> None:
    assert CRASHES is not None and CRASHES.export is not None
    assert CRASHES.export.maximum_rows == 1_000_000
    assert DRIVERS is not None and DRIVERS.export is None


def test_an_export_smaller_than_a_page_is_refused_naming_the_field() -> None:
    raw = CRASHES.model_dump(mode="json")  # type: ignore[union-attr]
    raw["export"] = {"maximum_rows": raw["limit"]["maximum"] - 1}
    with pytest.raises(ValidationError, match=r"export\.maximum_rows is below limit\.maximum"):
        Catalogue.model_validate({"version": 1, "datasets": [raw]})


def test_declaring_an_export_changes_the_digest_and_not_declaring_one_keeps_it() -> None:
    assert DRIVERS is not None and CRASHES is not None
    without = Catalogue.model_validate(
        {"version": 1, "datasets": [CRASHES.model_dump(mode="json") | {"export": None}]}
    ).datasets[0]
    assert without.digest != CRASHES.digest
    # ... and one without keeps the digest from before exports existed: the pinned
    # canonical form (tests/cache/test_keys.py) holds a declaration digest of that age.


# ------------------------------------------------------------------------------ the requests


def test_a_page_is_not_an_export() -> None:
    query = parse_query(CRASHES, "limit=5000&format=csv")  # type: ignore[arg-type]
    assert not query.export and query.limit == 5000


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_a_limit_above_the_page_maximum_with_a_format_is_an_export(fmt: str) -> None:
    query = parse_query(CRASHES, f"limit=1000000&format={fmt}")  # type: ignore[arg-type]
    assert query.export and query.limit == 1_000_000 and query.format == fmt


def test_parquet_is_an_export_whatever_the_limit() -> None:
    query = parse_query(CRASHES, "format=parquet")  # type: ignore[arg-type]
    assert query.export and query.limit == 1000


def test_an_export_without_a_format_is_refused_naming_limit() -> None:
    problem = refused("limit=5001")
    assert (problem.code, problem.parameter) == ("conflicting_parameters", "limit")
    assert problem.code in COMBINATION_CODES
    assert "format" in problem.message


def test_a_limit_above_the_exports_maximum_is_refused_naming_limit() -> None:
    problem = refused("limit=1000001&format=csv")
    assert (problem.code, problem.parameter) == ("invalid_parameter", "limit")
    assert "1000000" in problem.message


def test_a_dataset_without_an_export_keeps_its_page_bounds_and_formats() -> None:
    assert refused("limit=5001&format=csv", DRIVERS).parameter == "limit"
    assert refused("format=parquet", DRIVERS).parameter == "format"


def test_the_published_schema_says_what_the_parser_accepts() -> None:
    assert CRASHES is not None and DRIVERS is not None
    crashes = parameters_of(CRASHES).json_schema()
    assert crashes["limit"]["maximum"] == 1_000_000
    assert crashes["format"]["enum"] == ["json", "csv", "parquet"]
    assert "export" in crashes["limit"]["description"]
    drivers = parameters_of(DRIVERS).json_schema()
    assert drivers["limit"]["maximum"] == 5000
    assert drivers["format"]["enum"] == ["json", "csv"]


def test_an_export_and_a_page_of_the_same_rows_have_different_keys() -> None:
    assert CRASHES is not None
    export = parse_query(CRASHES, "limit=6000&format=csv")
    page = parse_query(CRASHES, "limit=5000&format=csv")
    assert export.canonical(CRASHES, 1) != page.canonical(CRASHES, 1)


# ------------------------------------------------------------------------------ parquet


def test_parquet_keeps_the_shaped_types() -> None:
    columns = (
        ResultColumn("state", "STRING", "STRING"),
        ResultColumn("rate", "DECIMAL", "DECIMAL(6,3)", 6, 3),
        ResultColumn("updated_at", "TIMESTAMP", "TIMESTAMP"),
        ResultColumn("tags", "ARRAY", "ARRAY<STRING>"),
    )
    rows: list[list[str | None]] = [
        ["Ohio", "1.250", "2024-01-31T13:45:00.000Z", '["a"]'],
        [None, None, None, None],
    ]
    frame = to_frame(StatementResult("s", columns, rows))
    read = pl.read_parquet(io.BytesIO(to_parquet(frame)))
    assert read.columns == ["state", "rate", "updated_at", "tags"]
    assert read.schema["rate"] == pl.Decimal(6, 3)
    assert read.schema["updated_at"] == pl.Datetime("us", "UTC")
    assert read["rate"].to_list() == [Decimal("1.250"), None]
    assert read["tags"].to_list() == ['["a"]', None]  # JSON text, as CSV writes it


# ------------------------------------------------------------------------------ the redirect


def test_an_answer_by_reference_is_a_303_that_nobody_stores() -> None:
    entry = Entry("k", 0, None, "text/csv", '"e"', 0, 600_000, 4_200_000, 7, False, "results/k")
    served = Served(entry, b"", Outcome.HIT, 1_000, location="https://bucket.s3/results/k?sig")
    response = see_other("https://bucket.s3/results/k?sig", by_reference_headers(served))
    assert response.status_code == 303
    assert response.headers["Location"] == "https://bucket.s3/results/k?sig"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Row-Count"] == "7"
    assert str(response.headers["Cache-Status"]).startswith("lakegate; hit")
    assert "ETag" not in response.headers and not response.body
