"""The warehouse client under faults, over real HTTP to the emulator's fault switches.

One section per rule the client keeps when the warehouse (or what sits in front of it)
misbehaves; the emulator's stats say what reached it. Time is FakeTime's: budgets,
backoff and the container's throttle move only when the client sleeps.
"""

from __future__ import annotations

import io
import math
import socket
from collections.abc import Iterator

import pytest
import requests

import handler.container  # noqa: F401  (configures the lakegate loggers as in Lambda)
from handler.errors import WarehouseRejected, WarehouseTimeout, WarehouseUnavailable
from handler.warehouse import Deadline, Statement, WarehouseClient, token_provider
from local.emulator import Emulator
from tests.handler.warehouse.conftest import FakeTime, faults, settings_for, stats
from tests.handler.warehouse.test_client import CALIFORNIA_2016, YEAR_2016


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


# --- 1. answers that cannot be read ---------------------------------------------------


def test_a_non_json_execute_answer_is_rejected_and_not_sent_again(
    emulator: Emulator, fake: FakeTime
) -> None:
    faults(emulator, garbage_body="execute")
    with pytest.raises(WarehouseRejected) as caught:
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(10))
    assert caught.value.statement_id is None  # the id was in the answer lakegate could not read
    assert stats(emulator)["executes_received"] == 1


def test_a_non_json_poll_answer_is_rejected_and_the_statement_cancelled(
    emulator: Emulator, fake: FakeTime
) -> None:
    faults(emulator, garbage_body="poll", slow_statement_ms=60_000)
    with pytest.raises(WarehouseRejected) as caught:
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(10))
    assert caught.value.statement_id
    assert stats(emulator)["cancels_received"] == 1


def test_a_non_json_chunk_is_rejected_and_nothing_returned(
    emulator: Emulator, fake: FakeTime
) -> None:
    faults(emulator, garbage_body="chunk")
    with pytest.raises(WarehouseRejected) as caught:
        fake.client(emulator).run(YEAR_2016, fake.deadline(10))
    assert caught.value.statement_id
    assert stats(emulator)["chunk_fetches"] == 1 and stats(emulator)["cancels_received"] == 1


@pytest.mark.parametrize("retry_after", ["inf", "nan", "-5", "soon", "1e400", "999999"])
def test_a_retry_after_is_believed_only_as_finite_capped_seconds(
    emulator: Emulator, fake: FakeTime, retry_after: str
) -> None:
    faults(emulator, throttle_always=True, retry_after=retry_after)
    with pytest.raises(WarehouseUnavailable) as caught:
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(20))
    assert all(math.isfinite(p) and 0 <= p <= 30 for p in fake.pauses), fake.pauses
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 30


def test_a_huge_retry_after_is_capped_not_slept(emulator: Emulator, fake: FakeTime) -> None:
    faults(emulator, throttle_always=True, retry_after="999999")
    with pytest.raises(WarehouseUnavailable) as caught:
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(20))
    assert fake.pauses == []  # 30 s (the cap) does not fit a 20 s budget: give up at once
    assert caught.value.retry_after == 30


# --- 2. answers that contradict themselves ---------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [{"external_links": True}, {"wrong_counts": "rows"}, {"wrong_counts": "chunks"}],
    ids=["external-links-in-inline", "row-count", "chunk-count"],
)
def test_an_answer_that_contradicts_the_request_or_itself_is_rejected(
    emulator: Emulator, fake: FakeTime, fault: dict[str, object]
) -> None:
    faults(emulator, **fault)
    with pytest.raises(WarehouseRejected) as caught:
        fake.client(emulator).run(YEAR_2016, fake.deadline(10))
    assert caught.value.statement_id
    assert stats(emulator)["cancels_received"] == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"wrong_counts": "absent", "chain_ends_after": 0},
        {"wrong_counts": "absent", "chain_ends_after": 7},
        {"wrong_counts": "absent"},
        {"chain_ends_after": 3},
    ],
    ids=["no-counts-first-chunk-only", "no-counts-eight-chunks", "no-counts", "counted-short"],
)
def test_an_answer_is_whole_only_when_the_manifest_vouches_for_it(
    emulator: Emulator, fake: FakeTime, fault: dict[str, object]
) -> None:
    faults(emulator, **fault)
    with pytest.raises(WarehouseRejected) as caught:
        fake.client(emulator).run(YEAR_2016, fake.deadline(10))
    assert caught.value.statement_id
    assert stats(emulator)["cancels_received"] == 1


def test_a_single_chunk_with_a_wrong_row_count_is_rejected(
    emulator: Emulator, fake: FakeTime
) -> None:
    faults(emulator, wrong_counts="rows")
    with pytest.raises(WarehouseRejected):
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(10))


