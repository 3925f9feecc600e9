"""Checks on a succeeded statement's answer, before any row of it is believed.

The warehouse's answer decides which URL lakegate fetches next and how many rows a
client gets, so each claim is checked against what was asked and what was read:

- the manifest has a schema, and every row has its width;
- an INLINE chunk carries no `external_links` (a link would point at storage lakegate
  never agreed to fetch from); an EXTERNAL_LINKS chunk carries exactly one link, for
  that chunk, and the manifest says ARROW_STREAM, uncompressed;
- a chunk link is the relative path of this statement's next chunk on the configured
  host, `/api/2.0/sql/statements/{id}/result/chunks/{n}` with n increasing (Databricks
  may add `?row_offset={r}`); anything else (another host, an absolute URL, another
  statement, the chunk itself) is refused before it is fetched, and the path fetched is
  built here, never copied from the link;
- the answer is complete: the manifest announces `total_row_count` or
  `total_chunk_count` (a manifest that promises neither cannot vouch that a chain of
  chunks did not stop early), and what it announces matches the rows and chunks read;
  each chunk starts at the row after the last one read and holds the rows it
  announces (`row_offset`, `row_count`), and each downloaded chunk holds the rows its
  link announced.

Every refusal is a WarehouseRejected (502); the offending text is not logged.
"""

from __future__ import annotations

import re
from typing import Protocol

from aws_lambda_powertools import Logger

from handler.errors import WarehouseRejected
from handler.result import ResultColumn
from handler.warehouse.transport import STATEMENTS_PATH
from handler.warehouse.wire import ExternalLink, ResultData, ResultManifest, StatementResponse

logger = Logger(service="lakegate", child=True)

_CHUNK_LINK = re.compile(
    r"/api/2\.0/sql/statements/(?P<statement>[A-Za-z0-9_-]+)/result/chunks/(?P<index>[0-9]{1,9})"
    r"(?:\?row_offset=[0-9]{1,19})?",
    re.ASCII,
)


class _Chained(Protocol):
    """What says which chunk comes next: a ResultData, or an EXTERNAL_LINKS link."""

    @property
    def next_chunk_index(self) -> int | None: ...

    @property
    def next_chunk_internal_link(self) -> str | None: ...


def reject(statement_id: str, reason: str) -> WarehouseRejected:
    logger.warning(
        "warehouse answer refused", extra={"statement_id": statement_id, "reason": reason}
    )
    return WarehouseRejected(f"warehouse answer refused: {reason}", statement_id=statement_id)


def chunk_path(statement_id: str, index: int) -> str:
    return f"{STATEMENTS_PATH}{statement_id}/result/chunks/{index}"


def columns_of(response: StatementResponse) -> tuple[ResultColumn, ...]:
    """The manifest's columns in position order."""
    schema = (response.manifest or ResultManifest()).result_schema
    if schema is None:
        raise reject(response.statement_id, "succeeded without a schema")
    return tuple(
        ResultColumn(
            name=c.name,
            type_name=c.type_name or "STRING",
            type_text=c.type_text or c.type_name or "STRING",
            type_precision=c.type_precision,
            type_scale=c.type_scale,
        )
        for c in sorted(schema.columns, key=lambda c: c.position or 0)
    )


def check_chunk(chunk: ResultData, index: int, statement_id: str, rows_before: int = 0) -> None:
    """The chunk is the one asked for, inline, and follows the `rows_before` rows read."""
    if chunk.external_links:
        raise reject(statement_id, "external links in an INLINE result")
    if chunk.chunk_index is not None and chunk.chunk_index != index:
        raise reject(statement_id, "chunk index is not the one asked for")
    if chunk.row_offset is not None and chunk.row_offset != rows_before:
        raise reject(statement_id, "chunk does not start after the rows read")
    if chunk.row_count is not None and chunk.row_count != len(chunk.data_array or ()):
        raise reject(statement_id, "chunk holds other rows than it announces")


def link_of(chunk: ResultData, index: int, statement_id: str) -> ExternalLink:
    """The one external link of chunk `index` (an EXTERNAL_LINKS ResultData)."""
    links = chunk.external_links or []
    if chunk.data_array is not None or len(links) != 1:
        raise reject(statement_id, "an EXTERNAL_LINKS chunk without exactly one link")
    link = links[0]
    if link.chunk_index is not None and link.chunk_index != index:
        raise reject(statement_id, "link is not for the chunk asked for")
    return link


def check_arrow_manifest(manifest: ResultManifest, statement_id: str) -> None:
    """The files will be what lakegate asked for: Arrow streams, not compressed."""
    if manifest.format not in (None, "ARROW_STREAM"):
        raise reject(statement_id, "result is not in the format asked for")
    if manifest.result_compression not in (None, "NONE"):
        raise reject(statement_id, "result files are compressed")


def next_chunk(
    chunk: _Chained, index: int, statement_id: str, total_chunks: int | None
) -> int | None:
    """The index of the chunk after `chunk` (number `index`), or None at the last one."""
    following = chunk.next_chunk_index
    link = chunk.next_chunk_internal_link
    if link is not None:
        match = _CHUNK_LINK.fullmatch(link)
        if match is None or match["statement"] != statement_id:
            raise reject(statement_id, "chunk link is not a chunk of this statement")
        if following is not None and following != int(match["index"]):
            raise reject(statement_id, "chunk link and next_chunk_index disagree")
        following = int(match["index"])
    if following is None:
        return None
    if following <= index:
        raise reject(statement_id, "chunk index does not advance")
    if total_chunks is not None and following >= total_chunks:
        raise reject(statement_id, "chunk beyond the manifest's chunk count")
    return following


def check_totals(
    manifest: ResultManifest,
    rows: list[list[str | None]],
    chunks: int,
    columns: int,
    statement_id: str,
) -> None:
    """What was read is what the manifest announced: rows, chunks, and each row's width."""
    check_counts(manifest, len(rows), chunks, statement_id)
    if any(len(row) != columns for row in rows):
        raise reject(statement_id, "row width differs from the schema")


def check_counts(manifest: ResultManifest, rows: int, chunks: int, statement_id: str) -> None:
    """`rows` rows in `chunks` chunks is what the manifest announced."""
    if manifest.total_row_count is None and manifest.total_chunk_count is None:
        # Without a count, a chain that stops early reads as a complete short answer.
        raise reject(statement_id, "manifest announces neither a row nor a chunk count")
    if manifest.total_row_count is not None and manifest.total_row_count != rows:
        raise reject(statement_id, "row count differs from the manifest")
    if manifest.total_chunk_count is not None and manifest.total_chunk_count != chunks:
        raise reject(statement_id, "chunk count differs from the manifest")


def check_chunk_rows(links: dict[int, ExternalLink], rows: list[int], statement_id: str) -> None:
    """Each downloaded chunk holds the rows its link announced."""
    for (index, link), count in zip(sorted(links.items()), rows, strict=True):
        if link.row_count is not None and link.row_count != count:
            raise reject(statement_id, f"chunk {index} holds other rows than its link says")
