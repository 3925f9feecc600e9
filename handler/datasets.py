"""Answering a dataset query: SQL → warehouse → polars → encoded body.

This is the miss path. polars is imported lazily so that a cold container serving
cache hits never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from handler.catalogue import Dataset
from handler.observability import traced
from handler.query import Query
from handler.responses import CSV, JSON
from handler.result import StatementResult
from handler.sql import build_statement
from handler.warehouse import Deadline, WarehouseClient


@dataclass(frozen=True, slots=True)
class Page:
    """An encoded page of results, ready to serve (and, later, to cache)."""

    body: bytes
    content_type: str
    row_count: int
    has_more: bool
    statement_id: str


def fetch_page(client: WarehouseClient, dataset: Dataset, query: Query, deadline: Deadline) -> Page:
    """Run the query's statement and encode one page of rows."""
    with traced("statement"):
        result = client.run(build_statement(dataset, query), deadline)
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
    from handler import encoding, shaping  # deferred: polars costs ~150 ms of cold start

    with traced("shaping"):
        frame = shaping.to_frame(page)
        if query.format == "csv":
            body, content_type = encoding.to_csv(frame), CSV
        else:
            body, content_type = encoding.to_json(frame), JSON
    return Page(
        body=body,
        content_type=content_type,
        row_count=len(page.rows),
        has_more=has_more,
        statement_id=result.statement_id,
    )
