"""run_arrow: EXTERNAL_LINKS + ARROW_STREAM against the emulator, its storage and its faults."""

from __future__ import annotations

import io

import pytest
import requests
from polars.testing import assert_frame_equal

from handler.errors import ShapingError, WarehouseRejected, WarehouseTimeout
from handler.shaping import to_frame
from handler.warehouse import Deadline, Parameter, Statement, WarehouseClient
from handler.warehouse.auth import StaticToken
from handler.warehouse.links import DOWNLOAD_ATTEMPTS, LINK_REFRESHES, Downloads
from handler.warehouse.wire import ExternalLink
from local.emulator import Emulator
from local.sample_data import ALL_TYPES_TABLE, TABLE
from tests.handler.warehouse.conftest import (
    FakeTime,
    Pauses,
    client_for,
    faults,
    settings_for,
    stats,
)
from tests.handler.warehouse.test_client import YEAR_2016

ALL_TYPES = Statement(f"SELECT * FROM {ALL_TYPES_TABLE} ORDER BY id")
ALL_TYPE_COLUMNS = [
    "c_boolean", "c_tinyint", "c_smallint", "c_int", "c_bigint", "c_float", "c_double",
    "c_decimal", "c_string", "c_date", "c_timestamp_ntz", "c_timestamp", "c_binary",
    "c_array", "c_map", "c_struct", "c_interval",
]  # fmt: skip
DRIVERS = Statement(f"SELECT * FROM {TABLE} ORDER BY state, year, cohort, gender")


# --- the same frame as INLINE + JSON_ARRAY -------------------------------------------


@pytest.mark.parametrize("column", ALL_TYPE_COLUMNS)
def test_every_type_gives_the_frame_json_array_gives(emulator: Emulator, column: str) -> None:
    statement = Statement(f"SELECT id, {column} FROM {ALL_TYPES_TABLE} ORDER BY id")
    client = client_for(emulator)
    arrow = client.run_arrow(statement, Deadline.after(10))
    assert_frame_equal(arrow.frame, to_frame(client.run(statement, Deadline.after(10))))


def test_the_drivers_table_in_many_chunks_gives_the_same_frame(emulator: Emulator) -> None:
    client = client_for(emulator)
    arrow = client.run_arrow(YEAR_2016, Deadline.after(20))
    inline = client.run(YEAR_2016, Deadline.after(20))
    assert arrow.columns == inline.columns and arrow.statement_id
    assert_frame_equal(arrow.frame, to_frame(inline))
    counted = stats(emulator)
    assert counted["link_downloads"] == counted["links_issued"] == 20  # one per chunk
    assert counted["link_downloads_refused"] == 0, "no bearer token went to the storage"


def test_the_whole_drivers_table_and_all_types_at_once(emulator: Emulator) -> None:
    client = client_for(emulator)
    for statement in (DRIVERS, ALL_TYPES):
        inline = to_frame(client.run(statement, Deadline.after(30)))
        assert_frame_equal(client.run_arrow(statement, Deadline.after(30)).frame, inline)


def test_an_empty_result_is_an_empty_typed_frame(emulator: Emulator) -> None:
    statement = Statement(
        f"SELECT * FROM {ALL_TYPES_TABLE} WHERE id = :id", (Parameter("id", "99", "INT"),)
    )
    client = client_for(emulator)
    arrow = client.run_arrow(statement, Deadline.after(10))
    assert arrow.frame.height == 0
    assert arrow.frame.schema == to_frame(client.run(statement, Deadline.after(10))).schema


def test_row_limit_truncation_is_reported(emulator: Emulator) -> None:
    limited = Statement(YEAR_2016.sql, YEAR_2016.parameters, row_limit=150)
    result = client_for(emulator).run_arrow(limited, Deadline.after(10))
    assert result.frame.height == 150 and result.truncated


# --- storage faults: retried within the budget, else 502 / 504 --------------------------


def test_failing_downloads_are_retried(emulator: Emulator) -> None:
    faults(emulator, link_failures_next=DOWNLOAD_ATTEMPTS - 1)
    pauses = Pauses()
    result = client_for(emulator, pauses).run_arrow(ALL_TYPES, Deadline.after(10))
    assert result.frame.height == 2
    assert len(pauses) == DOWNLOAD_ATTEMPTS - 1
    assert stats(emulator)["link_downloads"] == DOWNLOAD_ATTEMPTS


def test_a_download_that_keeps_failing_is_a_502(emulator: Emulator) -> None:
    faults(emulator, link_failures_next=DOWNLOAD_ATTEMPTS)
    with pytest.raises(WarehouseRejected) as caught:
        client_for(emulator, Pauses()).run_arrow(ALL_TYPES, Deadline.after(10))
    assert caught.value.statement_id
    assert stats(emulator)["link_downloads"] == DOWNLOAD_ATTEMPTS


