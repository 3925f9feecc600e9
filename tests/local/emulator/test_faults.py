"""The emulator's fault switches over real HTTP, and the counters that prove what arrived."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
import requests

from local.emulator import Emulator, InitialFaults
from tests.local.emulator.calls import (
    TERMINAL,
    execute,
    faults,
    poll,
    run,
    stats,
)

MANY_CHUNKS = "SELECT state, cohort FROM lakegate.dmv.licensed_drivers WHERE year = 2016"


def statement_url(emulator: Emulator, statement_id: str) -> str:
    return f"{emulator.url}/api/2.0/sql/statements/{statement_id}"


@pytest.mark.parametrize("retry_after", ["1", "inf", "999999", "-3", "soon"])
def test_throttle_always_answers_every_call_429_with_the_chosen_retry_after(
    emulator: Emulator, http: requests.Session, retry_after: str
) -> None:
    done = run(emulator, http, "SELECT 1")
    faults(emulator, throttle_always=True, retry_after=retry_after)
    for response in (
        execute(emulator, http, "SELECT 1"),
        http.get(statement_url(emulator, done["statement_id"]), timeout=5),
    ):
        assert response.status_code == 429
        assert response.headers["Retry-After"] == retry_after
    assert stats(emulator)["throttled"] == 2


def test_unavailable_polls_fails_only_polls(emulator: Emulator, http: requests.Session) -> None:
    faults(emulator, unavailable_polls=True)
    body = run(emulator, http, MANY_CHUNKS)
    assert body["status"]["state"] == "SUCCEEDED"
    assert http.get(statement_url(emulator, body["statement_id"]), timeout=5).status_code == 503
    chunk = http.get(f"{statement_url(emulator, body['statement_id'])}/result/chunks/1", timeout=5)
    assert chunk.status_code == 200


@pytest.mark.parametrize("call", ["execute", "poll", "chunk"])
def test_garbage_body_answers_200_with_a_body_that_is_not_json(
    emulator: Emulator, http: requests.Session, call: str
) -> None:
    body = run(emulator, http, MANY_CHUNKS)
    urls = {
        "poll": statement_url(emulator, body["statement_id"]),
        "chunk": f"{statement_url(emulator, body['statement_id'])}/result/chunks/1",
    }
    faults(emulator, garbage_body=call)
    if call == "execute":
        response = execute(emulator, http, "SELECT 1")
        assert stats(emulator)["statements_run"] == 2, "the statement was still accepted"
    else:
        response = http.get(urls[call], timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html"
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_external_links_replace_inline_rows(emulator: Emulator, http: requests.Session) -> None:
    faults(emulator, external_links=True)
    result = run(emulator, http, MANY_CHUNKS)["result"]
    assert "data_array" not in result
    assert result["external_links"][0]["external_link"].startswith("https://")


@pytest.mark.parametrize(("wrong", "field"), [("rows", "row"), ("chunks", "chunk")])
def test_wrong_counts_overstate_the_manifest(
    emulator: Emulator, http: requests.Session, wrong: str, field: str
) -> None:
    honest = run(emulator, http, MANY_CHUNKS)["manifest"]
    faults(emulator, wrong_counts=wrong)
    bent = run(emulator, http, MANY_CHUNKS)["manifest"]
    assert bent[f"total_{field}_count"] == honest[f"total_{field}_count"] + 1


def test_absent_counts_leave_both_totals_out(emulator: Emulator, http: requests.Session) -> None:
    faults(emulator, wrong_counts="absent")
    manifest = run(emulator, http, MANY_CHUNKS)["manifest"]
    assert "total_row_count" not in manifest and "total_chunk_count" not in manifest
    assert manifest["schema"]["columns"], "the rest of the manifest is as it was"


def test_chain_ends_after_drops_the_next_chunk_from_that_chunk_on(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, chain_ends_after=1)
    body = run(emulator, http, MANY_CHUNKS)
    assert body["result"]["next_chunk_index"] == 1, "chunk 0 still leads on"
    chunk = http.get(f"{statement_url(emulator, body['statement_id'])}/result/chunks/1", timeout=5)
    assert "next_chunk_index" not in chunk.json()
    assert "next_chunk_internal_link" not in chunk.json()
    assert body["manifest"]["total_chunk_count"] > 2, "while the result holds more"


@pytest.mark.parametrize(
    ("wrong", "names", "first_row"),
    [
        ("extra", ["state", "cohort", "secret"], ["Alabama", "16", "not for clients"]),
        ("upper_case", ["STATE", "COHORT"], ["Alabama", "16"]),
        ("reordered", ["cohort", "state"], ["16", "Alabama"]),
    ],
)
def test_wrong_columns_bend_the_schema_and_the_rows_alike(
    emulator: Emulator,
    http: requests.Session,
    wrong: str,
    names: list[str],
    first_row: list[str],
) -> None:
    ordered = MANY_CHUNKS + " ORDER BY state, cohort"
    faults(emulator, wrong_columns=wrong)
    body = run(emulator, http, ordered)
    columns = body["manifest"]["schema"]["columns"]
    assert [c["name"] for c in columns] == names
    assert [c["position"] for c in columns] == list(range(len(names)))
    assert body["result"]["data_array"][0] == first_row
    chunk = http.get(f"{statement_url(emulator, body['statement_id'])}/result/chunks/1", timeout=5)
    assert all(len(row) == len(names) for row in chunk.json()["data_array"])


def test_column_type_retypes_every_column(emulator: Emulator, http: requests.Session) -> None:
    faults(emulator, column_type="VARIANT")
    body = run(emulator, http, "SELECT 7 AS n, CAST(1.5 AS DECIMAL(4,2)) AS d")
    columns = body["manifest"]["schema"]["columns"]
    assert {(c["type_name"], c["type_text"]) for c in columns} == {("VARIANT", "VARIANT")}
    assert "type_precision" not in columns[1]
    assert body["result"]["data_array"] == [["7", "1.50"]]


def test_a_reset_answer_breaks_off_mid_body(emulator: Emulator, http: requests.Session) -> None:
    faults(emulator, broken_answer="reset", broken_call="execute")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        execute(emulator, http, "SELECT 1")
    assert stats(emulator)["statements_run"] == 1, "the statement was accepted"


def test_a_garbled_answer_cannot_be_decoded(emulator: Emulator, http: requests.Session) -> None:
    body = run(emulator, http, MANY_CHUNKS)
    faults(emulator, broken_answer="garbled", broken_call="poll")
    with pytest.raises(requests.exceptions.ContentDecodingError):
        http.get(statement_url(emulator, body["statement_id"]), timeout=5)
    chunk = http.get(f"{statement_url(emulator, body['statement_id'])}/result/chunks/1", timeout=5)
    assert chunk.json()["chunk_index"] == 1, "only polls break"


def test_a_dripping_answer_never_trips_a_read_timeout(
    emulator: Emulator, http: requests.Session
) -> None:
    body = run(emulator, http, MANY_CHUNKS)
    faults(emulator, broken_answer="drip", broken_call="chunk", drip_ms=100)
    url = f"{statement_url(emulator, body['statement_id'])}/result/chunks/1"
    started = time.monotonic()
    with http.get(url, timeout=(5, 0.5), stream=True) as dripping:
        assert dripping.status_code == 200, "the head comes at once"
        assert dripping.raw.read(6) == b'{"chun'  # a byte at a time, each read in time
    assert time.monotonic() - started >= 0.5, "six bytes took six pauses"


def test_broken_next_breaks_only_that_many_answers(
    emulator: Emulator, http: requests.Session
) -> None:
    body = run(emulator, http, MANY_CHUNKS)
    faults(emulator, broken_answer="reset", broken_call="chunk", broken_next=1)
    url = f"{statement_url(emulator, body['statement_id'])}/result/chunks/1"
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.get(url, timeout=5)
    assert http.get(url, timeout=5).json()["chunk_index"] == 1
    assert emulator.faults.broken_next == 0


def test_unauthenticated_next_refuses_a_valid_token(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, unauthenticated_next=1)
    refused = execute(emulator, http, "SELECT 1")
    assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHENTICATED"
    assert execute(emulator, http, "SELECT 1").status_code == 200


def test_echo_credentials_puts_the_authorization_header_in_every_error_field(
    emulator: Emulator, http: requests.Session
) -> None:
    header = f"Bearer {emulator.config.token}"
    faults(emulator, echo_credentials=True, throttle_next=1)
    throttled = execute(emulator, http, "SELECT 1").json()
    assert throttled == {"error_code": header, "message": header}
    failed = run(emulator, http, "SELECT * FROM nowhere")["status"]
    assert failed["state"] == "FAILED"
    assert failed["error"] == {"error_code": header, "message": header}
    assert failed["sql_state"] == header


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("self", "/api/2.0/sql/statements/{id}/result/chunks/0"),
        ("absolute", "{url}/api/2.0/sql/statements/{id}/result/chunks/1"),
        ("other_host", "http://elsewhere.test:81/api/2.0/sql/statements/{id}/result/chunks/1"),
        ("protocol_relative", "//elsewhere.test:81/api/2.0/sql/statements/{id}/result/chunks/1"),
    ],
)
def test_chunk_link_bends_the_next_chunk_link(
    emulator: Emulator, http: requests.Session, kind: str, expected: str
) -> None:
    faults(emulator, chunk_link=kind, chunk_link_host="elsewhere.test:81")
    body = run(emulator, http, MANY_CHUNKS)
    link = body["result"]["next_chunk_internal_link"]
    assert link == expected.format(id=body["statement_id"], url=emulator.url)
    assert body["result"]["next_chunk_index"] == (0 if kind == "self" else 1)


def test_chunk_link_to_another_statement(emulator: Emulator, http: requests.Session) -> None:
    faults(emulator, chunk_link="other_statement")
    body = run(emulator, http, MANY_CHUNKS)
    link = body["result"]["next_chunk_internal_link"]
    assert link.startswith("/api/2.0/sql/statements/") and link.endswith("/result/chunks/1")
    assert body["statement_id"] not in link


def test_slow_statement_answers_pending_then_finishes(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, slow_statement_ms=200)
    body = run(emulator, http, "SELECT 7 AS n", wait_timeout="10s")  # it does not wait
    assert body["status"]["state"] in ("PENDING", "RUNNING")
    final, _ = poll(emulator, http, body["statement_id"], until=TERMINAL)
    assert final["status"]["state"] == "SUCCEEDED"
    assert final["result"]["data_array"] == [["7"]]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_execute_status_answers_an_error_yet_runs_the_statement(
    emulator: Emulator, http: requests.Session, status: int
) -> None:
    faults(emulator, execute_status=status)
    response = execute(emulator, http, "SELECT 1")
    assert response.status_code == status
    assert response.json()["error_code"]
    counted = stats(emulator)
    assert counted["executes_received"] == 1 and counted["statements_run"] == 1


def test_execute_stall_holds_the_answer_until_reset(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, execute_stall=True)
    with pytest.raises(requests.ReadTimeout):
        http.post(
            f"{emulator.url}/api/2.0/sql/statements",
            json={"statement": "SELECT 1", "warehouse_id": emulator.config.warehouse_id},
            timeout=(5, 0.3),
        )
    assert stats(emulator)["statements_run"] == 1, "accepted before the answer stalled"
    emulator.reset()
    assert execute(emulator, http, "SELECT 1").status_code == 200


def test_the_stats_count_what_arrived(emulator: Emulator, http: requests.Session) -> None:
    body = run(emulator, http, MANY_CHUNKS)
    statement = statement_url(emulator, body["statement_id"])
    http.get(statement, timeout=5)
    http.get(f"{statement}/result/chunks/1", timeout=5)
    http.get(f"{statement}/result/chunks/2", timeout=5)
    http.post(f"{statement}/cancel", timeout=5)  # already finished: received, no effect
    faults(emulator, throttle_next=1)
    assert execute(emulator, http, "SELECT 1").status_code == 429
    counted = stats(emulator)
    assert {k: counted[k] for k in ("executes_received", "statements_run")} == {
        "executes_received": 2,
        "statements_run": 1,
    }
    assert (counted["polls_received"], counted["chunk_fetches"]) == (1, 2)
    assert (counted["cancels_received"], counted["cancelled"]) == (1, 0)


@pytest.mark.parametrize(
    "body",
    [
        {"throttle_always": 1},
        {"retry_after": "two\nlines"},
        {"execute_status": 503},
        {"garbage_body": "everything"},
        {"wrong_counts": "bytes"},
        {"chain_ends_after": -1},
        {"wrong_columns": "lower_case"},
        {"column_type": "variant; DROP"},
        {"broken_answer": "slow"},
        {"broken_call": "cancel"},
        {"drip_ms": 0.5},
        {"chunk_link": "ftp"},
        {"chunk_link_host": "a/b"},
        {"slow_statement_ms": -1},
    ],
)
def test_bad_fault_values_are_400_and_change_nothing(
    emulator: Emulator, body: dict[str, Any]
) -> None:
    response = requests.post(f"{emulator.url}/__emulator/faults", json=body, timeout=5)
    assert response.status_code == 400
    assert next(iter(body)) in response.json()["message"]
    assert emulator.faults.snapshot() == dataclasses.asdict(InitialFaults())


def test_reset_clears_every_fault(emulator: Emulator) -> None:
    faults(emulator, throttle_always=True, chunk_link="self", slow_statement_ms=5)
    assert requests.post(f"{emulator.url}/__emulator/reset", timeout=5).json() == {}
    assert requests.get(f"{emulator.url}/__emulator/faults", timeout=5).json() == (
        dataclasses.asdict(InitialFaults())
    )
