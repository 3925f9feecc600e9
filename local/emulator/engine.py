"""Statements: the store, the state machine and the DuckDB runs behind them.

PENDING -> RUNNING -> SUCCEEDED | FAILED | CANCELED, and SUCCEEDED -> CLOSED once the
result has been kept for result_ttl_s. Each accepted statement runs on its own daemon
thread with its own DuckDB cursor on the one shared in-memory database; it spends
half of the latency PENDING and the rest RUNNING, so pollers see both states.
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

from local.emulator.cells import column_info, encode_rows
from local.emulator.config import EmulatorConfig, Faults
from local.emulator.translate import (
    Parameter,
    StatementError,
    Translation,
    sql_state_of,
    translate,
    use_statement,
)
from local.emulator.wire import ApiError, Result, chunk_count, manifest, result_data

# Databricks aborts an INLINE statement whose result is larger than this.
INLINE_LIMIT_BYTES = 25 * 1024 * 1024


class State(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    CLOSED = "CLOSED"


TERMINAL = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELED, State.CLOSED})


@dataclass(frozen=True)
class StatementRequest:
    """An execute call after the HTTP layer has validated it."""

    statement: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    catalog: str | None = None
    schema: str | None = None
    row_limit: int | None = None
    byte_limit: int | None = None


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

    # --- commands -------------------------------------------------------

    def count(self, counter: str) -> None:
        with self._lock:
            self._counters[counter] += 1

    def submit(self, request: StatementRequest) -> Statement:
        """Accept a statement and start it; SQL problems surface later as FAILED."""
        translation: Translation | StatementError
        try:
            translation = translate(request.statement, request.parameters)
        except StatementError as problem:
            translation = problem
        latency_ms = self._faults.latency_ms
        latency_ms = self._config.latency_ms if latency_ms is None else latency_ms
        plan = Plan(latency_ms / 1000, self._faults.hang, self._faults.take_statement_failure())
        statement = Statement(id=str(uuid.uuid4()), request=request)
        with self._lock:
            self._expire(time.monotonic())
            self._statements[statement.id] = statement
            self._counters["statements_executed"] += 1
        threading.Thread(
            target=self._run,
            args=(statement, translation, plan),
            name=f"statement-{statement.id[:8]}",
            daemon=True,
        ).start()
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

    def close(self) -> None:
        with self._lock:
            running = [s.id for s in self._statements.values() if s.state not in TERMINAL]
        for statement_id in running:
            self.cancel(statement_id)

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

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_state = Counter(s.state.value for s in self._statements.values())
            counters = dict(self._counters)
        stats: dict[str, Any] = {
            name: counters.get(name, 0)
            for name in ("statements_executed", "requests", "cancelled", "throttled", "unavailable")
        }
        stats["by_state"] = {state.value: by_state.get(state.value, 0) for state in State}
        return stats

    # --- the run --------------------------------------------------------

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
        outcome = self._outcome(statement, translation, plan)
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

    def _outcome(
        self, statement: Statement, translation: Translation | StatementError, plan: Plan
    ) -> Result | tuple[str, str, str | None]:
        """The result, or (error_code, message, sql_state) for a FAILED statement."""
        if plan.doomed:
            return (
                "INTERNAL_ERROR",
                "Statement failed: injected by the emulator's fail_next/error_rate",
                "XX000",
            )
        if isinstance(translation, StatementError):
            return "BAD_REQUEST", translation.message, translation.sql_state
        try:
            result = self._execute(statement, translation)
        except duckdb.Error as error:
            return "BAD_REQUEST", str(error), sql_state_of(error)
        except Exception as error:  # a value the wire encoder cannot handle: never hang RUNNING
            return "INTERNAL_ERROR", f"{type(error).__name__}: {error}", None
        if result.byte_count > INLINE_LIMIT_BYTES:
            message = "Result exceeds the 25 MiB INLINE limit; set byte_limit or row_limit"
            return "BAD_REQUEST", message, None
        return result

    def _execute(self, statement: Statement, translation: Translation) -> Result:
        request = statement.request
        cursor = self._database.cursor()
        with self._lock:
            statement.cursor = cursor
        try:
            use = use_statement(request.catalog, request.schema)
            if use:
                cursor.execute(use)
            cursor.execute(translation.sql, translation.values)
            if cursor.description is None:  # DDL and the like: success without rows
                return Result(columns=[], rows=[], truncated=False, byte_count=0)
            names = [d[0] for d in cursor.description]
            types = [d[1] for d in cursor.description]
            limit = request.row_limit
            raw = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
        finally:
            with self._lock:
                statement.cursor = None
            cursor.close()
        truncated = limit is not None and len(raw) > limit
        rows, byte_count, cut = encode_rows(
            types, raw[:limit] if truncated else raw, request.byte_limit
        )
        columns = [
            column_info(name, t, i) for i, (name, t) in enumerate(zip(names, types, strict=True))
        ]
        return Result(columns=columns, rows=rows, truncated=truncated or cut, byte_count=byte_count)

    # --- helpers (callers hold the lock where noted) ---------------------

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
