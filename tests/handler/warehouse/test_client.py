"""The warehouse client against the emulator over real HTTP: execute, poll, chunks, cancel, retry."""

import time

import pytest
import requests

from handler.errors import WarehouseRejected, WarehouseTimeout, WarehouseUnavailable
from handler.settings import WarehouseSettings
from handler.warehouse import Deadline, Parameter, Statement, WarehouseClient, token_provider
from handler.warehouse.auth import StaticToken
from local.emulator import Emulator
from tests.handler.warehouse.conftest import Pauses, client_for, faults, settings_for, stats

CALIFORNIA_2016 = Statement(
    sql="SELECT year, state, cohort, gender, drivers FROM lakegate.dmv.licensed_drivers "
    "WHERE state = :state AND year = :year ORDER BY cohort, gender",
    parameters=(Parameter("state", "California"), Parameter("year", "2016", "INT")),
)
YEAR_2016 = Statement(
    sql="SELECT state, cohort, gender, drivers FROM lakegate.dmv.licensed_drivers "
    "WHERE year = :year ORDER BY state, cohort, gender",
    parameters=(Parameter("year", "2016", "INT"),),
)


def test_named_typed_parameters_select_the_right_rows(emulator: Emulator) -> None:
    result = client_for(emulator).run(CALIFORNIA_2016, Deadline.after(10))
    assert [c.name for c in result.columns] == ["year", "state", "cohort", "gender", "drivers"]
    assert [c.type_name for c in result.columns] == ["INT", "STRING", "STRING", "STRING", "LONG"]
    assert len(result.rows) == 19 * 2
    assert {(r[0], r[1]) for r in result.rows} == {("2016", "California")}
    assert result.truncated is False
    assert stats(emulator)["statements_executed"] == 1


def test_every_chunk_is_read_once(emulator: Emulator) -> None:
    result = client_for(emulator).run(YEAR_2016, Deadline.after(10))
    assert len(result.rows) == 51 * 19 * 2  # twenty 100-row chunks
    assert len({tuple(r) for r in result.rows}) == len(result.rows)
    assert result.rows[0][0] == "Alabama" and result.rows[-1][0] == "Wyoming"


def test_pending_statements_are_polled_until_they_finish(emulator: Emulator) -> None:
    faults(emulator, latency_ms=300)
    pauses = Pauses()
    client = client_for(emulator, pauses, wait_timeout_seconds=0)
    started = time.monotonic()
    # The recorder does not sleep, so the client polls as fast as its loop allows and
    # keeps finding the statement RUNNING until the emulated latency has passed.
    result = client.run(CALIFORNIA_2016, Deadline.after(10))
    assert len(result.rows) == 38
    assert time.monotonic() - started >= 0.3
    assert len(pauses) >= 1
    assert pauses == sorted(pauses), "poll intervals grow"


def test_a_statement_past_its_deadline_is_cancelled(emulator: Emulator) -> None:
    faults(emulator, hang=True)
    client = client_for(emulator, wait_timeout_seconds=0)
    with pytest.raises(WarehouseTimeout) as caught:
        client.run(CALIFORNIA_2016, Deadline.after(0.5))
    assert caught.value.statement_id
    assert stats(emulator)["cancelled"] == 1


def test_throttling_is_retried_honouring_retry_after(emulator: Emulator) -> None:
    faults(emulator, throttle_next=2)
    pauses = Pauses()
    result = client_for(emulator, pauses).run(CALIFORNIA_2016, Deadline.after(10))
    assert len(result.rows) == 38
    assert len(pauses) == 2 and all(p >= 1.0 for p in pauses)


def test_unavailable_is_retried(emulator: Emulator) -> None:
    faults(emulator, unavailable_next=2)
    pauses = Pauses()
    result = client_for(emulator, pauses).run(CALIFORNIA_2016, Deadline.after(10))
    assert len(result.rows) == 38 and len(pauses) == 2


