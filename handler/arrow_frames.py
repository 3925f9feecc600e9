"""ARROW_STREAM result files → one typed polars frame, with the dtypes `shaping.to_frame` gives.

Each EXTERNAL_LINKS chunk is a complete Arrow IPC stream; polars reads it without
pyarrow, and the chunks are concatenated in order. Most columns then only need a check
(and at most a lossless cast) against the manifest's type:

| Databricks type | Arrow accepted | polars dtype |
|---|---|---|
| BOOLEAN | bool | Boolean |
| BYTE, SHORT, INT, LONG | any integer (strict cast) | Int8, Int16, Int32, Int64 |
| FLOAT, DOUBLE | any float | Float32, Float64 |
| DECIMAL(p,s) | decimal128 (strict cast to p,s) | Decimal(p, s) |
| STRING, CHAR, VARCHAR | utf8, large_utf8, utf8_view | String |
| DATE | date32 | Date |
| TIMESTAMP | timestamp with any zone (Databricks: Etc/UTC) | Datetime("us", "UTC") |
| TIMESTAMP_NTZ | timestamp without a zone | Datetime("us") |
| BINARY | binary, large_binary | Binary |
| NULL | null (or a column of nulls) | Null |
| INTERVAL day-time | duration, or its text | Duration("us") |
| any type sent as text | utf8 | parsed exactly as JSON_ARRAY cells are |

The last row is how ARRAY, MAP, STRUCT and INTERVAL arrive (the drivers' default sends
them as JSON / Hive text): those columns go through `shaping.to_frame` itself, so
their dtypes (JsonText, Duration, ISO text) and their checks are the JSON_ARRAY ones.
Nested columns sent as native Arrow lists, maps or structs are re-encoded as JSON text
first (orjson; a decimal inside becomes a JSON string), then checked the same way.

A stream that does not read, a column the manifest does not name, or a dtype outside
the table raises ShapingError (502) naming the column, never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import polars as pl

from handler import shaping
from handler.errors import ShapingError
from handler.result import ResultColumn, StatementResult

_INTEGERS = {"BYTE": pl.Int8(), "SHORT": pl.Int16(), "INT": pl.Int32(), "LONG": pl.Int64()}
_FLOATS = {"FLOAT": pl.Float32(), "DOUBLE": pl.Float64()}
_EXACT: dict[str, pl.DataType] = {
    "BOOLEAN": pl.Boolean(),
    "DATE": pl.Date(),
    "BINARY": pl.Binary(),
    "STRING": pl.String(),
    "CHAR": pl.String(),
    "VARCHAR": pl.String(),
}
_NESTED = frozenset({"ARRAY", "MAP", "STRUCT"})
# Types whose JSON_ARRAY text shaping parses: sent as text, they are parsed the same way.
_PARSED_FROM_TEXT = frozenset(
    {*_INTEGERS, *_FLOATS, *_NESTED, "BOOLEAN", "DECIMAL", "DATE", "TIMESTAMP"}
    | {"TIMESTAMP_NTZ", "BINARY", "INTERVAL", "NULL"}
)


def read_chunks(streams: Sequence[bytes], statement_id: str) -> list[pl.DataFrame]:
    """Each chunk's Arrow IPC stream as read, untyped (callers check row counts on these)."""
    return [_read(stream, statement_id) for stream in streams]


def to_frame(
    columns: Sequence[ResultColumn], chunks: Sequence[pl.DataFrame], statement_id: str
) -> pl.DataFrame:
    """One typed frame from the chunks (read_chunks), in chunk order."""
    if not chunks:  # an empty result has no chunk, hence no Arrow schema: type nothing
        return shaping.to_frame(StatementResult(statement_id, tuple(columns), []))
    frame = _concatenated(list(chunks), statement_id)
    names = [column.name for column in columns]
    if frame.columns != names:
        raise ShapingError(
            f"the Arrow columns are not the manifest's {len(names)} columns",
            statement_id=statement_id,
        )
    typed: list[pl.Series] = []
    as_text: list[ResultColumn] = []
    for column in columns:
        series = frame.get_column(column.name)
        kind = column.type_name.strip().upper()
        if kind in _NESTED and series.dtype.is_nested():
            series = _json_text(series, kind)
        if series.dtype == pl.String and kind in _PARSED_FROM_TEXT:
            as_text.append(column)
            typed.append(series)
            continue
        typed.append(_checked(series, column, kind, statement_id))
    if as_text:
        typed = _parsed_as_wire_text(typed, as_text, statement_id)
    return pl.DataFrame(typed)


# --- reading -------------------------------------------------------------------------


