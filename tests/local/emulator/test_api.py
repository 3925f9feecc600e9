"""The emulator over real HTTP: the Statement Execution API wire format, faults and controls."""

from __future__ import annotations

import base64
import dataclasses
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import requests

from local.emulator import Emulator, EmulatorConfig, InitialFaults
from local.emulator import api as emulator_api
from local.sample_data import COHORTS, GENDERS, STATE_WEIGHTS, generate_rows
from tests.local.emulator.calls import (
    LATENCY_MS,
    TERMINAL,
    WAREHOUSE,
    execute,
    faults,
    poll,
    run,
    stats,
)

CALIFORNIA_2016 = (
    "SELECT year, state, cohort, gender, drivers FROM lakegate.dmv.licensed_drivers "
    "WHERE state = :state AND year = :year"
)
RESULT_DATA_FIELDS = {
    "chunk_index",
    "row_offset",
    "row_count",
    "data_array",
    "next_chunk_index",
    "next_chunk_internal_link",
}
CALIFORNIA_PARAMETERS = [
    {"name": "state", "value": "California"},  # type omitted: STRING
    {"name": "year", "value": "2016", "type": "INT"},
]


# --- authentication -----------------------------------------------------------


@pytest.mark.parametrize("header", [None, f"Basic {'x' * 8}", "Bearer "])
def test_requests_without_a_bearer_token_get_401(emulator: Emulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.post(
        f"{emulator.url}/api/2.0/sql/statements",
        json={"statement": "SELECT 1", "warehouse_id": WAREHOUSE},
        headers=headers,
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"
    assert response.json()["message"]
    assert stats(emulator)["statements_executed"] == 0


def test_an_unknown_token_gets_403_with_a_numeric_error_code(emulator: Emulator) -> None:
    """What the workspace gateway sends for a bad PAT: 403, and the code as a JSON number."""
    response = requests.post(
        f"{emulator.url}/api/2.0/sql/statements",
        json={"statement": "SELECT 1", "warehouse_id": WAREHOUSE},
        headers={"Authorization": "Bearer dapi-wrong-token"},
        timeout=5,
    )
    assert response.status_code == 403
    assert response.json() == {"error_code": 403, "message": "Invalid access token."}
    assert stats(emulator)["statements_executed"] == 0


def test_oauth_client_credentials_issue_a_bearer_token(emulator: Emulator) -> None:
    config = emulator.config
    response = requests.post(
        f"{emulator.url}/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(config.oauth_client_id, config.oauth_client_secret),
        timeout=5,
    )
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == "all-apis"
    assert token["access_token"] != config.token
    statement = requests.post(
        f"{emulator.url}/api/2.0/sql/statements",
        json={"statement": "SELECT 1 AS one", "warehouse_id": WAREHOUSE},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert statement.status_code == 200
    assert statement.json()["result"]["data_array"] == [["1"]]


def test_oauth_accepts_client_credentials_in_the_form_body(emulator: Emulator) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.config.oauth_client_id,
        "client_secret": emulator.config.oauth_client_secret,
    }
    response = requests.post(f"{emulator.url}/oidc/v1/token", data=form, timeout=5)
    assert response.status_code == 200
    assert response.json()["scope"] == "all-apis"  # the default when none is asked for


def test_oauth_refuses_a_wrong_secret_and_a_wrong_grant(emulator: Emulator) -> None:
    wrong = requests.post(
        f"{emulator.url}/oidc/v1/token",
        data={"grant_type": "client_credentials", "scope": "all-apis"},
        auth=(emulator.config.oauth_client_id, "not-the-secret"),
        timeout=5,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    grant = requests.post(
        f"{emulator.url}/oidc/v1/token",
        data={"grant_type": "password"},
        auth=(emulator.config.oauth_client_id, emulator.config.oauth_client_secret),
        timeout=5,
    )
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"


def test_sdk_discovery_documents_point_at_the_token_endpoint(emulator: Emulator) -> None:
    metadata = requests.get(f"{emulator.url}/.well-known/databricks-config", timeout=5).json()
    assert metadata["oidc_endpoint"] == f"{emulator.url}/oidc"
    oidc = requests.get(
        f"{metadata['oidc_endpoint']}/.well-known/oauth-authorization-server", timeout=5
    )
    assert oidc.json()["token_endpoint"] == f"{emulator.url}/oidc/v1/token"


# --- execute, poll, chunks ------------------------------------------------------


def test_named_typed_parameters_select_the_right_rows(
    emulator: Emulator, http: requests.Session
) -> None:
    body = run(emulator, http, CALIFORNIA_2016, parameters=CALIFORNIA_PARAMETERS)
    assert body["status"] == {"state": "SUCCEEDED"}
    expected = sorted(
        [str(v) for v in row]
        for row in generate_rows()
        if row[1] == "California" and row[0] == 2016
    )
    assert sorted(body["result"]["data_array"]) == expected
    assert len(expected) == 38
    manifest = body["manifest"]
    assert manifest["format"] == "JSON_ARRAY"
    assert manifest["total_row_count"] == 38
    assert manifest["truncated"] is False
    columns = manifest["schema"]["columns"]
    assert [(c["name"], c["type_name"], c["position"]) for c in columns] == [
        ("year", "INT", 0),
        ("state", "STRING", 1),
        ("cohort", "STRING", 2),
        ("gender", "STRING", 3),
        ("drivers", "LONG", 4),
    ]
    assert manifest["schema"]["column_count"] == 5


def test_trailing_slash_path_and_backtick_identifiers_work(
    emulator: Emulator, http: requests.Session
) -> None:
    response = http.post(
        f"{emulator.url}/api/2.0/sql/statements/",
        json={
            "statement": "SELECT COUNT(*) AS n FROM `lakegate`.`dmv`.`licensed_drivers` "
            "WHERE `year` = 2018",
            "warehouse_id": WAREHOUSE,
        },
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json()["result"]["data_array"] == [[str(51 * 19 * 2)]]


def test_catalog_and_schema_set_the_default_namespace(
    emulator: Emulator, http: requests.Session
) -> None:
    body = run(
        emulator,
        http,
        "SELECT COUNT(*) AS n FROM licensed_drivers",
        catalog="lakegate",
        schema="dmv",
    )
    assert body["result"]["data_array"] == [["48450"]]


def test_parameter_types_are_cast_and_kept_in_the_schema(
    emulator: Emulator, http: requests.Session
) -> None:
    parameters = [
        {"name": "d", "value": "1.255", "type": "DECIMAL(5,2)"},
        {"name": "day", "value": "2016-02-29", "type": "DATE"},
        {"name": "ts", "value": "2016-02-29T13:45:30+02:00", "type": "TIMESTAMP"},
        {"name": "ok", "value": "yes", "type": "BOOLEAN"},
        {"name": "x", "value": "0.5", "type": "DOUBLE"},
        {"name": "nothing", "type": "BIGINT"},  # no value: SQL NULL
    ]
    statement = "SELECT :d AS d, :day AS day, :ts AS ts, :ok AS ok, :x AS x, :nothing AS n"
    body = run(emulator, http, statement, parameters=parameters)
    assert body["result"]["data_array"] == [
        ["1.26", "2016-02-29", "2016-02-29T11:45:30.000Z", "true", "0.5", None]
    ]
    types = [c["type_text"] for c in body["manifest"]["schema"]["columns"]]
    assert types == ["DECIMAL(5,2)", "DATE", "TIMESTAMP", "BOOLEAN", "DOUBLE", "BIGINT"]


@pytest.mark.parametrize(
    ("parameter", "fragment"),
    [
        ({"name": "year", "value": "twenty", "type": "INT"}, "cannot be cast to INT"),
        ({"name": "year", "value": "3000000000", "type": "INT"}, "cannot be cast to INT"),
        ({"name": "year", "value": "2016", "type": "GEOGRAPHY"}, "unsupported type"),
        ({"name": "year", "value": "123.456", "type": "DECIMAL(4,2)"}, "DECIMAL(4,2)"),
    ],
)
def test_a_parameter_that_does_not_cast_is_refused_with_400(
    emulator: Emulator, http: requests.Session, parameter: dict[str, str], fragment: str
) -> None:
    response = execute(emulator, http, "SELECT :year AS y", parameters=[parameter])
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert fragment in response.json()["message"]
    assert stats(emulator)["statements_executed"] == 0


def test_wait_timeout_zero_returns_at_once_and_polling_reaches_succeeded(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, latency_ms=300)
    body = run(emulator, http, CALIFORNIA_2016, parameters=CALIFORNIA_PARAMETERS, wait_timeout="0s")
    assert body["status"]["state"] in ("PENDING", "RUNNING")  # it did not wait for the result
    assert "manifest" not in body and "result" not in body
    final, seen = poll(emulator, http, body["statement_id"], until=TERMINAL)
    assert final["status"]["state"] == "SUCCEEDED"
    assert final["manifest"]["total_row_count"] == 38
    assert "RUNNING" in seen
    order = ["PENDING", "RUNNING", "SUCCEEDED"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)


def test_a_waiting_execute_returns_the_finished_result(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, latency_ms=150)
    started = time.monotonic()
    body = run(emulator, http, "SELECT 42 AS answer", wait_timeout="5s")
    assert time.monotonic() - started >= 0.15  # the latency is honoured...
    assert body["status"]["state"] == "SUCCEEDED"  # ...and the wait covered it
    assert body["result"]["data_array"] == [["42"]]


def test_chunks_cover_every_row_exactly_once(emulator: Emulator, http: requests.Session) -> None:
    body = run(
        emulator,
        http,
        "SELECT state, cohort, gender FROM lakegate.dmv.licensed_drivers WHERE year = 2016",
    )
    manifest = body["manifest"]
    total = 51 * 19 * 2
    assert manifest["total_row_count"] == total
    assert manifest["total_chunk_count"] == 20  # ceil(1938 / 100)
    assert [c["row_count"] for c in manifest["chunks"]] == [100] * 19 + [38]
    assert [c["row_offset"] for c in manifest["chunks"]] == list(range(0, total, 100))
    rows = list(body["result"]["data_array"])
    chunk = body["result"]
    while "next_chunk_index" in chunk:
        link = chunk["next_chunk_internal_link"]
        assert link.endswith(f"/result/chunks/{chunk['next_chunk_index']}")
        response = http.get(f"{emulator.url}{link}", timeout=5)
        assert response.status_code == 200
        chunk = response.json()
        assert set(chunk) <= RESULT_DATA_FIELDS
        assert chunk["row_offset"] == len(rows)
        rows.extend(chunk["data_array"])
    assert chunk["chunk_index"] == 19
    expected = {(s, c, g) for s in STATE_WEIGHTS for c in COHORTS for g in GENDERS}
    assert len(rows) == total
    assert {tuple(row) for row in rows} == expected


def test_chunk_indexes_out_of_range_and_unfinished_statements_are_400(
    emulator: Emulator, http: requests.Session
) -> None:
    done = run(emulator, http, "SELECT 1 AS one")
    beyond = http.get(
        f"{emulator.url}/api/2.0/sql/statements/{done['statement_id']}/result/chunks/1", timeout=5
    )
    assert beyond.status_code == 400
    assert beyond.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    faults(emulator, hang=True)
    hung = run(emulator, http, "SELECT 1 AS one", wait_timeout="0s")
    early = http.get(
        f"{emulator.url}/api/2.0/sql/statements/{hung['statement_id']}/result/chunks/0", timeout=5
    )
    assert early.status_code == 400
    assert early.json()["error_code"] == "INVALID_STATE"


def test_row_limit_cuts_the_result_and_sets_truncated(
    emulator: Emulator, http: requests.Session
) -> None:
    cut = run(emulator, http, "SELECT * FROM lakegate.dmv.licensed_drivers", row_limit=150)
    assert cut["manifest"]["total_row_count"] == 150
    assert cut["manifest"]["truncated"] is True
    assert cut["manifest"]["total_chunk_count"] == 2
    whole = run(emulator, http, CALIFORNIA_2016, parameters=CALIFORNIA_PARAMETERS, row_limit=38)
    assert whole["manifest"]["truncated"] is False
    assert whole["manifest"]["total_row_count"] == 38


def test_byte_limit_cuts_the_result_and_sets_truncated(
    emulator: Emulator, http: requests.Session
) -> None:
    body = run(emulator, http, "SELECT * FROM lakegate.dmv.licensed_drivers", byte_limit=2000)
    manifest = body["manifest"]
    assert manifest["truncated"] is True
    assert 0 < manifest["total_row_count"] < 100
    assert manifest["total_byte_count"] <= 2000


def test_an_empty_result_has_a_manifest_but_no_chunks(
    emulator: Emulator, http: requests.Session
) -> None:
    atlantis = [{"name": "state", "value": "Atlantis"}, {"name": "year", "value": "2016"}]
    body = run(emulator, http, CALIFORNIA_2016, parameters=atlantis)
    assert body["status"]["state"] == "SUCCEEDED"
    assert body["manifest"]["total_row_count"] == 0
    assert body["manifest"]["total_chunk_count"] == 0
    assert "chunks" not in body["manifest"]
    assert "result" not in body
    assert body["manifest"]["schema"]["column_count"] == 5


# --- failures and refusals ---------------------------------------------------------


def test_a_sql_error_ends_failed_with_an_error_object(
    emulator: Emulator, http: requests.Session
) -> None:
    body = run(emulator, http, "SELECT * FROM lakegate.dmv.no_such_table")
    status = body["status"]
    assert status["state"] == "FAILED"
    assert status["error"]["error_code"] == "BAD_REQUEST"
    assert "no_such_table" in status["error"]["message"]
    assert status["sql_state"] == "42P01"
    assert "manifest" not in body and "result" not in body


@pytest.mark.parametrize(
    ("statement", "sql_state"),
    [("SELEC 1", "42601"), ("SELECT 1; SELECT 2", "42601"), ("SELECT :missing AS m", "42P02")],
)
def test_unparseable_or_unbound_sql_ends_failed(
    emulator: Emulator, http: requests.Session, statement: str, sql_state: str
) -> None:
    body = run(emulator, http, statement)
    assert body["status"]["state"] == "FAILED"
    assert body["status"]["sql_state"] == sql_state
    assert "\x1b" not in body["status"]["error"]["message"]


@pytest.mark.parametrize("wait_timeout", ["3s", "51s", "10", "five", "-1s"])
def test_a_bad_wait_timeout_is_400(
    emulator: Emulator, http: requests.Session, wait_timeout: str
) -> None:
    response = execute(emulator, http, "SELECT 1", wait_timeout=wait_timeout)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "wait_timeout" in response.json()["message"]


@pytest.mark.parametrize(
    ("fields", "status", "error_code"),
    [
        ({"disposition": "SOMEWHERE"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"format": "ARROW_STREAM"}, 400, "INVALID_PARAMETER_VALUE"),  # INLINE: JSON_ARRAY only
        ({"disposition": "INLINE", "format": "CSV"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"disposition": "EXTERNAL_LINKS", "format": "PARQUET"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"on_wait_timeout": "ABANDON"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"row_limit": 0}, 400, "INVALID_PARAMETER_VALUE"),
        ({"statement": ""}, 400, "INVALID_PARAMETER_VALUE"),
        ({"warehouse_id": None}, 400, "INVALID_PARAMETER_VALUE"),
        ({"warehouse_id": "someone-elses"}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ],
)
def test_invalid_execute_requests_are_refused(
    emulator: Emulator, http: requests.Session, fields: dict[str, Any], status: int, error_code: str
) -> None:
    response = execute(emulator, http, **{"statement": "SELECT 1", **fields})
    assert response.status_code == status
    assert response.json() == {"error_code": error_code, "message": response.json()["message"]}
    assert stats(emulator)["statements_executed"] == 0


def test_malformed_json_is_400(emulator: Emulator, http: requests.Session) -> None:
    response = http.post(f"{emulator.url}/api/2.0/sql/statements", data=b"{nope", timeout=5)
    assert response.status_code == 400
    assert response.json()["error_code"] == "MALFORMED_REQUEST"


def test_unknown_statements_are_404_with_the_error_shape(
    emulator: Emulator, http: requests.Session
) -> None:
    base = f"{emulator.url}/api/2.0/sql/statements/00000000-0000-0000-0000-000000000000"
    for response in (
        http.get(base, timeout=5),
        http.get(f"{base}/result/chunks/0", timeout=5),
        http.post(f"{base}/cancel", timeout=5),
    ):
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"error_code": "NOT_FOUND", "message": response.json()["message"]}
    unknown_path = http.get(f"{emulator.url}/api/2.0/sql/warehouses", timeout=5)
    assert unknown_path.status_code == 404
    assert unknown_path.json()["error_code"] == "ENDPOINT_NOT_FOUND"


# --- cancel and faults ------------------------------------------------------------


def test_cancel_moves_a_running_statement_to_canceled(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, hang=True)
    body = run(emulator, http, CALIFORNIA_2016, parameters=CALIFORNIA_PARAMETERS, wait_timeout="0s")
    poll(emulator, http, body["statement_id"], until={"RUNNING"})
    time.sleep(3 * LATENCY_MS / 1000)  # proving a negative: well past the latency, still running
    still, _ = poll(emulator, http, body["statement_id"], until=TERMINAL | {"RUNNING"})
    assert still["status"]["state"] == "RUNNING"
    cancel = http.post(
        f"{emulator.url}/api/2.0/sql/statements/{body['statement_id']}/cancel", timeout=5
    )
    assert cancel.status_code == 200
    assert cancel.json() == {}
    final, _ = poll(emulator, http, body["statement_id"], until=TERMINAL)
    assert final["status"] == {"state": "CANCELED"}
    assert stats(emulator)["cancelled"] == 1
    again = http.post(
        f"{emulator.url}/api/2.0/sql/statements/{body['statement_id']}/cancel", timeout=5
    )
    assert again.status_code == 200  # cancelling a finished statement is a no-op
    assert stats(emulator)["cancelled"] == 1


def test_closing_the_engine_while_duckdb_runs_waits_for_the_run_to_let_go() -> None:
    # Closing DuckDB under a cursor still executing (or finishing once interrupted)
    # makes it refuse, so the emulator's stop would fail: closing the engine cancels
    # what runs and returns only once its threads are done with the database.
    with Emulator(EmulatorConfig(latency_ms=0)) as emulator, requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {emulator.config.token}"
        body = run(emulator, session, "SELECT count(*) FROM range(5000000000)", wait_timeout="0s")
        poll(emulator, session, body["statement_id"], until={"RUNNING"})
        time.sleep(0.2)  # inside DuckDB's execute, well short of its end
        emulator.engine.close()
        assert not [t for t in threading.enumerate() if t.name.startswith("statement-")]
        assert emulator.engine.get(body["statement_id"]).state.value == "CANCELED"
        emulator.stop()  # closes the database: nothing holds it


def test_on_wait_timeout_cancel_cancels_a_slow_statement(
    emulator: Emulator, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator_api, "WAIT_SCALE", 0.01)  # "5s" waits 50 ms
    faults(emulator, hang=True)
    body = run(emulator, http, "SELECT 1", wait_timeout="5s", on_wait_timeout="CANCEL")
    assert body["status"] == {"state": "CANCELED"}
    continued = run(emulator, http, "SELECT 1", wait_timeout="5s")  # CONTINUE is the default
    assert continued["status"]["state"] == "RUNNING"


def test_throttle_next_answers_429_with_retry_after(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, throttle_next=2)
    for _ in range(2):
        response = execute(emulator, http, "SELECT 1")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
        assert response.json()["error_code"] == "TOO_MANY_REQUESTS"
    assert execute(emulator, http, "SELECT 1").status_code == 200
    counted = stats(emulator)
    assert counted["throttled"] == 2
    assert counted["statements_executed"] == 1
    assert counted["requests"] == 3


def test_unavailable_next_answers_503(emulator: Emulator, http: requests.Session) -> None:
    faults(emulator, unavailable_next=1)
    response = execute(emulator, http, "SELECT 1")
    assert response.status_code == 503
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert execute(emulator, http, "SELECT 1").status_code == 200


def test_fail_next_fails_exactly_that_many_statements(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, fail_next=2)
    states = [run(emulator, http, "SELECT 1")["status"] for _ in range(3)]
    assert [s["state"] for s in states] == ["FAILED", "FAILED", "SUCCEEDED"]
    assert states[0]["error"]["error_code"] == "INTERNAL_ERROR"


def test_error_rate_is_seeded_and_reproducible(emulator: Emulator, http: requests.Session) -> None:
    def outcomes() -> list[str]:
        faults(emulator, error_rate=0.5, latency_ms=0)
        return [run(emulator, http, "SELECT 1")["status"]["state"] for _ in range(12)]

    first = outcomes()
    emulator.reset()  # reseeds
    assert outcomes() == first
    assert {"FAILED", "SUCCEEDED"} == set(first)


def test_bad_fault_settings_are_400_and_change_nothing(emulator: Emulator) -> None:
    for body in ({"throttle_next": -1}, {"error_rate": 2}, {"hang": "yes"}, {"no_such_fault": 1}):
        response = requests.post(f"{emulator.url}/__emulator/faults", json=body, timeout=5)
        assert response.status_code == 400
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert emulator.faults.snapshot() == dataclasses.asdict(InitialFaults())


def test_stats_count_statements_requests_and_states(
    emulator: Emulator, http: requests.Session
) -> None:
    run(emulator, http, "SELECT 1")
    run(emulator, http, "SELECT * FROM nowhere")
    http.get(f"{emulator.url}/api/2.0/sql/statements/unknown", timeout=5)
    counted = stats(emulator)
    assert counted["statements_executed"] == 2
    assert counted["requests"] == 3
    assert counted["by_state"]["SUCCEEDED"] == 1
    assert counted["by_state"]["FAILED"] == 1
    assert emulator.stats()["statements_executed"] == 2
    assert requests.post(f"{emulator.url}/__emulator/reset", timeout=5).json() == {}
    assert stats(emulator)["statements_executed"] == 0
    assert sum(stats(emulator)["by_state"].values()) == 0


# --- the wire format of every type ---------------------------------------------------


def test_all_types_arrive_as_databricks_strings(emulator: Emulator, http: requests.Session) -> None:
    body = run(emulator, http, "SELECT * FROM lakegate.test.all_types ORDER BY id")
    columns = {c["name"]: c for c in body["manifest"]["schema"]["columns"]}
    assert {name: (c["type_name"], c["type_text"]) for name, c in columns.items()} == {
        "id": ("INT", "INT"),
        "c_boolean": ("BOOLEAN", "BOOLEAN"),
        "c_tinyint": ("BYTE", "TINYINT"),
        "c_smallint": ("SHORT", "SMALLINT"),
        "c_int": ("INT", "INT"),
        "c_bigint": ("LONG", "BIGINT"),
        "c_float": ("FLOAT", "FLOAT"),
        "c_double": ("DOUBLE", "DOUBLE"),
        "c_decimal": ("DECIMAL", "DECIMAL(10,2)"),
        "c_string": ("STRING", "STRING"),
        "c_date": ("DATE", "DATE"),
        "c_timestamp_ntz": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
        "c_timestamp": ("TIMESTAMP", "TIMESTAMP"),
        "c_binary": ("BINARY", "BINARY"),
        "c_array": ("ARRAY", "ARRAY<INT>"),
        "c_map": ("MAP", "MAP<STRING, INT>"),
        "c_struct": ("STRUCT", "STRUCT<a: INT, b: STRING>"),
        "c_interval": ("INTERVAL", "INTERVAL DAY TO SECOND"),
    }
    assert (columns["c_decimal"]["type_precision"], columns["c_decimal"]["type_scale"]) == (10, 2)
    values, nulls = body["result"]["data_array"]
    assert dict(zip(columns, values, strict=True)) == {
        "id": "1",
        "c_boolean": "true",
        "c_tinyint": "-8",
        "c_smallint": "300",
        "c_int": "70000",
        "c_bigint": "9000000000",
        "c_float": "1.5",
        "c_double": "2.25",
        "c_decimal": "12345678.90",
        "c_string": 'Grüße, "quoted"',
        "c_date": "2016-02-29",
        "c_timestamp_ntz": "2016-02-29T13:45:30.123",
        "c_timestamp": "2016-02-29T13:45:30.500Z",
        "c_binary": base64.b64encode(b"\x00\xfflake").decode(),
        "c_array": "[1,2,null]",
        "c_map": '{"a":1,"b":2}',
        "c_struct": '{"a":7,"b":"seven"}',
        "c_interval": "1 02:03:04.500000000",
    }
    assert nulls == ["2"] + [None] * 17


def test_numbers_print_like_spark(emulator: Emulator, http: requests.Session) -> None:
    body = run(
        emulator,
        http,
        "SELECT CAST(1.1 AS FLOAT) AS f, 1e20 AS big, 0.0001 AS small, "
        "CAST('NaN' AS DOUBLE) AS nan, SUM(drivers) AS total, NULL AS nothing "
        "FROM lakegate.dmv.licensed_drivers WHERE year = 1994",
    )
    f, big, small, nan, total, nothing = body["result"]["data_array"][0]
    assert (f, big, nan, nothing) == ("1.1", "1.0E20", "NaN", None)
    assert small in ("1.0E-4", "0.0001")  # DOUBLE prints 1.0E-4; a DECIMAL literal stays plain
    assert int(total) == sum(row[4] for row in generate_rows() if row[0] == 1994)
    types = [c["type_name"] for c in body["manifest"]["schema"]["columns"]]
    assert types[4] == "LONG"  # SUM(BIGINT) is BIGINT on Databricks, not DuckDB's HUGEINT
    assert types[5] == "NULL"


# --- lifecycle ------------------------------------------------------------------------


def test_old_results_are_closed_then_forgotten() -> None:
    config = EmulatorConfig(latency_ms=0, result_ttl_s=0.3)
    with Emulator(config) as short_lived, requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {config.token}"
        body = run(short_lived, session, "SELECT 1 AS one")
        assert body["status"]["state"] == "SUCCEEDED"
        closed, _ = poll(short_lived, session, body["statement_id"], until={"CLOSED"})
        assert "manifest" not in closed and "result" not in closed
        chunk = session.get(
            f"{short_lived.url}/api/2.0/sql/statements/{body['statement_id']}/result/chunks/0",
            timeout=5,
        )
        assert chunk.status_code == 400
        assert chunk.json()["error_code"] == "INVALID_STATE"
        deadline = time.monotonic() + 5
        gone = session.get(
            f"{short_lived.url}/api/2.0/sql/statements/{body['statement_id']}", timeout=5
        )
        while gone.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.01)
            gone = session.get(
                f"{short_lived.url}/api/2.0/sql/statements/{body['statement_id']}", timeout=5
            )
        assert gone.status_code == 404


def test_the_command_line_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "local.emulator", "--port", "0", "--latency-ms", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        first_line = process.stdout.readline()  # blocks until the server is up
        url = first_line.split(" on ")[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/__emulator/stats", timeout=5).json()["requests"] == 0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "emulator stopped" in process.stdout.read()
