"""EXTERNAL_LINKS on the emulator: presigned files in three formats, served like cloud storage."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import polars as pl
import pytest
import requests

from local.emulator import Emulator, EmulatorConfig, queries
from local.emulator.__main__ import parse_args
from local.emulator.storage import Storage
from tests.local.emulator.calls import faults, poll, run, stats

YEAR_2016 = (
    "SELECT state, cohort, gender, drivers FROM lakegate.dmv.licensed_drivers "
    "WHERE year = 2016 ORDER BY state, cohort, gender"
)
ALL_TYPES = "SELECT * FROM lakegate.test.all_types ORDER BY id"
LINKS = {"disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM"}


def chunk_links(
    emulator: Emulator, http: requests.Session, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every chunk's link, following next_chunk_index as a client would."""
    links = list(body["result"]["external_links"])
    while "next_chunk_index" in links[-1]:
        path = links[-1]["next_chunk_internal_link"]
        chunk = http.get(f"{emulator.url}{path}", timeout=5).json()
        assert set(chunk) == {"external_links"}
        links.extend(chunk["external_links"])
    return links


def download(link: dict[str, Any]) -> requests.Response:
    # The storage is reached like S3: a bare GET, no bearer token.
    return requests.get(link["external_link"], timeout=5)


def test_arrow_stream_links_cover_the_inline_rows(
    emulator: Emulator, http: requests.Session
) -> None:
    inline = run(emulator, http, YEAR_2016)
    inline_rows = [row for row in inline["result"]["data_array"]]
    next_index = inline["result"].get("next_chunk_index")
    while next_index is not None:
        chunk = http.get(
            f"{emulator.url}/api/2.0/sql/statements/{inline['statement_id']}/result/chunks/{next_index}",
            timeout=5,
        ).json()
        inline_rows.extend(chunk["data_array"])
        next_index = chunk.get("next_chunk_index")

    body = run(emulator, http, YEAR_2016, **LINKS)
    manifest = body["manifest"]
    assert manifest["format"] == "ARROW_STREAM"
    assert manifest["schema"] == inline["manifest"]["schema"]
    links = chunk_links(emulator, http, body)
    assert [link["chunk_index"] for link in links] == list(range(20))
    assert [link["row_offset"] for link in links] == [i * 100 for i in range(20)]
    files = [download(link) for link in links]
    assert all(f.status_code == 200 for f in files)
    assert {f.headers["Content-Type"] for f in files} == {"application/vnd.apache.arrow.stream"}
    assert [len(f.content) for f in files] == [c["byte_count"] for c in manifest["chunks"]]
    assert manifest["total_byte_count"] == sum(len(f.content) for f in files)
    frame = pl.concat([pl.read_ipc_stream(f.content) for f in files])
    assert frame.height == manifest["total_row_count"] == len(inline_rows)
    as_text = frame.with_columns(pl.col("drivers").cast(pl.String)).rows()
    assert [list(row) for row in as_text] == inline_rows


def test_arrow_types_are_what_databricks_sends(emulator: Emulator, http: requests.Session) -> None:
    body = run(emulator, http, ALL_TYPES, **LINKS)
    frame = pl.read_ipc_stream(download(body["result"]["external_links"][0]).content)
    assert dict(frame.schema) == {
        "id": pl.Int32,
        "c_boolean": pl.Boolean,
        "c_tinyint": pl.Int8,
        "c_smallint": pl.Int16,
        "c_int": pl.Int32,
        "c_bigint": pl.Int64,
        "c_float": pl.Float32,
        "c_double": pl.Float64,
        "c_decimal": pl.Decimal(10, 2),
        "c_string": pl.String,
        "c_date": pl.Date,
        "c_timestamp_ntz": pl.Datetime("us"),
        "c_timestamp": pl.Datetime("us", "Etc/UTC"),
        "c_binary": pl.Binary,
        # Complex and interval types come as the JSON_ARRAY text (the drivers' default).
        "c_array": pl.String,
        "c_map": pl.String,
        "c_struct": pl.String,
        "c_interval": pl.String,
    }
    first = frame.row(0, named=True)
    assert str(first["c_decimal"]) == "12345678.90"
    assert first["c_binary"] == b"\x00\xfflake"
    assert first["c_struct"] == '{"a":7,"b":"seven"}'
    assert first["c_interval"] == "1 02:03:04.500000000"
    assert frame.row(1) == (2,) + (None,) * 17


def test_csv_files_carry_the_header_once_and_null_as_text(
    emulator: Emulator, http: requests.Session
) -> None:
    body = run(emulator, http, YEAR_2016, disposition="EXTERNAL_LINKS", format="CSV")
    assert body["manifest"]["format"] == "CSV"
    files = [download(link) for link in chunk_links(emulator, http, body)]
    assert {f.headers["Content-Type"] for f in files} == {"text/csv"}
    first, second = (list(csv.reader(io.StringIO(f.content.decode()))) for f in files[:2])
    assert first[0] == ["state", "cohort", "gender", "drivers"]
    assert len(first) == 101 and len(second) == 100 and second[0] != first[0]
    nulls = run(emulator, http, ALL_TYPES, disposition="EXTERNAL_LINKS", format="CSV")
    text = download(nulls["result"]["external_links"][0]).content.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[2] == ["2"] + ["null"] * 17
    assert rows[1][9] == 'Grüße, "quoted"'