def _read(stream: bytes, statement_id: str) -> pl.DataFrame:
    try:
        return pl.read_ipc_stream(stream)
    except pl.exceptions.PolarsError:
        raise ShapingError(
            "a result file is not an Arrow stream", statement_id=statement_id
        ) from None


def _concatenated(frames: list[pl.DataFrame], statement_id: str) -> pl.DataFrame:
    if len(frames) == 1:
        return frames[0]
    try:
        # Relaxed: a chunk of only nulls may carry the null type where the others do not.
        return pl.concat(frames, how="vertical_relaxed")
    except pl.exceptions.PolarsError:
        raise ShapingError(
            "result chunks disagree on their schema", statement_id=statement_id
        ) from None


# --- typing --------------------------------------------------------------------------


def _checked(series: pl.Series, column: ResultColumn, kind: str, statement_id: str) -> pl.Series:
    dtype = series.dtype
    target = _target(column, kind)
    accepted = {
        "int": dtype.is_integer(),
        "float": dtype.is_float(),
        "decimal": isinstance(dtype, pl.Decimal),
        "timestamp": isinstance(dtype, pl.Datetime) and dtype.time_zone is not None,
        "timestamp_ntz": isinstance(dtype, pl.Datetime) and dtype.time_zone is None,
        "duration": isinstance(dtype, pl.Duration),
        "null": dtype == pl.Null or series.null_count() == len(series),
        "exact": dtype == target,
        "any": True,
    }[_family(column, kind)]
    if not accepted:
        raise ShapingError(
            f"column {column.name!r} ({column.type_text}) arrived as Arrow {dtype}",
            statement_id=statement_id,
        )
    try:
        if kind == "TIMESTAMP":
            return series.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        return series.cast(target, strict=True)
    except pl.exceptions.PolarsError:
        raise ShapingError(
            f"column {column.name!r}: a value does not fit {column.type_text}",
            statement_id=statement_id,
        ) from None


def _family(column: ResultColumn, kind: str) -> str:
    if kind in _INTEGERS:
        return "int"
    if kind in _FLOATS:
        return "float"
    if kind in ("DECIMAL", "TIMESTAMP", "TIMESTAMP_NTZ", "NULL"):
        return kind.lower()
    if kind == "INTERVAL" and _day_time(column):
        return "duration"
    if kind in _EXACT or kind in _NESTED or kind == "INTERVAL":
        return "exact"
    return "any"  # a type name lakegate does not know: text, as JSON_ARRAY keeps it


def _target(column: ResultColumn, kind: str) -> pl.DataType:
    if kind in _INTEGERS:
        return _INTEGERS[kind]
    if kind in _FLOATS:
        return _FLOATS[kind]
    if kind == "DECIMAL":
        return pl.Decimal(*shaping.decimal_shape(column))
    if kind == "TIMESTAMP":
        return pl.Datetime("us", "UTC")
    if kind == "TIMESTAMP_NTZ":
        return pl.Datetime("us")
    if kind == "NULL":
        return pl.Null()
    if kind == "INTERVAL" and _day_time(column):
        return pl.Duration("us")
    return _EXACT.get(kind, pl.String())


def _day_time(column: ResultColumn) -> bool:
    fields = column.type_text.upper()
    return any(unit in fields for unit in ("DAY", "HOUR", "MINUTE", "SECOND"))


def _parsed_as_wire_text(
    typed: list[pl.Series], as_text: list[ResultColumn], statement_id: str
) -> list[pl.Series]:
    """Columns that came as text, parsed by shaping exactly as JSON_ARRAY cells would be."""
    texts = {column.name: i for i, column in enumerate(as_text)}
    cells = [typed[_position(typed, column.name)].to_list() for column in as_text]
    rows = [list(row) for row in zip(*cells, strict=True)]
    parsed = shaping.to_frame(StatementResult(statement_id, tuple(as_text), rows))
    return [parsed.get_column(s.name) if s.name in texts else s for s in typed]


def _position(series: list[pl.Series], name: str) -> int:
    return next(i for i, s in enumerate(series) if s.name == name)


def _json_text(series: pl.Series, kind: str) -> pl.Series:
    """A native Arrow list, map or struct column as JSON text, for shaping to check."""
    values = series.to_list()
    if kind == "MAP":  # polars reads an Arrow map as a list of {key, value} structs
        values = [None if v is None else {str(e["key"]): e["value"] for e in v} for v in values]
    text = [None if v is None else orjson.dumps(v, default=_json_default).decode() for v in values]
    return pl.Series(series.name, text, dtype=pl.String)


def _json_default(value: Any) -> str:
    return str(value)  # Decimal, bytes, timedelta: text, never a rounded float
