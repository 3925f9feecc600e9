"""A small client for the Databricks SQL Statement Execution API 2.0.

Two calls, in named phases under one Deadline:

    run(statement, deadline) -> StatementResult        INLINE + JSON_ARRAY (25 MiB at most)
    run_arrow(statement, deadline) -> FrameResult      EXTERNAL_LINKS + ARROW_STREAM (large)

    execute   POST the statement (transport: retried only where it cannot run twice)
    await     poll while PENDING/RUNNING, the budget checked before every poll
    succeed   anything but SUCCEEDED is a WarehouseRejected
    collect   follow every chunk, the budget checked before every fetch, and check the
              answer (results: links, external links, manifest counts, widths)
    download  (run_arrow) every chunk's presigned file, in parallel, without the bearer
              token, fresh links fetched for expired ones (links); then one typed frame
              straight from the Arrow streams (handler.arrow_frames)

Once the warehouse has named the statement, giving up for any reason (the budget,
polls failing until it ends, an answer refused) cancels it, and the error carries its
id. Modules: transport (HTTP and retries), throttle (the container's 429 memory),
results (checks on the answer), links (storage downloads), deadline (budgets, pacing,
Retry-After), wire (models).

Nothing the warehouse says in prose (error messages) is read: only states, codes
and statement ids reach exceptions and logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from aws_lambda_powertools import Logger

from handler.errors import UpstreamError, WarehouseRejected, WarehouseTimeout
from handler.result import FrameResult, StatementResult
from handler.settings import WarehouseSettings
from handler.warehouse import results
from handler.warehouse.auth import TokenProvider
from handler.warehouse.deadline import Deadline, poll_interval_seconds
from handler.warehouse.links import Downloads
from handler.warehouse.throttle import Throttle
from handler.warehouse.transport import STATEMENTS_PATH, Transport
from handler.warehouse.wire import (
    TERMINAL_STATES,
    ExternalLink,
    ResultData,
    ResultManifest,
    StatementResponse,
)

logger = Logger(service="lakegate", child=True)

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
    """One per container: it holds the HTTP sessions and the container's throttle state.

    `session` talks to the workspace (with the bearer token); `storage`, a session of
    its own, downloads EXTERNAL_LINKS files and never sees the token.
    """

    def __init__(
        self,
        settings: WarehouseSettings,
        tokens: TokenProvider,
        session: requests.Session,
        *,
        storage: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._sleep = sleep
        self._transport = Transport(settings, tokens, session, Throttle(clock), sleep)
        self._downloads = Downloads(
            storage or requests.Session(),
            # Plain-http links only where the workspace itself is plain http: the
            # embedded stack. A real workspace (https) hands out https links only.
            allow_http=settings.host.startswith("http://"),
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
            sleep=sleep,
            wall_clock=wall_clock,
        )

    def run(self, statement: Statement, deadline: Deadline) -> StatementResult:
        """Execute a statement and return every row (INLINE), or raise a WarehouseError."""
        started = time.perf_counter()
        response = self._finished(statement, deadline, "JSON_ARRAY")
        with self._abandoned_on_failure(response.statement_id):
            result = self._collect(response, deadline)
        _finished_log(result.statement_id, len(result.rows), result.truncated, started)
        return result

    def run_arrow(self, statement: Statement, deadline: Deadline) -> FrameResult:
        """Execute a statement for a large result (EXTERNAL_LINKS + ARROW_STREAM): one frame.

        The frame's dtypes are those `shaping.to_frame` gives `run`'s rows. Raises a
        WarehouseError like `run`: 502 for a bad answer or a download that keeps failing,
        504 when the budget ends first.
        """
        started = time.perf_counter()
        response = self._finished(statement, deadline, "ARROW_STREAM")
        with self._abandoned_on_failure(response.statement_id):
            result = self._download(response, deadline)
        _finished_log(result.statement_id, result.frame.height, result.truncated, started)
        return result

    # -- the phases ----------------------------------------------------------------------

    def _finished(
        self, statement: Statement, deadline: Deadline, result_format: str
    ) -> StatementResponse:
        """execute, await and succeed: the statement's SUCCEEDED answer."""
        response = self._execute(statement, deadline, result_format)
        with self._abandoned_on_failure(response.statement_id):
            response = self._await_terminal(response, deadline)
        _succeeded(response)
        return response

    def _execute(
        self, statement: Statement, deadline: Deadline, result_format: str
    ) -> StatementResponse:
        if deadline.expired():
            raise WarehouseTimeout("no time budget left to execute")
        body: dict[str, Any] = {
            "statement": statement.sql,
            "warehouse_id": self._settings.warehouse_id,
            "parameters": [
                {"name": p.name, "value": p.value, "type": p.type} for p in statement.parameters
            ],
            "wait_timeout": f"{self._wait_timeout(deadline)}s",
            "on_wait_timeout": "CONTINUE",
            # Databricks serves JSON_ARRAY inline, and Arrow only through external links.
            "disposition": "INLINE" if result_format == "JSON_ARRAY" else "EXTERNAL_LINKS",
            "format": result_format,
        }
        if statement.row_limit is not None:
            body["row_limit"] = statement.row_limit
        return self._transport.execute(body, StatementResponse, deadline)

    def _await_terminal(self, response: StatementResponse, deadline: Deadline) -> StatementResponse:
        statement_id = response.statement_id
        polls = 0
        while response.status.state not in TERMINAL_STATES:
            pause = poll_interval_seconds(polls)
            if deadline.remaining() <= pause:
                raise WarehouseTimeout(
                    "statement outlived its time budget; cancelled", statement_id=statement_id
                )
            self._sleep(pause)
            polls += 1
            response = self._transport.get(
                f"{STATEMENTS_PATH}{statement_id}", StatementResponse, deadline
            )
            if response.statement_id != statement_id:
                raise results.reject(statement_id, "poll answered for another statement")
        return response

    def _collect(self, response: StatementResponse, deadline: Deadline) -> StatementResult:
        statement_id = response.statement_id
        manifest = response.manifest or ResultManifest()
        columns = results.columns_of(response)
        rows: list[list[str | None]] = []
        chunks = 0
        chunk: ResultData | None = response.result
        index = 0
        while chunk is not None:
            results.check_chunk(chunk, index, statement_id, rows_before=len(rows))
            rows.extend(chunk.data_array or ())
            chunks += 1
            after = self._next_chunk(chunk, index, statement_id, manifest, deadline)
            if after is None:
                break
            chunk, index = after
        results.check_totals(manifest, rows, chunks, len(columns), statement_id)
        return StatementResult(
            statement_id=statement_id, columns=columns, rows=rows, truncated=manifest.truncated
        )

    def _download(self, response: StatementResponse, deadline: Deadline) -> FrameResult:
        statement_id = response.statement_id
        manifest = response.manifest or ResultManifest()
        results.check_arrow_manifest(manifest, statement_id)
        columns = results.columns_of(response)
        links: dict[int, ExternalLink] = {}

        def walked() -> Iterator[tuple[int, ExternalLink]]:
            for index, link in self._links(response, manifest, deadline):
                links[index] = link
                yield index, link

        streams = self._downloads.fetch_all(
            walked(),
            lambda index: self._fresh_link(statement_id, index, deadline),
            deadline,
            statement_id,
        )
        from handler import arrow_frames  # deferred: polars costs ~150 ms of cold start

        chunks = arrow_frames.read_chunks(streams, statement_id)
        results.check_chunk_rows(links, [chunk.height for chunk in chunks], statement_id)
        results.check_counts(manifest, sum(c.height for c in chunks), len(chunks), statement_id)
        frame = arrow_frames.to_frame(columns, chunks, statement_id)
        return FrameResult(statement_id, columns, frame, truncated=manifest.truncated)

    def _links(
        self, response: StatementResponse, manifest: ResultManifest, deadline: Deadline
    ) -> Iterator[tuple[int, ExternalLink]]:
        """Every chunk's link, along the chunk chain (each one checked before it is yielded)."""
        statement_id = response.statement_id
        chunk: ResultData | None = response.result
        index = 0
        while chunk is not None:
            link = results.link_of(chunk, index, statement_id)
            self._downloads.check(link, statement_id)
            yield index, link
            # The SDK models the chain on each link; accept it on the chunk as well.
            chained = link if link.next_chunk_index is not None else chunk
            if link.next_chunk_internal_link is not None:
                chained = link
            after = self._next_chunk(chained, index, statement_id, manifest, deadline)
            if after is None:
                break
            chunk, index = after

    def _next_chunk(
        self,
        chained: ResultData | ExternalLink,
        index: int,
        statement_id: str,
        manifest: ResultManifest,
        deadline: Deadline,
    ) -> tuple[ResultData, int] | None:
        """The chunk after `index` along the chain, fetched; None after the last one."""
        following = results.next_chunk(chained, index, statement_id, manifest.total_chunk_count)
        if following is None:
            return None
        if deadline.expired():
            raise WarehouseTimeout(
                "result outlived its time budget; cancelled", statement_id=statement_id
            )
        path = results.chunk_path(statement_id, following)
        return self._transport.get(path, ResultData, deadline), following

    def _fresh_link(self, statement_id: str, index: int, deadline: Deadline) -> ExternalLink:
        """A new presigned link for chunk `index`: each GET of a chunk signs one afresh."""
        if deadline.expired():
            raise WarehouseTimeout(
                "no time budget left for a fresh link", statement_id=statement_id
            )
        chunk = self._transport.get(results.chunk_path(statement_id, index), ResultData, deadline)
        return results.link_of(chunk, index, statement_id)

    # -- helpers -------------------------------------------------------------------------

    @contextmanager
    def _abandoned_on_failure(self, statement_id: str) -> Iterator[None]:
        """Any failure once the statement has an id cancels it and names it."""
        try:
            yield
        except UpstreamError as failure:
            if failure.statement_id is None:
                failure.statement_id = statement_id
            self._transport.cancel(statement_id)
            raise

    def _wait_timeout(self, deadline: Deadline) -> int:
        # The server holds the execute call open this long; it must end inside the budget.
        wanted = self._settings.wait_timeout_seconds
        room = int(deadline.remaining()) - 1
        if wanted <= room:
            return wanted
        return _MIN_WAIT_TIMEOUT if room >= _MIN_WAIT_TIMEOUT else 0


def _succeeded(response: StatementResponse) -> None:
    """A terminal state other than SUCCEEDED: the warehouse ended it, nothing to cancel."""
    if response.status.state == "SUCCEEDED":
        return
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


def _finished_log(statement_id: str, rows: int, truncated: bool, started: float) -> None:
    logger.info(
        "warehouse statement finished",
        extra={
            "statement_id": statement_id,
            "rows": rows,
            "truncated": truncated,
            "warehouse_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