def test_throttling_beyond_the_budget_gives_up_with_retry_after(emulator: Emulator) -> None:
    faults(emulator, throttle_next=100)
    with pytest.raises(WarehouseUnavailable) as caught:
        client_for(emulator, Pauses()).run(CALIFORNIA_2016, Deadline.after(0.5))
    assert caught.value.retry_after == 1
    assert stats(emulator)["statements_executed"] == 0


def test_a_failed_statement_is_rejected_without_its_message(emulator: Emulator) -> None:
    statement = Statement(sql="SELECT * FROM lakegate.dmv.no_such_table")
    with pytest.raises(WarehouseRejected) as caught:
        client_for(emulator).run(statement, Deadline.after(10))
    assert caught.value.statement_id
    assert caught.value.error_code
    assert "no_such_table" not in str(caught.value) and "no_such_table" not in caught.value.detail


def test_injected_failures_are_rejected(emulator: Emulator) -> None:
    faults(emulator, fail_next=1)
    with pytest.raises(WarehouseRejected):
        client_for(emulator).run(CALIFORNIA_2016, Deadline.after(10))


def test_a_bad_token_is_not_retried(emulator: Emulator) -> None:
    pauses = Pauses()
    with pytest.raises(WarehouseRejected) as caught:
        client_for(emulator, pauses, token="dapi-wrong").run(CALIFORNIA_2016, Deadline.after(10))
    assert caught.value.error_code is not None
    assert pauses == []


def test_client_errors_are_not_retried(emulator: Emulator) -> None:
    pauses = Pauses()
    bad = Statement(sql="SELECT :n AS n", parameters=(Parameter("n", "not-a-number", "INT"),))
    with pytest.raises(WarehouseRejected):
        client_for(emulator, pauses).run(bad, Deadline.after(10))
    assert pauses == []


def test_an_unreachable_warehouse_is_unavailable_within_the_deadline() -> None:
    settings = WarehouseSettings(host="http://127.0.0.1:9", warehouse_id="w", token="t")
    client = WarehouseClient(settings, StaticToken("t"), requests.Session())
    started = time.monotonic()
    with pytest.raises(WarehouseUnavailable):
        client.run(CALIFORNIA_2016, Deadline.after(1.0))
    assert time.monotonic() - started < 3.0


def test_row_limit_truncation_is_reported(emulator: Emulator) -> None:
    statement = Statement(sql=YEAR_2016.sql, parameters=YEAR_2016.parameters, row_limit=150)
    result = client_for(emulator).run(statement, Deadline.after(10))
    assert len(result.rows) == 150 and result.truncated is True


def test_oauth_machine_to_machine_tokens_are_fetched_and_reused(emulator: Emulator) -> None:
    settings = settings_for(
        emulator,
        token=None,
        client_id=emulator.config.oauth_client_id,
        client_secret=emulator.config.oauth_client_secret,
    )
    session = requests.Session()
    tokens = token_provider(settings, session)
    client = WarehouseClient(settings, tokens, session)
    assert len(client.run(CALIFORNIA_2016, Deadline.after(10)).rows) == 38
    first = tokens.token()
    assert first != emulator.config.token and tokens.token() == first


def test_wrong_oauth_credentials_are_rejected(emulator: Emulator) -> None:
    settings = settings_for(emulator, token=None, client_id="someone", client_secret="wrong")
    session = requests.Session()
    client = WarehouseClient(settings, token_provider(settings, session), session)
    with pytest.raises(WarehouseRejected):
        client.run(CALIFORNIA_2016, Deadline.after(10))


def test_an_execute_dropped_after_sending_is_not_sent_twice() -> None:
    """A connection that dies after the request went out may mean the statement runs."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received: list[bytes] = []

    def drop_after_reading() -> None:
        for _ in range(3):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            received.append(conn.recv(65536))
            conn.close()

    threading.Thread(target=drop_after_reading, daemon=True).start()
    host = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = WarehouseSettings(host=host, warehouse_id="w", token="t")
    client = WarehouseClient(settings, StaticToken("t"), requests.Session(), sleep=Pauses())
    try:
        with pytest.raises(WarehouseUnavailable):
            client.run(CALIFORNIA_2016, Deadline.after(5))
    finally:
        listener.close()
    assert len(received) == 1, "the execute was sent once"
