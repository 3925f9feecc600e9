"""The official databricks-sdk, unchanged, against the emulator: the strongest wire-format check."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import polars as pl
import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, NotFound, PermissionDenied
from databricks.sdk.service.sql import (
    ColumnInfoTypeName,
    Disposition,
    Format,
    ServiceErrorCode,
    StatementParameterListItem,
    StatementResponse,
    StatementState,
)

from local.emulator import Emulator, EmulatorConfig
from local.sample_data import COHORTS, GENDERS, STATE_WEIGHTS, generate_rows

WAREHOUSE = "local-warehouse"
RUNNING = (StatementState.PENDING, StatementState.RUNNING)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(latency_ms=20, chunk_rows=100)) as running:
        yield running


@pytest.fixture(autouse=True)
def hermetic(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ~/.databrickscfg, no DATABRICKS_* (or cloud) variables from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "AZURE_", "GOOGLE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", "/nonexistent/lakegate/.databrickscfg")
    emulator.reset()


@pytest.fixture
def client(emulator: Emulator) -> WorkspaceClient:
    return WorkspaceClient(host=emulator.url, token=emulator.config.token)


def wait_for(
    client: WorkspaceClient, response: StatementResponse, within: float = 5.0
) -> StatementResponse:
    """Poll get_statement until the state is terminal, as an SDK user would."""
    assert response.statement_id and response.status
    deadline = time.monotonic() + within
    while response.status and response.status.state in RUNNING:
        assert time.monotonic() < deadline, "statement did not finish"
        time.sleep(0.005)
        response = client.statement_execution.get_statement(response.statement_id)
    return response


def test_execute_with_typed_parameters_then_poll(client: WorkspaceClient) -> None:
    response = client.statement_execution.execute_statement(
        statement="SELECT cohort, gender, drivers FROM lakegate.dmv.licensed_drivers "
        "WHERE state = :state AND year = :year",
        warehouse_id=WAREHOUSE,
        parameters=[
            StatementParameterListItem(name="state", value="California"),
            StatementParameterListItem(name="year", value="2016", type="INT"),
        ],
        wait_timeout="0s",
    )
    assert response.status and response.status.state in RUNNING
    final = wait_for(client, response)
    assert final.status and final.status.state == StatementState.SUCCEEDED
    assert final.manifest and final.manifest.schema and final.manifest.schema.columns
    assert [c.type_name for c in final.manifest.schema.columns] == [
        ColumnInfoTypeName.STRING,
        ColumnInfoTypeName.STRING,
        ColumnInfoTypeName.LONG,
    ]
    expected = sorted(
        [cohort, gender, str(drivers)]
        for year, state, cohort, gender, drivers in generate_rows()
        if (state, year) == ("California", 2016)
    )
    assert final.result and final.result.data_array is not None
    assert sorted(final.result.data_array) == expected


def test_every_chunk_through_get_statement_result_chunk_n(client: WorkspaceClient) -> None:
    api = client.statement_execution
    response = api.execute_statement(
        statement="SELECT state, cohort, gender FROM lakegate.dmv.licensed_drivers "
        "WHERE year = 2018",
        warehouse_id=WAREHOUSE,
        wait_timeout="10s",
    )
    assert response.status and response.status.state == StatementState.SUCCEEDED
    assert response.manifest and response.manifest.total_chunk_count == 20
    assert response.statement_id and response.result and response.result.data_array
    rows = [tuple(row) for row in response.result.data_array]
    next_index = response.result.next_chunk_index
    while next_index is not None:
        chunk = api.get_statement_result_chunk_n(response.statement_id, next_index)
        assert chunk.chunk_index == next_index
        assert chunk.row_offset == len(rows)
        assert chunk.data_array is not None
        rows.extend(tuple(row) for row in chunk.data_array)
        next_index = chunk.next_chunk_index
    assert len(rows) == response.manifest.total_row_count == 51 * 19 * 2
    assert set(rows) == {(s, c, g) for s in STATE_WEIGHTS for c in COHORTS for g in GENDERS}


def test_cancel_execution(client: WorkspaceClient, emulator: Emulator) -> None:
    emulator.faults.hang = True
    api = client.statement_execution
    response = api.execute_statement(
        statement="SELECT 1", warehouse_id=WAREHOUSE, wait_timeout="0s"
    )
    assert response.statement_id and response.status and response.status.state in RUNNING
    api.cancel_execution(response.statement_id)
    final = api.get_statement(response.statement_id)
    assert final.status and final.status.state == StatementState.CANCELED
    assert emulator.stats()["cancelled"] == 1


def test_failed_statements_carry_a_service_error(client: WorkspaceClient) -> None:
    response = client.statement_execution.execute_statement(
        statement="SELECT * FROM lakegate.dmv.missing", warehouse_id=WAREHOUSE
    )
    assert response.status and response.status.state == StatementState.FAILED
    assert (
        response.status.error and response.status.error.error_code == ServiceErrorCode.BAD_REQUEST
    )
    assert response.status.sql_state == "42P01"


def test_http_errors_become_typed_sdk_exceptions(
    client: WorkspaceClient, emulator: Emulator
) -> None:
    with pytest.raises(NotFound):
        client.statement_execution.get_statement("00000000-0000-0000-0000-000000000000")
    with pytest.raises(InvalidParameterValue):
        client.statement_execution.execute_statement(
            statement="SELECT :n AS n",
            warehouse_id=WAREHOUSE,
            parameters=[StatementParameterListItem(name="n", value="many", type="INT")],
        )
    # A bad PAT is 403 with "error_code": 403 (a number); the SDK maps it by status.
    stranger = WorkspaceClient(host=emulator.url, token="dapi-not-a-real-token")
    with pytest.raises(PermissionDenied):
        stranger.statement_execution.get_statement("anything")


def test_sdk_retries_a_429_honouring_retry_after(
    client: WorkspaceClient, emulator: Emulator
) -> None:
    emulator.faults.throttle_next = 1
    started = time.monotonic()
    response = client.statement_execution.execute_statement(
        statement="SELECT 1 AS one", warehouse_id=WAREHOUSE
    )
    assert time.monotonic() - started >= 1.0  # Retry-After: 1
    assert response.result and response.result.data_array == [["1"]]
    assert emulator.stats()["throttled"] == 1


def test_oauth_m2m_service_principal(emulator: Emulator) -> None:
    config = emulator.config
    client = WorkspaceClient(
        host=emulator.url,
        client_id=config.oauth_client_id,
        client_secret=config.oauth_client_secret,
    )
    assert client.config.auth_type == "oauth-m2m"
    response = client.statement_execution.execute_statement(
        statement="SELECT 2 AS two", warehouse_id=WAREHOUSE
    )
    assert response.result and response.result.data_array == [["2"]]


def test_all_types_decode_with_sdk_enums(client: WorkspaceClient) -> None:
    response = client.statement_execution.execute_statement(
        statement="SELECT * FROM lakegate.test.all_types ORDER BY id", warehouse_id=WAREHOUSE
    )
    assert response.manifest and response.manifest.schema and response.manifest.schema.columns
    names = {c.name: c.type_name for c in response.manifest.schema.columns}
    assert names["c_decimal"] == ColumnInfoTypeName.DECIMAL
    assert names["c_timestamp"] == ColumnInfoTypeName.TIMESTAMP
    assert names["c_interval"] == ColumnInfoTypeName.INTERVAL
    assert names["c_struct"] == ColumnInfoTypeName.STRUCT
    # The SDK's enum has no TIMESTAMP_NTZ yet; its from_dict turns unknown names into None.
    assert names["c_timestamp_ntz"] is None
    assert response.manifest.schema.columns[11].type_text == "TIMESTAMP_NTZ"


def test_the_sdk_only_probes_host_metadata_at_start_up(emulator: Emulator) -> None:
    before = emulator.stats()["requests"]
    WorkspaceClient(host=emulator.url, token=emulator.config.token)
    assert emulator.stats()["requests"] == before  # no /api/ call until the first statement
    metadata = requests.get(f"{emulator.url}/.well-known/databricks-config", timeout=5)
    assert metadata.status_code == 200


def test_external_links_in_arrow_through_get_statement_result_chunk_n(
    client: WorkspaceClient, emulator: Emulator
) -> None:
    api = client.statement_execution
    response = api.execute_statement(
        statement="SELECT state, cohort, gender, drivers FROM lakegate.dmv.licensed_drivers "
        "WHERE year = 2018",
        warehouse_id=WAREHOUSE,
        disposition=Disposition.EXTERNAL_LINKS,
        format=Format.ARROW_STREAM,
    )
    assert response.status and response.status.state == StatementState.SUCCEEDED
    manifest = response.manifest
    assert manifest and manifest.format == Format.ARROW_STREAM and manifest.chunks
    assert response.statement_id and response.result and response.result.external_links
    links = list(response.result.external_links)
    while links[-1].next_chunk_index is not None:
        chunk = api.get_statement_result_chunk_n(response.statement_id, links[-1].next_chunk_index)
        assert chunk.external_links and chunk.data_array is None
        links.extend(chunk.external_links)
    assert [link.chunk_index for link in links] == list(range(20))
    assert [link.byte_count for link in links] == [c.byte_count for c in manifest.chunks]
    assert all(link.expiration and link.external_link for link in links)
    # As the API asks: the presigned URL is fetched without the workspace's token.
    frames = [
        pl.read_ipc_stream(requests.get(str(link.external_link), timeout=5).content)
        for link in links
    ]
    frame = pl.concat(frames)
    assert frame.height == manifest.total_row_count == 51 * 19 * 2
    assert frame.schema["drivers"] == pl.Int64
    assert emulator.stats()["link_downloads_refused"] == 0
