"""The result files of the EXTERNAL_LINKS disposition: one per chunk, in the format asked for.

Databricks writes each chunk of an EXTERNAL_LINKS result to cloud storage and hands
out a presigned link per file (storage.py serves them). The three formats:

- ARROW_STREAM: one complete Arrow IPC stream per chunk (schema, then record batches),
  written by polars. Arrow types follow Spark's ArrowUtils for a warehouse whose session
  zone is UTC: BOOLEAN bool, BYTE/SHORT/INT/LONG int8/16/32/64, FLOAT/DOUBLE
  float32/64, DECIMAL(p,s) decimal128(p,s), DATE date32, TIMESTAMP
  timestamp[us, tz=Etc/UTC], TIMESTAMP_NTZ timestamp[us], BINARY binary, NULL null.
  ARRAY, MAP, STRUCT and INTERVAL arrive as strings, the same JSON / Hive text as the
  JSON_ARRAY cells: the drivers' default (complex and interval types "as Arrow" are
  opt-in there), and the form every client can read. Strings and binaries are written
  with 64-bit offsets (large_utf8, large_binary; polars writes no 32-bit ones), which
  Arrow readers treat alike.
- CSV: RFC 4180 text of the JSON_ARRAY cell strings, a null as `null`, the header
  row in the first chunk only (as the API documents).
- JSON_ARRAY: the chunk's data_array as compact JSON.

queries.py imports this module only for an EXTERNAL_LINKS statement: polars costs
the emulator's start-up a third of a second otherwise.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import polars as pl

# The warehouse session zone the TIMESTAMP columns are written in (Spark: the session's).
SESSION_ZONE = "Etc/UTC"

_DTYPES: dict[str, pl.DataType] = {
    "BOOLEAN": pl.Boolean(),
    "BYTE": pl.Int8(),
    "SHORT": pl.Int16(),
    "INT": pl.Int32(),
    "LONG": pl.Int64(),
    "FLOAT": pl.Float32(),
    "DOUBLE": pl.Float64(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us", SESSION_ZONE),
    "TIMESTAMP_NTZ": pl.Datetime("us"),
    "BINARY": pl.Binary(),
    "NULL": pl.Null(),
}


def text_columns(columns: list[dict[str, Any]]) -> set[int]:
    """The columns an Arrow file writes as their JSON_ARRAY cell text (see `_series`)."""
    return {
        i
        for i, column in enumerate(columns)
        if column["type_name"] != "DECIMAL" and column["type_name"] not in _DTYPES
    }


def chunk_files(
    result_format: str,
    columns: list[dict[str, Any]],
    values: list[tuple[Any, ...]],
    cells: list[list[str | None]],
    chunk_rows: int,
) -> tuple[bytes, ...]:
    """Every chunk's file. `values` are DuckDB's Python values, `cells` their JSON_ARRAY text."""
    files = []
    for start in range(0, len(cells), chunk_rows):
        chunk_values = values[start : start + chunk_rows]
        chunk_cells = cells[start : start + chunk_rows]
        if result_format == "ARROW_STREAM":
            files.append(arrow_file(columns, chunk_values, chunk_cells))
        elif result_format == "CSV":
            files.append(csv_file(columns, chunk_cells, header=start == 0))
        else:
            files.append(
                json.dumps(chunk_cells, ensure_ascii=False, separators=(",", ":")).encode()
            )
    return tuple(files)


def arrow_file(
    columns: list[dict[str, Any]], values: list[tuple[Any, ...]], cells: list[list[str | None]]
) -> bytes:
    """One Arrow IPC stream holding these rows."""
    series = [
        _series(column, [row[i] for row in values], [row[i] for row in cells])
        for i, column in enumerate(columns)
    ]
    sink = io.BytesIO()
    # Spark writes the classic layouts, never the view types newer polars prefers.
    pl.DataFrame(series).write_ipc_stream(sink, compat_level=pl.CompatLevel.oldest())
    return sink.getvalue()


def csv_file(
    columns: list[dict[str, Any]], cells: list[list[str | None]], *, header: bool
) -> bytes:
    names = [column["name"] for column in columns]
    frame = pl.DataFrame(
        [
            pl.Series(name, [row[i] for row in cells], dtype=pl.String)
            for i, name in enumerate(names)
        ]
    )
    text = frame.write_csv(include_header=header, null_value="null", quote_style="necessary")
    return text.encode("utf-8")


def _series(column: dict[str, Any], values: list[Any], cells: list[str | None]) -> pl.Series:
    name, type_name = column["name"], column["type_name"]
    if type_name == "DECIMAL":
        dtype: pl.DataType = pl.Decimal(column["type_precision"], column["type_scale"])
        # Wide unsigned integers are DECIMAL(20,0) on the Databricks side.
        decimals = [v if v is None or isinstance(v, Decimal) else Decimal(v) for v in values]
        return pl.Series(name, decimals, dtype=dtype)
    dtype = _DTYPES.get(type_name, pl.String())
    if dtype == pl.String():  # STRING, ARRAY/MAP/STRUCT, INTERVAL, types Databricks lacks
        return pl.Series(name, cells, dtype=pl.String)
    if type_name == "TIMESTAMP":
        values = [v if v is None else v.astimezone(dt.UTC) for v in values]
    if type_name == "BINARY":
        values = [v if v is None else bytes(v) for v in values]
    return pl.Series(name, values, dtype=dtype, strict=True)