# --- 3. chunk links ------------------------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[socket.socket]:
    """A host lakegate must never talk to; its accept queue shows whether it did."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    yield listener
    listener.close()


@pytest.mark.parametrize(
    "link", ["other_host", "protocol_relative", "absolute", "other_statement", "self"]
)
def test_only_this_statements_next_chunk_on_this_host_is_followed(
    emulator: Emulator, fake: FakeTime, elsewhere: socket.socket, link: str
) -> None:
    host, port = elsewhere.getsockname()
    faults(emulator, chunk_link=link, chunk_link_host=f"{host}:{port}")
    with pytest.raises(WarehouseRejected) as caught:
        fake.client(emulator).run(YEAR_2016, fake.deadline(10))
    assert caught.value.statement_id
    counted = stats(emulator)
    assert counted["chunk_fetches"] == 0, "refused before fetching"
    assert counted["cancels_received"] == 1
    with pytest.raises(BlockingIOError):
        elsewhere.accept()  # no connection: the Authorization header never left


# --- 4. one budget for polls and chunks ------------------------------------------------


def test_the_budget_is_checked_before_every_poll(emulator: Emulator, fake: FakeTime) -> None:
    faults(emulator, slow_statement_ms=600_000)
    with pytest.raises(WarehouseTimeout) as caught:
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(5))
    assert caught.value.statement_id
    assert sum(fake.pauses) <= 5
    counted = stats(emulator)
    assert counted["cancels_received"] == 1 and counted["by_state"]["CANCELED"] == 1


def test_the_budget_is_checked_before_every_chunk(emulator: Emulator) -> None:
    ticks = iter(range(10**6))  # every look at the clock costs a second
    client = FakeTime().client(emulator)
    with pytest.raises(WarehouseTimeout) as caught:
        client.run(YEAR_2016, Deadline(20, clock=lambda: float(next(ticks))))
    assert caught.value.statement_id
    counted = stats(emulator)
    assert 0 < counted["chunk_fetches"] < 19, "stopped part way through the twenty chunks"
    assert counted["cancels_received"] == 1


# --- 5. an execute is never sent twice once it may have been taken ---------------------


@pytest.mark.parametrize("status", [500, 502, 504])
def test_an_execute_answered_5xx_after_acceptance_is_not_sent_again(
    emulator: Emulator, fake: FakeTime, status: int
) -> None:
    faults(emulator, execute_status=status)
    with pytest.raises(WarehouseUnavailable):
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(10))
    counted = stats(emulator)
    assert counted["executes_received"] == 1 and counted["statements_run"] == 1
    assert fake.pauses == []


def test_an_execute_that_times_out_reading_is_not_sent_again(
    emulator: Emulator, fake: FakeTime
) -> None:
    faults(emulator, execute_stall=True)
    client = fake.client(emulator, read_timeout_seconds=0.3)
    with pytest.raises(WarehouseTimeout):
        client.run(CALIFORNIA_2016, fake.deadline(10))
    assert stats(emulator)["executes_received"] == 1


@pytest.mark.parametrize("fault", [{"throttle_always": True}, {"unavailable_next": 10}])
def test_a_refused_execute_is_tried_at_most_three_times(
    emulator: Emulator, fake: FakeTime, fault: dict[str, object]
) -> None:
    faults(emulator, **fault)
    with pytest.raises(WarehouseUnavailable):
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(25))
    counted = stats(emulator)
    assert counted["executes_received"] == 3 and counted["statements_run"] == 0


def test_polls_keep_retrying_transient_failures_within_the_budget(
    emulator: Emulator, fake: FakeTime
) -> None:
    faults(emulator, slow_statement_ms=600_000, unavailable_polls=True)
    with pytest.raises(WarehouseUnavailable) as caught:
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(10))
    counted = stats(emulator)
    assert counted["polls_received"] > 3, "polls are not held to the execute's three tries"
    assert counted["executes_received"] == 1
    # 7. Polls failing until the budget ends: the statement is cancelled and named.
    assert caught.value.statement_id
    assert counted["cancels_received"] == 1 and counted["by_state"]["CANCELED"] == 1


# --- 6. a 429 holds the whole container back -------------------------------------------


def test_after_a_429_new_executes_fail_fast_until_retry_after_has_passed(
    emulator: Emulator, fake: FakeTime
) -> None:
    faults(emulator, throttle_always=True, retry_after="8")
    client = fake.client(emulator)
    with pytest.raises(WarehouseUnavailable):
        client.run(CALIFORNIA_2016, fake.deadline(25))
    sent = stats(emulator)["executes_received"]
    faults(emulator, throttle_always=False)
    with pytest.raises(WarehouseUnavailable) as held:
        client.run(YEAR_2016, fake.deadline(25))  # another key, same container
    assert stats(emulator)["executes_received"] == sent, "failed fast, nothing sent"
    assert held.value.retry_after is not None and 1 <= held.value.retry_after <= 8
    fake.now += 8
    assert len(client.run(CALIFORNIA_2016, fake.deadline(25)).rows) == 38


def test_an_upstream_retry_after_never_reaches_clients_unbounded(
    emulator: Emulator, fake: FakeTime
) -> None:
    faults(emulator, throttle_always=True, retry_after="999999")
    client = fake.client(emulator)
    for _ in range(2):  # the throttled answer, then the container's own fail-fast
        with pytest.raises(WarehouseUnavailable) as caught:
            client.run(CALIFORNIA_2016, fake.deadline(25))
        assert caught.value.retry_after == 30
    assert stats(emulator)["executes_received"] == 1


# --- 7. every give-up with a statement id cancels it -----------------------------------


def test_a_statement_the_warehouse_ended_itself_is_not_cancelled(
    emulator: Emulator, fake: FakeTime
) -> None:
    with pytest.raises(WarehouseRejected) as caught:
        fake.client(emulator).run(Statement(sql="SELECT * FROM nowhere"), fake.deadline(10))
    assert caught.value.statement_id
    assert stats(emulator)["cancels_received"] == 0


# --- 8. no credential in any log line ------------------------------------------------------


def test_no_log_line_carries_a_credential(
    emulator: Emulator,
    fake: FakeTime,
    caplog: pytest.LogCaptureFixture,
    every_log_line: io.StringIO,
) -> None:
    config = emulator.config
    faults(emulator, throttle_next=1)
    fake.client(emulator).run(YEAR_2016, fake.deadline(10))  # a retry, twenty chunks
    faults(emulator, chunk_link="absolute")
    with pytest.raises(WarehouseRejected):  # a refused answer, and a cancel
        fake.client(emulator).run(YEAR_2016, fake.deadline(10))
    settings = settings_for(
        emulator, token=None, client_id=config.oauth_client_id,
        client_secret=config.oauth_client_secret,
    )  # fmt: skip
    session = requests.Session()
    tokens = token_provider(settings, session)
    faults(emulator, chunk_link=None)
    WarehouseClient(settings, tokens, session).run(CALIFORNIA_2016, fake.deadline(10))
    wrong = settings_for(emulator, token="dapi-wrong-secret-token")
    with pytest.raises(WarehouseRejected):  # 403, credentials refused
        WarehouseClient(wrong, token_provider(wrong, session), session).run(
            CALIFORNIA_2016, fake.deadline(10)
        )
    lines = every_log_line.getvalue()
    assert "warehouse call failed" in lines and "statement cancelled" in lines, "captured"
    logged = lines + "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    secrets = (config.token, tokens.token(), config.oauth_client_secret, "dapi-wrong-secret")
    for secret in secrets:
        assert secret not in logged
    assert "Authorization" not in logged and "Bearer" not in logged


@pytest.mark.parametrize(
    "fault",
    [
        {"unauthenticated_next": 1},
        {"throttle_next": 1},
        {"unavailable_next": 1},
        {"execute_status": 500},
        {"unavailable_polls": True, "slow_statement_ms": 60_000},
        {"fail_next": 1},
    ],
    ids=["401", "429", "503", "500-after-accepting", "poll-503", "FAILED"],
)
def test_no_warehouse_error_field_reaches_a_log_line_or_an_error(
    emulator: Emulator,
    fake: FakeTime,
    caplog: pytest.LogCaptureFixture,
    every_log_line: io.StringIO,
    fault: dict[str, object],
) -> None:
    # The emulator puts the request's Authorization header (the token) in error_code,
    # message and sql_state of every error it answers.
    faults(emulator, echo_credentials=True, **fault)
    failures = []
    for statement in (CALIFORNIA_2016, YEAR_2016):
        try:
            fake.client(emulator).run(statement, fake.deadline(10))
        except (WarehouseRejected, WarehouseUnavailable, WarehouseTimeout) as failure:
            failures.append(failure)
    logged = every_log_line.getvalue()
    assert "error_code" in logged, "the warehouse's error was logged"
    logged += "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    logged += "\n".join(f"{f!r} {vars(f)}" for f in failures)
    token = emulator.config.token
    assert token not in logged and token[5:] not in logged
    assert "Bearer" not in logged
    assert all(f.error_code in (None, "UNRECOGNISED") for f in failures)
