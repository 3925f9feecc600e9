"""Answers bent by the fault switches (local.emulator.faults): bodies that lie, and answers broken in transit.

The API computes the honest answer; these functions turn it into what a misbehaving
warehouse, or what sits between it and the client, would send instead:

- distort_statement / distort_chunk: a StatementResponse or ResultData whose manifest,
  columns, rows or chunk links say something else than the result;
- echoed: an error body carrying the caller's credentials in every field;
- broken: an HTTP response reset half-way, garbled, or dripped a byte at a time.
"""

from __future__ import annotations

import gzip
import uuid
from typing import Any

from local import http_server
from local.emulator.faults import InitialFaults

# The value every row gets in the column the "extra" fault adds.
EXTRA_COLUMN = "secret"
EXTRA_VALUE = "not for clients"


def distort_statement(body: dict[str, Any], now: InitialFaults, base_url: str) -> dict[str, Any]:
    """A StatementResponse body as the faults would have it."""
    manifest = body.get("manifest")
    if manifest is not None:
        body["manifest"] = _manifest(manifest, now)
    if "result" in body:
        body["result"] = distort_chunk(body["result"], body["statement_id"], now, base_url)
    return body


def distort_chunk(
    chunk: dict[str, Any], statement_id: str, now: InitialFaults, base_url: str
) -> dict[str, Any]:
    """A ResultData body as the faults would have it."""
    chunk = dict(chunk)
    if now.wrong_columns is not None and "data_array" in chunk:
        chunk["data_array"] = [_row(row, now.wrong_columns) for row in chunk["data_array"]]
    if now.external_links:
        rows = chunk.pop("data_array", [])
        chunk["external_links"] = [
            {
                "chunk_index": chunk["chunk_index"],
                "row_offset": chunk["row_offset"],
                "row_count": len(rows),
                "byte_count": len(str(rows)),
                "external_link": f"https://storage.invalid/results/{statement_id}",
                "expiration": "2099-01-01T00:00:00.000Z",
            }
        ]
    if now.chain_ends_after is not None:
        for holder in (chunk, *chunk.get("external_links", ())):
            index = holder.get("chunk_index")
            if index is not None and index >= now.chain_ends_after:
                holder.pop("next_chunk_index", None)
                holder.pop("next_chunk_internal_link", None)
    if now.chunk_link is not None and "next_chunk_internal_link" in chunk:
        index = chunk["chunk_index"]
        if now.chunk_link == "self":
            chunk["next_chunk_index"] = index
        target = chunk["next_chunk_index"]
        other = str(uuid.uuid4()) if now.chunk_link == "other_statement" else statement_id
        path = f"/api/2.0/sql/statements/{other}/result/chunks/{target}"
        chunk["next_chunk_internal_link"] = {
            "absolute": f"{base_url}{path}",
            "other_host": f"http://{now.chunk_link_host}{path}",
            "protocol_relative": f"//{now.chunk_link_host}{path}",
        }.get(now.chunk_link, path)
    return chunk


def _manifest(manifest: dict[str, Any], now: InitialFaults) -> dict[str, Any]:
    manifest = dict(manifest)
    if now.wrong_counts == "absent":
        manifest.pop("total_row_count", None)
        manifest.pop("total_chunk_count", None)
    elif now.wrong_counts is not None:
        counted = f"total_{'row' if now.wrong_counts == 'rows' else 'chunk'}_count"
        manifest[counted] = manifest[counted] + 1
    schema = manifest.get("schema")
    if schema is not None and (now.wrong_columns is not None or now.column_type is not None):
        columns = [dict(c) for c in schema["columns"]]
        if now.column_type is not None:
            for column in columns:
                column.update(type_name=now.column_type, type_text=now.column_type)
                for qualifier in ("type_precision", "type_scale", "type_interval_type"):
                    column.pop(qualifier, None)
        columns = _columns(columns, now.wrong_columns)
        manifest["schema"] = {"column_count": len(columns), "columns": columns}
    return manifest


def _columns(columns: list[dict[str, Any]], fault: str | None) -> list[dict[str, Any]]:
    if fault == "extra":
        extra = {"name": EXTRA_COLUMN, "type_text": "STRING", "type_name": "STRING"}
        columns = [*columns, {**extra, "position": len(columns)}]
    elif fault == "upper_case":
        columns = [{**c, "name": c["name"].upper()} for c in columns]
    elif fault == "reordered" and len(columns) > 1:
        columns = [{**columns[1], "position": 0}, {**columns[0], "position": 1}, *columns[2:]]
    return columns


def _row(row: list[str | None], fault: str) -> list[str | None]:
    if fault == "extra":
        return [*row, EXTRA_VALUE]
    if fault == "reordered" and len(row) > 1:
        return [row[1], row[0], *row[2:]]
    return row


def echoed(body: dict[str, Any], authorization: str) -> dict[str, Any]:
    """An error body (or a StatementResponse's FAILED status) with the credentials in every field."""
    if "status" in body:
        status = dict(body["status"])
        if "error" in status:
            status["error"] = {"error_code": authorization, "message": authorization}
            status["sql_state"] = authorization
        return {**body, "status": status}
    return {**body, "error_code": authorization, "message": authorization}


def broken(response: http_server.Response, how: str, drip_ms: int) -> http_server.Response:
    """The response as it arrives when the exchange breaks `how` (see InitialFaults.broken_answer)."""
    if how == "reset":
        return http_server.Response(
            response.status, response.headers, response.body, cut_after=len(response.body) // 2
        )
    if how == "garbled":
        # Says gzip; is not (its first bytes are no gzip header): the client cannot decode it.
        garbled = b"\x00" + gzip.compress(response.body)[1:]
        return http_server.Response(
            response.status, [*response.headers, ("Content-Encoding", "gzip")], garbled
        )
    return http_server.Response(
        response.status, response.headers, response.body, pace_seconds=drip_ms / 1000
    )
