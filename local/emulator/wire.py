"""Response bodies of the Statement Execution API: errors, manifest and result chunks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """A non-2xx answer: always rendered as {"error_code": ..., "message": ...}.

    error_code is text, except where Databricks itself sends a number (a bad token: 403).
    """

    def __init__(
        self,
        status: int,
        error_code: str | int,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}


def invalid_parameter(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


@dataclass(frozen=True)
class Result:
    """A finished statement's rows, already in cell text, plus what the manifest needs."""

    columns: list[dict[str, Any]]
    rows: list[list[str | None]]
    truncated: bool
    byte_count: int
    format: str = "JSON_ARRAY"
    # EXTERNAL_LINKS only: each chunk's file as storage serves it (files.py); None: INLINE.
    files: tuple[bytes, ...] | None = None


def chunk_count(result: Result, chunk_rows: int) -> int:
    return -(-len(result.rows) // chunk_rows)


def manifest(result: Result, chunk_rows: int) -> dict[str, Any]:
    """ResultManifest, field names as in the SDK's ResultManifest.from_dict."""
    rows = len(result.rows)
    chunks = [chunk_info(result, i, chunk_rows) for i in range(chunk_count(result, chunk_rows))]
    byte_count = result.byte_count if result.files is None else sum(map(len, result.files))
    body: dict[str, Any] = {
        "format": result.format,
        "schema": {"column_count": len(result.columns), "columns": result.columns},
        "total_chunk_count": len(chunks),
        "total_row_count": rows,
        "total_byte_count": byte_count,
        "truncated": result.truncated,
    }
    if chunks:  # Databricks leaves "chunks" out altogether for an empty result
        body["chunks"] = chunks
    return body


def chunk_info(result: Result, index: int, chunk_rows: int) -> dict[str, Any]:
    """BaseChunkInfo: where a chunk sits, and (EXTERNAL_LINKS only) its file's size."""
    info: dict[str, Any] = {
        "chunk_index": index,
        "row_offset": index * chunk_rows,
        "row_count": min(chunk_rows, len(result.rows) - index * chunk_rows),
    }
    if result.files is not None:
        info["byte_count"] = len(result.files[index])
    return info


def result_data(statement_id: str, result: Result, index: int, chunk_rows: int) -> dict[str, Any]:
    """ResultData for one chunk; the last chunk has no next_chunk_* fields.

    INLINE: the rows in data_array. EXTERNAL_LINKS: only `external_links`, one entry
    carrying the chunk's fields, which the API layer completes with a presigned link.
    """
    if result.files is not None:
        link = chunk_info(result, index, chunk_rows) | _next_chunk(
            statement_id, result, index, chunk_rows
        )
        return {"external_links": [link]}
    rows = result.rows[index * chunk_rows : (index + 1) * chunk_rows]
    body: dict[str, Any] = {
        "chunk_index": index,
        "row_offset": index * chunk_rows,
        "row_count": len(rows),
        "data_array": rows,
    }
    return body | _next_chunk(statement_id, result, index, chunk_rows)


def _next_chunk(statement_id: str, result: Result, index: int, chunk_rows: int) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if index + 1 < chunk_count(result, chunk_rows):
        body["next_chunk_index"] = index + 1
        body["next_chunk_internal_link"] = (
            f"/api/2.0/sql/statements/{statement_id}/result/chunks/{index + 1}"
        )
    return body
