"""Statements: the store, the state machine, and the counters tests read.

PENDING -> RUNNING -> SUCCEEDED | FAILED | CANCELED, and SUCCEEDED -> CLOSED once the
result has been kept for result_ttl_s. Each accepted statement runs on its own daemon
thread with its own DuckDB cursor on the one shared in-memory database (queries.py
runs it); it spends half of the latency PENDING and the rest RUNNING, so pollers see
both states.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import duckdb

from local.emulator import queries
from local.emulator.config import EmulatorConfig
from local.emulator.execute import StatementRequest
from local.emulator.faults import Faults
from local.emulator.translate import StatementError, Translation, translate
from local.emulator.wire import ApiError, Result, chunk_count, manifest, result_data


class State(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    CLOSED = "CLOSED"


TERMINAL = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELED, State.CLOSED})

# What /__emulator/stats reports: calls received (before authentication and faults) and
# what came of them.
COUNTERS = (
    "requests",  # every /api/ call
    "executes_received",  # POST /statements, even those answered 401/429/503
    "polls_received",
    "chunk_fetches",
    "cancels_received",
    "statements_executed",  # accepted and started
    "cancelled",  # statements that a cancel actually moved to CANCELED
    "throttled",  # answered 429
    "unavailable",  # answered 503
    "links_issued",  # presigned EXTERNAL_LINKS handed out (a fresh one per chunk GET)
    "link_downloads",  # GETs of a presigned link at the storage, refused ones included
    "link_downloads_refused",  # answered 4xx/5xx by the storage
    "link_bytes_served",  # result-file bytes the storage sent
)


@dataclass(frozen=True)
class Plan:
    """What the faults decided for a statement when it was accepted."""

    latency_s: float
    hang: bool
    doomed: bool


@dataclass(eq=False)
class Statement:
    id: str
    request: StatementRequest
    state: State = State.PENDING
    error: dict[str, str] | None = None
    sql_state: str | None = None
    result: Result | None = None
    finished_at: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    cursor: duckdb.DuckDBPyConnection | None = None


class Engine:
    """Thread-safe statement store; every state change happens under one lock."""

    def __init__(
        self, database: duckdb.DuckDBPyConnection, config: EmulatorConfig, faults: Faults
    ) -> None:
        self._database = database
        self._config = config
        self._faults = faults
        self._lock = threading.Lock()
        self._statements: dict[str, Statement] = {}
        self._finished: deque[Statement] = deque()  # in finishing order, for expiry
        self._closed: deque[Statement] = deque()
        self._counters: Counter[str] = Counter()
        # The threads running statements: close() waits for them, because closing the
        # database under a cursor that is still executing or fetching makes DuckDB refuse.
        self._runs: set[threading.Thread] = set()

    # --- commands -------------------------------------------------------

    def count(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[counter] += amount

    def submit(self, request: StatementRequest) -> Statement:
        """Accept a statement and start it; SQL problems surface later as FAILED."""
        translation: Translation | StatementError
        try:
            translation = translate(request.statement, request.parameters)
        except StatementError as problem:
            translation = problem
        now = self._faults.current()
        latency_ms = next(
            ms
            for ms in (now.slow_statement_ms, now.latency_ms, self._config.latency_ms)
            if ms is not None
        )
        plan = Plan(latency_ms / 1000, now.hang, self._faults.take_statement_failure())
        statement = Statement(id=str(uuid.uuid4()), request=request)
        with self._lock:
            self._expire(time.monotonic())
            self._statements[statement.id] = statement
            self._counters["statements_executed"] += 1
        run = threading.Thread(
            target=self._run_then_forget,
            args=(statement, translation, plan),
            name=f"statement-{statement.id[:8]}",
            daemon=True,
        )
        with self._lock:  # started under the lock: close() never joins an unstarted run
            self._runs.add(run)
            run.start()
        return statement

    def cancel(self, statement_id: str) -> Statement:
        """Cancel unless already terminal (then nothing happens, as on Databricks)."""
        with self._lock:
            statement = self._find(statement_id)
            if not self._settle(statement, State.CANCELED):
                return statement
            self._counters["cancelled"] += 1
            cursor = statement.cursor
        statement.cancelled.set()
        if cursor is not None:
            # Stops a long DuckDB query instead of waiting for it; the run may have
            # closed its cursor meanwhile, which is fine.
            with contextlib.suppress(duckdb.Error):
                cursor.interrupt()
        return statement

    def reset(self) -> None:
        """Cancel whatever runs, forget every statement and zero the counters."""
        self.close()
        with self._lock:
            self._statements.clear()
            self._finished.clear()
            self._closed.clear()
            self._counters.clear()

    def close(self, wait_s: float = 30.0) -> None:
        """Cancel whatever runs and wait (up to `wait_s`) for its threads to let go of
        the database: a cancelled query may still be finishing a fetch."""
        with self._lock:
            running = [s.id for s in self._statements.values() if s.state not in TERMINAL]
        for statement_id in running:
            self.cancel(statement_id)
        deadline = time.monotonic() + wait_s
        with self._lock:
            runs = list(self._runs)
        for run in runs:
            run.join(max(0.0, deadline - time.monotonic()))

    # --- queries --------------------------------------------------------

    def get(self, statement_id: str) -> Statement:
        with self._lock:
            self._expire(time.monotonic())
            return self._find(statement_id)

    def describe(self, statement: Statement) -> dict[str, Any]:
        """The StatementResponse body: manifest and first chunk only once SUCCEEDED."""
        with self._lock:
            state, error, sql_state, result = (
                statement.state,
                statement.error,
                statement.sql_state,
                statement.result,
            )
        status: dict[str, Any] = {"state": state.value}
        if state is State.FAILED and error is not None:
            status["error"] = error
            if sql_state:
                status["sql_state"] = sql_state
        body: dict[str, Any] = {"statement_id": statement.id, "status": status}
        if state is State.SUCCEEDED and result is not None:
            body["manifest"] = manifest(result, self._config.chunk_rows)
            if result.rows:  # an empty result has no chunk 0, so no "result" either
                body["result"] = result_data(statement.id, result, 0, self._config.chunk_rows)
        return body

    def result_chunk(self, statement_id: str, index: int) -> dict[str, Any]:
        """A ResultData body for GET .../result/chunks/{index}."""
        with self._lock:
            self._expire(time.monotonic())
            statement = self._find(statement_id)
            state, result = statement.state, statement.result
        if state is not State.SUCCEEDED or result is None:
            raise ApiError(
                400, "INVALID_STATE", f"Statement {statement_id} is {state.value}; it has no result"
            )
        if not 0 <= index < chunk_count(result, self._config.chunk_rows):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"chunk_index {index} is out of range")
        return result_data(statement_id, result, index, self._config.chunk_rows)

    def result_file(self, statement_id: str, index: int) -> tuple[str, bytes] | None:
        """(format, bytes) of an EXTERNAL_LINKS chunk file, or None if there is no such file."""
        with self._lock:
            self._expire(time.monotonic())
            statement = self._statements.get(statement_id)
            result = statement.result if statement is not None else None
        if result is None or result.files is None or not 0 <= index < len(result.files):
            return None
        return result.format, result.files[index]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_state = Counter(s.state.value for s in self._statements.values())
            counters = dict(self._counters)
        stats: dict[str, Any] = {name: counters.get(name, 0) for name in COUNTERS}
        # statements_executed is the older name of statements_run (load tests read it).
        stats["statements_run"] = stats["statements_executed"]
        stats["by_state"] = {state.value: by_state.get(state.value, 0) for state in State}
        return stats

    # --- the run --------------------------------------------------------

    def _run_then_forget(
        self, statement: Statement, translation: Translation | StatementError, plan: Plan
    ) -> None:
        try:
            self._run(statement, translation, plan)
        finally:
            with self._lock:
                self._runs.discard(threading.current_thread())

    def _run(
        self, statement: Statement, translation: Translation | StatementError, plan: Plan
    ) -> None:
        if statement.cancelled.wait(plan.latency_s / 2):
            return
        with self._lock:
            if statement.state is not State.PENDING:
                return
            statement.state = State.RUNNING
        if plan.hang:
            statement.cancelled.wait()  # only cancel (or stop/reset) ends a hung statement
            return
        started = time.monotonic()
        outcome = queries.outcome(
            self._database,
            statement.request,
            translation,
            doomed=plan.doomed,
            attach=lambda cursor: self._attach(statement, cursor),
            chunk_rows=self._config.chunk_rows,
        )
        remaining = plan.latency_s / 2 - (time.monotonic() - started)
        if remaining > 0 and statement.cancelled.wait(remaining):
            return
        with self._lock:
            if statement.state in TERMINAL:  # cancelled while DuckDB ran: drop the outcome
                return
            if isinstance(outcome, Result):
                statement.result = outcome
                self._settle(statement, State.SUCCEEDED)
            else:
                statement.error = {"error_code": outcome[0], "message": outcome[1]}
                statement.sql_state = outcome[2]
                self._settle(statement, State.FAILED)

    # --- helpers (callers hold the lock where noted) ---------------------

    def _attach(self, statement: Statement, cursor: duckdb.DuckDBPyConnection | None) -> None:
        """Remember the cursor a statement runs on, so cancel can interrupt it."""
        with self._lock:
            statement.cursor = cursor

    def _find(self, statement_id: str) -> Statement:
        statement = self._statements.get(statement_id)
        if statement is None:
            raise ApiError(404, "NOT_FOUND", f"Statement {statement_id} not found")
        return statement

    def _settle(self, statement: Statement, state: State) -> bool:
        """Lock held. Move to a terminal state once; False if it already was terminal."""
        if statement.state in TERMINAL:
            return False
        statement.state = state
        statement.finished_at = time.monotonic()
        self._finished.append(statement)
        statement.done.set()
        return True

    def _expire(self, now: float) -> None:
        """Lock held. Close results older than the TTL; forget statements after twice that."""
        ttl = self._config.result_ttl_s
        while self._finished and self._finished[0].finished_at < now - ttl:
            statement = self._finished.popleft()
            if statement.state is State.SUCCEEDED:
                statement.state, statement.result = State.CLOSED, None
            self._closed.append(statement)
        while self._closed and self._closed[0].finished_at < now - 2 * ttl:
            self._statements.pop(self._closed.popleft().id, None)
