"""Answers broken in transit, over real HTTP to the emulator's `broken_answer` switch.

A connection reset mid-body, a Content-Encoding that does not decode, an answer that
drips in a byte at a time: never a crash (requests' ChunkedEncodingError and
ContentDecodingError are failures like any other), polls and chunks are fetched again
within the budget, an execute is not (it may have been taken), the whole exchange ends
by the deadline, and a statement lakegate gives up on is cancelled.
"""

from __future__ import annotations

import time

import pytest

from handler.errors import WarehouseTimeout, WarehouseUnavailable
from handler.warehouse import Deadline
from local.emulator import Emulator
from tests.handler.warehouse.conftest import FakeTime, client_for, faults, stats
from tests.handler.warehouse.test_client import CALIFORNIA_2016, YEAR_2016

BREAKS = ["reset", "garbled"]


@pytest.mark.parametrize("how", BREAKS)
def test_a_broken_execute_answer_is_unavailable_and_never_sent_again(
    emulator: Emulator, how: str
) -> None:
    faults(emulator, broken_answer=how, broken_call="execute")
    fake = FakeTime()
    with pytest.raises(WarehouseUnavailable) as caught:
        fake.client(emulator).run(CALIFORNIA_2016, fake.deadline(10))
    assert caught.value.statement_id is None, "the id was in the answer that broke"
    counted = stats(emulator)
    assert counted["executes_received"] == 1 and counted["statements_run"] == 1
    assert fake.pauses == []


@pytest.mark.parametrize("how", BREAKS)
def test_broken_chunks_are_fetched_again_and_the_answer_is_whole(
    emulator: Emulator, how: str
) -> None:
    faults(emulator, broken_answer=how, broken_call="chunk", broken_next=2)
    fake = FakeTime()
    result = fake.client(emulator).run(YEAR_2016, fake.deadline(10))
    assert len(result.rows) == 51 * 19 * 2
    assert len({tuple(row) for row in result.rows}) == len(result.rows)
    counted = stats(emulator)
    assert counted["chunk_fetches"] == 19 + 2, "each broken chunk asked for once more"
    assert counted["cancels_received"] == 0


@pytest.mark.parametrize(("how", "call"), [(h, c) for h in BREAKS for c in ("poll", "chunk")])
def test_answers_that_keep_breaking_end_the_request_at_the_budget_and_cancel(
    emulator: Emulator, how: str, call: str
) -> None:
    slow = {"slow_statement_ms": 60_000} if call == "poll" else {}
    faults(emulator, broken_answer=how, broken_call=call, **slow)
    fake = FakeTime()
    with pytest.raises(WarehouseUnavailable) as caught:
        fake.client(emulator).run(YEAR_2016, fake.deadline(10))
    assert caught.value.statement_id
    assert sum(fake.pauses) <= 10
    counted = stats(emulator)
    fetched = counted["polls_received" if call == "poll" else "chunk_fetches"]
    assert fetched > 2, "retried while the budget lasted"
    assert counted["cancels_received"] == 1


@pytest.mark.parametrize("call", ["execute", "poll", "chunk"])
def test_a_dripping_answer_ends_by_the_deadline(emulator: Emulator, call: str) -> None:
    slow = {"slow_statement_ms": 60_000} if call == "poll" else {}
    faults(emulator, broken_answer="drip", broken_call=call, drip_ms=100, **slow)
    client = client_for(emulator, read_timeout_seconds=30.0)  # each read comes in time
    started = time.monotonic()
    with pytest.raises(WarehouseTimeout) as caught:
        client.run(YEAR_2016, Deadline.after(1.5))
    elapsed = time.monotonic() - started
    assert 1.0 < elapsed < 4.0, f"the exchange outlived its budget: {elapsed:.1f} s"
    counted = stats(emulator)
    if call == "execute":
        assert caught.value.statement_id is None
        assert counted["cancels_received"] == 0 and counted["executes_received"] == 1
    else:
        assert caught.value.statement_id
        assert counted["cancels_received"] == 1


def test_a_dripping_download_ends_by_the_deadline(emulator: Emulator) -> None:
    faults(emulator, broken_answer="drip", broken_call="file", drip_ms=100)
    started = time.monotonic()
    with pytest.raises(WarehouseTimeout) as caught:
        client_for(emulator, read_timeout_seconds=30.0).run_arrow(YEAR_2016, Deadline.after(1.5))
    elapsed = time.monotonic() - started
    assert 1.0 < elapsed < 4.0, f"the download outlived its budget: {elapsed:.1f} s"
    assert caught.value.statement_id
    assert stats(emulator)["cancels_received"] == 1
