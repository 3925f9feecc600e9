"""Answering a dataset query: SQL → warehouse → polars → encoded body.

This is the miss path. polars is imported lazily so that a cold container serving
cache hits never pays for it. A page is fetched INLINE as JSON_ARRAY (small, and
the warehouse answers it in the first response); an export asks for EXTERNAL_LINKS
as ARROW_STREAM, typed straight into a frame, because a million rows of JSON text
would be slower to read and past the warehouse's 25 MiB INLINE cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from handler import conformance
from handler.catalogue import Dataset
from handler.observability import traced
from handler.query import Query
from handler.responses import CSV, JSON, PARQUET
from handler.result import StatementResult
from handler.sql import build_statement
from handler.warehouse import Deadline, WarehouseClient

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True, slots=True)
class Page:
    """An encoded page of results, ready to serve (and, later, to cache)."""

    body: bytes
    content_type: str
    row_count: int
    has_more: bool
    statement_id: str


def fetch_page(client: WarehouseClient, dataset: Dataset, query: Query, deadline: Deadline) -> Page:
    """Run the query's statement and encode one page of rows (or one export)."""
    if query.export:
        return _fetch_export(client, dataset, query, deadline)
    with traced("statement"):
        result = client.run(build_statement(dataset, query), deadline)
    conformance.check(
        result.columns, conformance.expected_columns(dataset, query), result.statement_id
    )
    rows = result.rows
    # The statement asks for limit+1 rows: the extra one only says "there is more".
    # A truncated result (a warehouse size cap) also means more rows exist.
    has_more = len(rows) > query.limit or result.truncated
    page = StatementResult(
        statement_id=result.statement_id,
        columns=result.columns,
        rows=rows[: query.limit],
        truncated=result.truncated,
    )
    from handler import shaping  # deferred: polars costs ~150 ms of cold start

    with traced("shaping"):
        frame = shaping.to_frame(page)
        body, content_type = _encoded(frame, query)
    return Page(
        body=body,
        content_type=content_type,
        row_count=len(page.rows),
        has_more=has_more,
        statement_id=result.statement_id,
    )


def _fetch_export(
    client: WarehouseClient, dataset: Dataset, query: Query, deadline: Deadline
) -> Page:
    with traced("statement"):
        # The statement holds LIMIT limit+1, so the frame never exceeds the export's bound.
        result = client.run_arrow(build_statement(dataset, query), deadline)
    conformance.check(
        result.columns, conformance.expected_columns(dataset, query), result.statement_id
    )
    frame = result.frame
    has_more = frame.height > query.limit or result.truncated
    frame = frame.head(query.limit)
    with traced("shaping"):
        body, content_type = _encoded(frame, query)
    return Page(
        body=body,
        content_type=content_type,
        row_count=frame.height,
        has_more=has_more,
        statement_id=result.statement_id,
    )


def _encoded(frame: pl.DataFrame, query: Query) -> tuple[bytes, str]:
    from handler import encoding

    if query.format == "csv":
        return encoding.to_csv(frame), CSV
    if query.format == "parquet":
        return encoding.to_parquet(frame), PARQUET
    return encoding.to_json(frame), JSON
