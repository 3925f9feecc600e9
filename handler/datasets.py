"""Answering a dataset query: SQL → warehouse → polars → encoded body, or from a roll-up.

This is the miss path. polars is imported lazily so that a cold container serving
cache hits never pays for it. A page is fetched INLINE as JSON_ARRAY (small, and
the warehouse answers it in the first response); an export asks for EXTERNAL_LINKS
as ARROW_STREAM, typed straight into a frame, because a million rows of JSON text
would be slower to read and past the warehouse's 25 MiB INLINE cap.

A roll-up is fetched as an export is (Arrow, typed the same way), checked whole
(never truncated, within its `max_rows`, its columns those its declaration makes),
kept as Parquet (`fetch_rollup`, `decode_rollup`), and a query's page derived from
it (`derive_page`, handler.derivation) is encoded exactly as its statement's would be.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache import Decoded, Fetched
from handler import conformance
from handler.catalogue import Dataset
from handler.errors import WarehouseRejected
from handler.observability import traced
from handler.query import Query
from handler.responses import CSV, JSON, PARQUET
from handler.result import StatementResult
from handler.sql import build_rollup_statement, build_statement
from handler.vocabulary import Rollup
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


@dataclass(frozen=True, slots=True)
class HeldRollup:
    """A roll-up's rows as a container holds them."""

    frame: pl.DataFrame
    # Whether the dataset's row key (`order_by`) is unique in it: only then is the order
    # of raw rows the statement's, and only then are raw rows derived from it.
    unique_rows: bool
    # The order its rows are held in (the row key, ascending, NULLS FIRST; () for none):
    # raw rows asked in that order, the default, need no sort.
    ordered_by: tuple[str, ...] = ()


def fetch_rollup(
    client: WarehouseClient, dataset: Dataset, rollup: Rollup, deadline: Deadline
) -> Fetched[HeldRollup]:
    """Run the roll-up's statement; its rows as Parquet and as held, or only its count when
    it holds more than `max_rows` (it is then not used). Raises a WarehouseError (502) for
    an answer that is truncated or whose columns are not the declaration's."""
    with traced("rollup"):
        result = client.run_arrow(build_rollup_statement(dataset, rollup), deadline)
    conformance.check(
        result.columns, conformance.rollup_columns(dataset, rollup), result.statement_id
    )
    frame = result.frame
    if result.truncated:
        # A partial roll-up would make every answer derived from it wrong.
        raise WarehouseRejected("roll-up result truncated", statement_id=result.statement_id)
    if frame.height > rollup.max_rows:
        return Fetched(rows=frame.height)
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=False)
    return Fetched(rows=frame.height, body=buffer.getvalue(), decoded=_held(dataset, frame))


def decode_rollup(dataset: Dataset, body: bytes) -> Decoded[HeldRollup]:
    """A stored roll-up (Parquet) back into what a container holds."""
    import polars as pl

    return _held(dataset, pl.read_parquet(io.BytesIO(body)))


def derive_page(dataset: Dataset, rollup: Rollup, held: HeldRollup, query: Query) -> Page:
    """The query's page from the roll-up, encoded as its statement's would be."""
    from handler.derivation import derive  # deferred: polars costs ~150 ms of cold start

    with traced("derivation"):
        rows = derive(dataset, rollup, held.frame, query, ordered_by=held.ordered_by)
        page = rows.head(query.limit)
        body, content_type = _encoded(page, query)
    return Page(
        body=body,
        content_type=content_type,
        row_count=page.height,
        has_more=rows.height > query.limit,
        statement_id="",
    )


def _held(dataset: Dataset, frame: pl.DataFrame) -> Decoded[HeldRollup]:
    key = [name for name in dataset.order_by if name in frame.columns]
    if len(key) != len(dataset.order_by) or not key:
        return Decoded(HeldRollup(frame, False), int(frame.estimated_size()))
    # Held in the row key's order once, so that most raw-row queries need no sort.
    frame = frame.sort(key, nulls_last=False, maintain_order=True)
    unique = not frame.select(key).is_duplicated().any()
    return Decoded(HeldRollup(frame, unique, tuple(key)), int(frame.estimated_size()))