def test_a_download_failing_at_the_end_of_the_budget_is_a_504(emulator: Emulator) -> None:
    fake = FakeTime()
    faults(emulator, link_failures_next=DOWNLOAD_ATTEMPTS)
    # Enough fake time to run the statement, none for a pause before another download.
    with pytest.raises(WarehouseTimeout):
        fake.client(emulator).run_arrow(ALL_TYPES, fake.deadline(0.6))


def test_an_expired_link_is_replaced_before_any_download(emulator: Emulator) -> None:
    faults(emulator, expired_links_next=1)
    result = client_for(emulator).run_arrow(ALL_TYPES, Deadline.after(10))
    assert result.frame.height == 2
    counted = stats(emulator)
    assert counted["chunk_fetches"] == 1, "a fresh link from GET .../result/chunks/0"
    assert counted["link_downloads"] == 1, "the stale link was never tried"


def test_a_link_the_storage_calls_expired_is_replaced(emulator: Emulator) -> None:
    faults(emulator, revoked_links_next=1)
    result = client_for(emulator).run_arrow(YEAR_2016, Deadline.after(10))
    assert result.frame.height == 51 * 19 * 2
    counted = stats(emulator)
    assert counted["link_downloads"] == 21 and counted["link_downloads_refused"] == 1


def test_links_that_keep_expiring_are_a_502(emulator: Emulator) -> None:
    faults(emulator, expired_links_next=100)
    with pytest.raises(WarehouseRejected):
        client_for(emulator).run_arrow(ALL_TYPES, Deadline.after(10))
    assert stats(emulator)["chunk_fetches"] == LINK_REFRESHES
    assert stats(emulator)["link_downloads"] == 0


def test_a_storage_session_with_a_bearer_token_is_refused(emulator: Emulator) -> None:
    """The control for the tests above: the storage would notice a token."""
    leaky = requests.Session()
    leaky.headers["Authorization"] = f"Bearer {emulator.config.token}"
    tokens = StaticToken(emulator.config.token)
    client = WarehouseClient(settings_for(emulator), tokens, requests.Session(), storage=leaky)
    with pytest.raises(WarehouseRejected):
        client.run_arrow(ALL_TYPES, Deadline.after(10))
    assert stats(emulator)["link_downloads_refused"] == 1


def test_no_presigned_url_reaches_a_log_line(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, every_log_line: io.StringIO
) -> None:
    faults(emulator, link_failures_next=1, revoked_links_next=1)
    client_for(emulator, Pauses()).run_arrow(ALL_TYPES, Deadline.after(10))
    logged = every_log_line.getvalue() + caplog.text
    assert "result download failed" in logged and "/__storage/" in logged
    assert "signature=" not in logged and "expires=" not in logged


# --- which links are fetched at all ----------------------------------------------------


def link(url: str) -> ExternalLink:
    return ExternalLink(external_link=url, chunk_index=0)


@pytest.mark.parametrize(
    ("url", "embedded", "fetched"),
    [
        ("https://bucket.s3.amazonaws.com/r/0?X-Amz-Signature=x", False, True),
        ("http://bucket.s3.amazonaws.com/r/0?X-Amz-Signature=x", False, False),
        ("http://127.0.0.1:8081/__storage/results/a/0?signature=x", True, True),
        ("https://user:secret@bucket.s3.amazonaws.com/r/0", False, False),
        ("ftp://bucket/r/0", True, False),
        ("/relative/r/0", True, False),
    ],
)
def test_only_https_links_are_fetched_outside_the_embedded_stack(
    url: str, embedded: bool, fetched: bool
) -> None:
    downloads = Downloads(
        requests.Session(), allow_http=embedded, connect_timeout=1, read_timeout=1
    )
    if fetched:
        downloads.check(link(url), "s1")
    else:
        with pytest.raises(WarehouseRejected):
            downloads.check(link(url), "s1")


def test_a_link_is_never_shown_by_its_model() -> None:
    shown = repr(ExternalLink(external_link="https://b/r?sig=secret", http_headers={"k": "v"}))
    assert "secret" not in shown and "'v'" not in shown


def test_an_http_link_from_an_https_workspace_is_refused_before_download(
    emulator: Emulator,
) -> None:
    client = client_for(emulator)
    client._downloads._allow_http = False  # as the client of an https workspace has it
    with pytest.raises(WarehouseRejected):
        client.run_arrow(ALL_TYPES, Deadline.after(10))
    assert stats(emulator)["link_downloads"] == 0


def test_a_file_that_is_not_arrow_is_a_502(emulator: Emulator) -> None:
    faults(emulator, garbage_body="file")
    with pytest.raises(ShapingError) as caught:
        client_for(emulator).run_arrow(ALL_TYPES, Deadline.after(10))
    assert caught.value.statement_id


@pytest.mark.parametrize("how", ["reset", "garbled"])
def test_a_download_cut_short_is_tried_again(emulator: Emulator, how: str) -> None:
    faults(emulator, broken_answer=how, broken_call="file", broken_next=1)
    pauses = Pauses()
    result = client_for(emulator, pauses).run_arrow(ALL_TYPES, Deadline.after(10))
    assert result.frame.height == 2
    assert stats(emulator)["link_downloads"] == 2 and len(pauses) == 1
