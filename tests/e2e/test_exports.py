"""Exports on the embedded stack: up to `export.maximum_rows` rows in one answer.

This stack sends at most 4,000 bytes in line (LAKEGATE_INLINE_RESPONSE_MAX_BYTES), so
small exports take the path a large one takes in Lambda: the answer is stored in the
cache bucket (moto) and answered 303 with a presigned URL, which a plain HTTP client
follows to the whole body. A second request is a hit that answers the redirect without
a statement. Without the bucket, a large answer is a 503 with Retry-After, never a
truncated body; a download link that fails is retried within the budget, and past it
the answer is a 502 with nothing stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import boto3
import orjson
import polars as pl
import pytest
import requests

from handler.warehouse.links import DOWNLOAD_ATTEMPTS
from local.aws import CACHE_BUCKET, REGION
from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tests.e2e.conftest import STATEMENT_PATH, set_faults, statements

INLINE_MAX = 4_000
OHIO_DAYS = 5_844  # 2010-01-01 to 2025-12-31


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=10, chunk_rows=2_000),
        admin=False,
        environment={
            "LAKEGATE_INLINE_RESPONSE_MAX_BYTES": str(INLINE_MAX),
            # A failed statement does not hold its key failing: the retry below runs at once.
            "LAKEGATE_ERROR_HOLD_SECONDS": "0",
            # Every export below runs its own statement (EXTERNAL_LINKS): tests/e2e/
            # test_rollups.py covers exports derived from a roll-up.
            **STATEMENT_PATH,
        },
    )
    with EmbeddedStack(config) as running:
        yield running


def get(api: requests.Session, stack: EmbeddedStack, query: str) -> requests.Response:
    return api.get(
        f"{stack.url}/v1/crashes?{query}",
        headers={"Accept-Encoding": "gzip"},
        allow_redirects=False,
        timeout=30,
    )


def followed(answer: requests.Response) -> requests.Response:
    assert answer.status_code == 303, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    assert not answer.content
    # What a browser does with the Location: a plain GET, no credentials, no headers.
    download = requests.get(answer.headers["Location"], timeout=30)
    assert download.status_code == 200
    return download


def test_a_large_csv_export_is_a_303_to_the_whole_body_and_then_a_hit(
    api: requests.Session, stack: EmbeddedStack
) -> None:
    query = "state[in]=Ohio,Texas&limit=20000&format=csv&date[lte]=2025-12-31"
    before = statements(stack)
    first = get(api, stack, query)
    download = followed(first)
    assert first.headers["Cache-Status"] == "lakegate; fwd=miss; stored"
    assert first.headers["X-Row-Count"] == str(2 * OHIO_DAYS)
    assert download.headers["Content-Type"].startswith("text/csv")
    assert download.headers["Content-Disposition"] == 'attachment; filename="crashes.csv"'
    assert ".csv?" in first.headers["Location"], "the object is named by its format"
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 2 * OHIO_DAYS
    assert {row["state"] for row in rows} == {"Ohio", "Texas"}
    assert rows[0] == {
        "date": "2010-01-01",
        "state": "Ohio",
        "crashes": rows[0]["crashes"],
        "fatality_rate": rows[0]["fatality_rate"],
        "weekend": "false",
        "updated_at": rows[0]["updated_at"],
    }
    assert statements(stack) == before + 1

    again = get(api, stack, query)
    assert again.headers["Cache-Status"].startswith("lakegate; hit")
    assert followed(again).content == download.content
    assert statements(stack) == before + 1  # the hit never reached the warehouse


def test_a_parquet_export_downloads_as_a_parquet_file(
    api: requests.Session, stack: EmbeddedStack
) -> None:
    download = followed(get(api, stack, "state=ohio&limit=10000&format=parquet"))
    assert download.headers["Content-Type"] == "application/vnd.apache.parquet"
    assert download.headers["Content-Disposition"] == 'attachment; filename="crashes.parquet"'
    frame = pl.read_parquet(io.BytesIO(download.content))
    assert frame.height == OHIO_DAYS
    assert frame.schema["fatality_rate"] == pl.Decimal(6, 3)
    assert frame.schema["date"] == pl.Date
    assert frame["state"].unique().to_list() == ["Ohio"]


def test_a_json_export_downloads_as_json(api: requests.Session, stack: EmbeddedStack) -> None:
    download = followed(get(api, stack, "state=Ohio&limit=6000&format=json"))
    rows = orjson.loads(download.content)
    assert len(rows) == OHIO_DAYS
    assert rows[0]["date"] == "2010-01-01"


def test_a_small_answer_is_still_sent_in_line(api: requests.Session, stack: EmbeddedStack) -> None:
    page = get(api, stack, "state=Ohio&limit=3&format=csv")
    assert page.status_code == 200
    assert len(page.text.splitlines()) == 4
    parquet = get(api, stack, "state=Ohio&limit=3&format=parquet")
    assert parquet.status_code == 200
    assert pl.read_parquet(io.BytesIO(parquet.content)).height == 3


def test_an_export_above_its_maximum_or_without_a_format_is_a_400_naming_limit(
    api: requests.Session, stack: EmbeddedStack
) -> None:
    for query, code in (
        ("limit=1000001&format=csv", "invalid_parameter"),
        ("limit=20000", "conflicting_parameters"),
    ):
        answer = get(api, stack, query)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert (error["code"], error["parameter"]) == (code, "limit")


@pytest.mark.parametrize(
    ("fault", "state"),
    [("link_failures_next", "Texas"), ("expired_links_next", "Maine")],
)
def test_link_failures_and_expiries_within_the_budget_are_retried(
    api: requests.Session, stack: EmbeddedStack, fault: str, state: str
) -> None:
    set_faults(stack, **{fault: DOWNLOAD_ATTEMPTS - 1})
    answer = get(api, stack, f"state={state}&limit=7000&format=csv")
    assert len(followed(answer).text.splitlines()) == OHIO_DAYS + 1


def test_an_export_with_more_rows_links_its_next_part(
    api: requests.Session, stack: EmbeddedStack
) -> None:
    answer = get(api, stack, "state=Ohio&limit=5001&format=csv")
    assert answer.headers["Link"] == (
        '</v1/crashes?state=Ohio&limit=5001&format=csv&offset=5001>; rel="next"'
    )
    assert len(followed(answer).text.splitlines()) == 5001 + 1


def test_links_that_keep_failing_are_a_502_and_nothing_is_stored(
    api: requests.Session, stack: EmbeddedStack
) -> None:
    query = "state=Utah&limit=7000&format=csv"
    set_faults(stack, link_failures_next=1_000)
    failed = get(api, stack, query)
    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "warehouse_error"
    set_faults(stack, link_failures_next=0)
    retried = get(api, stack, query)
    assert retried.headers["Cache-Status"] == "lakegate; fwd=miss; stored"  # not a hit
    assert len(followed(retried).text.splitlines()) == OHIO_DAYS + 1


def test_without_the_bucket_a_large_answer_is_a_503_with_retry_after(
    api: requests.Session, stack: EmbeddedStack
) -> None:
    assert stack.moto is not None
    s3 = boto3.client("s3", endpoint_url=stack.moto.url, region_name=REGION)
    for listed in s3.list_objects_v2(Bucket=CACHE_BUCKET).get("Contents", []):
        s3.delete_object(Bucket=CACHE_BUCKET, Key=listed["Key"])
    s3.delete_bucket(Bucket=CACHE_BUCKET)
    try:
        query = "state=Iowa&limit=7000&format=csv"
        answer = get(api, stack, query)
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "cache_unavailable"
        assert int(answer.headers["Retry-After"]) > 0
        small = get(api, stack, "state=Iowa&limit=2&format=csv")
        assert small.status_code == 200  # answers sent in line never need the bucket
    finally:
        s3.create_bucket(Bucket=CACHE_BUCKET)
    assert followed(get(api, stack, query)).text.count("\n") == OHIO_DAYS + 1
