"""A small client for the Databricks SQL Statement Execution API 2.0.

One call, `run(statement, deadline)`: execute with named parameters, poll while the
statement is PENDING/RUNNING, follow every result chunk, and cancel the statement if
the deadline passes. Transient failures (429, 503, connection errors) are retried
with backoff inside the same deadline; other 4xx are never retried.

Nothing the warehouse says in prose (error messages) is read: only states, codes
and statement ids reach exceptions and logs.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from handler.errors import (
    UpstreamError,
    WarehouseRejected,
    WarehouseTimeout,
    WarehouseUnavailable,
)
from handler.result import ResultColumn, StatementResult
from handler.settings import WarehouseSettings
from handler.warehouse.auth import TokenProvider
from handler.warehouse.deadline import (
    Deadline,
    backoff_seconds,
    parse_retry_after,
    poll_interval_seconds,
)
from handler.warehouse.wire import (
    TERMINAL_STATES,
    ErrorBody,
    ResultData,
    ResultManifest,
    StatementResponse,
)

logger = Logger(service="lakegate", child=True)

_ModelT = TypeVar("_ModelT", bound=BaseModel)

_STATEMENTS_PATH = "/api/2.0/sql/statements/"
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_MIN_WAIT_TIMEOUT = 5  # the API accepts 0 or 5..50 seconds


@dataclass(frozen=True, slots=True)
class Parameter:
    """A named parameter marker value; Databricks takes every value as a string."""

    name: str
    value: str | None
    type: str = "STRING"


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    parameters: tuple[Parameter, ...] = ()
    row_limit: int | None = None


class WarehouseClient:
    def __init__(
        self,
        settings: WarehouseSettings,
        tokens: TokenProvider,
        session: requests.Session,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        self._session = session
        self._sleep = sleep

    def run(self, statement: Statement, deadline: Deadline) -> StatementResult:
        """Execute a statement and return every row, or raise a WarehouseError."""
        started = time.perf_counter()
        response = self._execute(statement, deadline)
        response = self._await_terminal(response, deadline)
        result = self._collect(response, deadline)
        logger.info(
            "warehouse statement finished",
            extra={
                "statement_id": result.statement_id,
                "rows": len(result.rows),
                "truncated": result.truncated,
                "warehouse_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return result

    # -- the three phases ------------------------------------------------------------

    def _execute(self, statement: Statement, deadline: Deadline) -> StatementResponse:
        body: dict[str, Any] = {
            "statement": statement.sql,
            "warehouse_id": self._settings.warehouse_id,
            "parameters": [
                {"name": p.name, "value": p.value, "type": p.type} for p in statement.parameters
            ],
            "wait_timeout": f"{self._wait_timeout(deadline)}s",
            "on_wait_timeout": "CONTINUE",
            "disposition": "INLINE",
            "format": "JSON_ARRAY",
        }
        if statement.row_limit is not None:
            body["row_limit"] = statement.row_limit
        payload = self._call("POST", _STATEMENTS_PATH, deadline, json=body)
        return _parse(StatementResponse, payload)

    def _await_terminal(self, response: StatementResponse, deadline: Deadline) -> StatementResponse:
        polls = 0
        while response.status.state not in TERMINAL_STATES:
            pause = poll_interval_seconds(polls)
            if deadline.remaining() <= pause:
                self._cancel(response.statement_id)
                raise WarehouseTimeout(
                    "statement outlived its time budget; cancelled",
                    statement_id=response.statement_id,
                )
            self._sleep(pause)
            polls += 1
            payload = self._call("GET", f"{_STATEMENTS_PATH}{response.statement_id}", deadline)
            response = _parse(StatementResponse, payload)
        if response.status.state != "SUCCEEDED":
            error_code = response.status.error.error_code if response.status.error else None
            logger.warning(
                "warehouse statement did not succeed",
                extra={
                    "statement_id": response.statement_id,
                    "state": response.status.state,
                    "error_code": error_code,
                },
            )
            raise WarehouseRejected(
                f"statement ended {response.status.state}",
                statement_id=response.statement_id,
                error_code=error_code,
            )
        return response

    def _collect(self, response: StatementResponse, deadline: Deadline) -> StatementResult:
        manifest = response.manifest or ResultManifest()
        schema = manifest.result_schema
        if schema is None:
            raise WarehouseRejected(
                "succeeded without a schema", statement_id=response.statement_id
            )
        columns = tuple(
            ResultColumn(
                name=c.name,
                type_name=c.type_name or "STRING",
                type_text=c.type_text or c.type_name or "STRING",
                type_precision=c.type_precision,
                type_scale=c.type_scale,
            )
            for c in sorted(schema.columns, key=lambda c: c.position or 0)
        )
        rows: list[list[str | None]] = []
        chunk: ResultData | None = response.result
        while chunk is not None:
            rows.extend(chunk.data_array or ())
            link = chunk.next_chunk_internal_link
            if link is None:
                break
            chunk = _parse(ResultData, self._call("GET", link, deadline))
        if any(len(r) != len(columns) for r in rows):
            raise WarehouseRejected(
                "row width differs from schema", statement_id=response.statement_id
            )
        return StatementResult(
            statement_id=response.statement_id,
            columns=columns,
            rows=rows,
            truncated=manifest.truncated,
        )

    # -- transport ---------------------------------------------------------------------

    def _wait_timeout(self, deadline: Deadline) -> int:
        # The server holds the execute call open this long; it must end inside the budget.
        wanted = self._settings.wait_timeout_seconds
        room = int(deadline.remaining()) - 1
        if wanted <= room:
            return wanted
        return _MIN_WAIT_TIMEOUT if room >= _MIN_WAIT_TIMEOUT else 0

    def _call(self, method: str, path: str, deadline: Deadline, **kwargs: Any) -> Any:
        for attempt in itertools.count():
            try:
                return self._attempt(method, path, deadline, **kwargs)
            except _Retryable as retry:
                pause = backoff_seconds(attempt, retry_after=retry.retry_after)
                if deadline.remaining() <= pause:
                    if retry.retry_after is not None:
                        retry.failure.retry_after = max(1, math.ceil(retry.retry_after))
                    raise retry.failure from retry
                logger.info("retrying warehouse call", extra={"attempt": attempt + 1})
                self._sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover - itertools.count never ends

    def _attempt(self, method: str, path: str, deadline: Deadline, **kwargs: Any) -> Any:
        try:
            response = self._send(method, path, deadline, **kwargs)
        except requests.ConnectionError as exc:
            unreachable = WarehouseUnavailable("warehouse unreachable")
            # A dropped connection after the execute was sent may mean the statement runs:
            # retry an execute only when no connection was ever made.
            if method == "POST" and not _never_connected(exc):
                raise unreachable from exc
            raise _Retryable(unreachable) from exc
        except requests.Timeout as exc:
            timeout = WarehouseTimeout("warehouse did not answer in time")
            # A read timeout on execute may mean the statement started: never run it twice.
            if method == "POST":
                raise timeout from exc
            raise _Retryable(timeout) from exc
        if response.status_code < 300:
            return response.json()
        failure = self._failure(response)
        if response.status_code in _RETRYABLE_STATUS:
            raise _Retryable(failure, parse_retry_after(response.headers.get("Retry-After")))
        raise failure

    def _send(self, method: str, path: str, deadline: Deadline, **kwargs: Any) -> requests.Response:
        read_timeout = min(self._settings.read_timeout_seconds, max(0.5, deadline.remaining()))
        return self._session.request(
            method,
            f"{self._settings.host}{path}",
            headers={"Authorization": f"Bearer {self._tokens.token()}"},
            timeout=(self._settings.connect_timeout_seconds, read_timeout),
            **kwargs,
        )

    def _failure(self, response: requests.Response) -> UpstreamError:
        error_code = _error_code(response)
        status = response.status_code
        logger.warning(
            "warehouse call failed", extra={"http_status": status, "error_code": error_code}
        )
        if status in (401, 403):
            self._tokens.invalidate()
            return WarehouseRejected("warehouse refused our credentials", error_code=error_code)
        if status in _RETRYABLE_STATUS:
            return WarehouseUnavailable(f"warehouse answered {status}", error_code=error_code)
        return WarehouseRejected(f"warehouse answered {status}", error_code=error_code)

    def _cancel(self, statement_id: str) -> None:
        # Best effort: a statement we no longer wait for must not keep the warehouse busy.
        try:
            self._session.post(
                f"{self._settings.host}{_STATEMENTS_PATH}{statement_id}/cancel",
                headers={"Authorization": f"Bearer {self._tokens.token()}"},
                timeout=(self._settings.connect_timeout_seconds, 2.0),
            )
        except Exception:  # the request is already failing with a timeout; don't mask it
            logger.warning("cancel failed", extra={"statement_id": statement_id})
        else:
            logger.info("statement cancelled", extra={"statement_id": statement_id})


class _Retryable(Exception):
    """A failure worth another attempt, if the deadline allows one."""

    def __init__(self, failure: UpstreamError, retry_after: float | None = None) -> None:
        super().__init__(failure.detail)
        self.failure = failure
        self.retry_after = retry_after


def _never_connected(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _error_code(response: requests.Response) -> str | None:
    try:
        return ErrorBody.model_validate_json(response.content).error_code
    except ValidationError:
        return None


def _parse(model: type[_ModelT], payload: Any) -> _ModelT:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise WarehouseRejected("warehouse sent an unreadable answer") from exc