def test_json_array_files_hold_the_data_array(emulator: Emulator, http: requests.Session) -> None:
    inline = run(emulator, http, ALL_TYPES)
    body = run(emulator, http, ALL_TYPES, disposition="EXTERNAL_LINKS", format="JSON_ARRAY")
    assert body["manifest"]["format"] == "JSON_ARRAY"
    file = download(body["result"]["external_links"][0])
    assert json.loads(file.content) == inline["result"]["data_array"]


def test_an_empty_result_has_no_links(emulator: Emulator, http: requests.Session) -> None:
    body = run(emulator, http, YEAR_2016.replace("2016", "1900"), **LINKS)
    assert body["manifest"]["total_row_count"] == 0 and "result" not in body


def test_a_request_carrying_a_bearer_token_is_refused_as_s3_would(
    emulator: Emulator, http: requests.Session
) -> None:
    link = run(emulator, http, ALL_TYPES, **LINKS)["result"]["external_links"][0]
    refused = http.get(link["external_link"], timeout=5)  # the session sends Authorization
    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "application/xml"
    assert "<Code>InvalidArgument</Code>" in refused.text
    assert download(link).status_code == 200
    counted = stats(emulator)
    assert (counted["link_downloads"], counted["link_downloads_refused"]) == (2, 1)
    assert counted["requests"] == 1, "storage downloads are not API calls"


def test_a_tampered_link_is_refused(emulator: Emulator, http: requests.Session) -> None:
    link = run(emulator, http, ALL_TYPES, **LINKS)["result"]["external_links"][0]["external_link"]
    for tampered in (
        link.replace("/0?", "/1?"),
        link.replace("expires=", "expires=9"),
        link.split("&signature=")[0],
    ):
        refused = requests.get(tampered, timeout=5)
        assert refused.status_code == 403
        assert "<Code>SignatureDoesNotMatch</Code>" in refused.text


def test_an_expired_link_is_refused_and_a_chunk_fetch_signs_a_fresh_one(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, expired_links_next=1)
    body = run(emulator, http, ALL_TYPES, **LINKS)
    stale = body["result"]["external_links"][0]
    refused = download(stale)
    assert refused.status_code == 403 and "Request has expired" in refused.text
    path = f"/api/2.0/sql/statements/{body['statement_id']}/result/chunks/0"
    fresh = http.get(f"{emulator.url}{path}", timeout=5).json()["external_links"][0]
    assert fresh["expiration"] > stale["expiration"]
    assert download(fresh).status_code == 200
    assert stats(emulator)["links_issued"] == 2


def test_link_faults_fail_the_next_downloads(emulator: Emulator, http: requests.Session) -> None:
    link = run(emulator, http, ALL_TYPES, **LINKS)["result"]["external_links"][0]
    faults(emulator, link_failures_next=2, revoked_links_next=1)
    statuses = [download(link).status_code for _ in range(4)]
    assert statuses == [500, 500, 403, 200]
    assert stats(emulator)["link_downloads_refused"] == 3


def test_a_closed_result_has_no_file() -> None:
    config = EmulatorConfig(latency_ms=0, result_ttl_s=0.05)
    with Emulator(config) as emulator, requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {config.token}"
        body = run(emulator, http, ALL_TYPES, **LINKS)
        link = body["result"]["external_links"][0]
        _, seen = poll(emulator, http, body["statement_id"], until={"CLOSED"})
        assert seen[-1] == "CLOSED"
        missing = download(link)
        assert missing.status_code == 404 and "<Code>NoSuchKey</Code>" in missing.text


def test_links_expire_after_their_lifetime() -> None:
    now = [1_700_000_000.0]
    storage = Storage(link_ttl_s=900.0, clock=lambda: now[0])
    signed = storage.presign("http://emu", "abc", 3, expired=False)
    assert signed["expiration"] == "2023-11-14T22:28:20.000Z"
    path, query = signed["external_link"].removeprefix("http://emu").split("?")
    assert storage.check(path, query, {}) is None
    now[0] += 900.0
    refused = storage.check(path, query, {})
    assert refused is not None and refused.status == 403


@pytest.mark.parametrize("name", ["link_failures_next", "expired_links_next", "revoked_links_next"])
def test_link_fault_switches_are_validated(emulator: Emulator, name: str) -> None:
    response = requests.post(f"{emulator.url}/__emulator/faults", json={name: -1}, timeout=5)
    assert response.status_code == 400
    assert emulator.faults.snapshot()[name] == 0


def test_garbage_files_are_served_on_request(emulator: Emulator, http: requests.Session) -> None:
    link = run(emulator, http, ALL_TYPES, **LINKS)["result"]["external_links"][0]
    faults(emulator, garbage_body="file")
    served = download(link)
    assert served.status_code == 200 and served.content.startswith(b"<html>")


def test_the_inline_size_cap_does_not_apply_to_links(
    emulator: Emulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "INLINE_LIMIT_BYTES", 1_000)
    assert run(emulator, http, YEAR_2016)["status"]["state"] == "FAILED"
    assert run(emulator, http, YEAR_2016, **LINKS)["status"]["state"] == "SUCCEEDED"


def test_the_link_lifetime_is_a_command_line_flag() -> None:
    assert parse_args(["--link-ttl-s", "30"]).link_ttl_s == 30.0
    assert parse_args([]).link_ttl_s == 900.0
