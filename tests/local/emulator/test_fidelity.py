"""Where the emulator once differed from Databricks, each checked against the documented API.

Sources: the databricks-sdk's StatementExecutionAPI docstrings (asynchronous mode
ignores on_wait_timeout; 16 MiB of statement text; results kept one hour), Databricks
SQL's DECIMAL and INTERVAL type pages (bare DECIMAL is DECIMAL(10,0); year-month and
day-time intervals never mix), and the workspace gateway's answer to a bad token
(403, `"error_code": 403`; tested in test_api and test_sdk).
"""

from __future__ import annotations

import requests

from local.emulator import Emulator, EmulatorConfig
from local.emulator.execute import MAX_STATEMENT_BYTES
from tests.local.emulator.calls import (
    execute,
    faults,
    poll,
    run,
    stats,
)


def columns(body: dict[str, object]) -> list[dict[str, object]]:
    manifest = body["manifest"]
    assert isinstance(manifest, dict)
    return list(manifest["schema"]["columns"])


def test_wait_timeout_zero_ignores_cancel_and_runs_asynchronously(
    emulator: Emulator, http: requests.Session
) -> None:
    faults(emulator, hang=True)
    body = run(emulator, http, "SELECT 1", wait_timeout="0s", on_wait_timeout="CANCEL")
    assert body["status"]["state"] in ("PENDING", "RUNNING")
    still, _ = poll(emulator, http, body["statement_id"], until={"RUNNING"})
    assert still["status"]["state"] == "RUNNING"
    assert stats(emulator)["cancelled"] == 0


def test_a_column_type_without_a_databricks_name_is_a_string(
    emulator: Emulator, http: requests.Session
) -> None:
    body = run(emulator, http, "SELECT uuid() AS id, CAST('12:30:00' AS TIME) AS t")
    assert body["status"] == {"state": "SUCCEEDED"}
    assert [(c["type_name"], c["type_text"]) for c in columns(body)] == [("STRING", "STRING")] * 2
    uuid_text, time_text = body["result"]["data_array"][0]
    assert len(uuid_text) == 36 and time_text == "12:30:00"


def test_a_bare_decimal_is_decimal_10_0(emulator: Emulator, http: requests.Session) -> None:
    body = run(emulator, http, "SELECT CAST(5.5 AS DECIMAL) AS d, CAST(1.25 AS NUMERIC(4, 1)) AS n")
    d, n = columns(body)
    assert (d["type_text"], d["type_precision"], d["type_scale"]) == ("DECIMAL(10,0)", 10, 0)
    assert n["type_text"] == "DECIMAL(4,1)"
    assert body["result"]["data_array"] == [["6", "1.3"]]  # Spark rounds half up


def test_year_month_intervals_stay_year_month(emulator: Emulator, http: requests.Session) -> None:
    body = run(
        emulator,
        http,
        "SELECT INTERVAL '1-2' YEAR TO MONTH AS a, INTERVAL '-3' YEAR AS b, "
        "INTERVAL '2' DAY AS c, CAST(NULL AS INTERVAL) AS d",
    )
    kinds = [(c["type_text"], c["type_interval_type"]) for c in columns(body)]
    assert kinds == [
        ("INTERVAL YEAR TO MONTH", "YEAR TO MONTH"),
        ("INTERVAL YEAR TO MONTH", "YEAR TO MONTH"),
        ("INTERVAL DAY TO SECOND", "DAY TO SECOND"),
        ("INTERVAL DAY TO SECOND", "DAY TO SECOND"),
    ]
    assert body["result"]["data_array"] == [["1-2", "-3-0", "2 00:00:00.000000000", None]]


def test_a_statement_over_16_mib_is_refused(emulator: Emulator, http: requests.Session) -> None:
    padding = "x" * (MAX_STATEMENT_BYTES - len("SELECT 1 -- ") + 1)
    response = execute(emulator, http, f"SELECT 1 -- {padding}")
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "16 MiB" in response.json()["message"]
    assert stats(emulator)["statements_run"] == 0


def test_results_are_kept_for_an_hour() -> None:
    assert EmulatorConfig().result_ttl_s == 3600
