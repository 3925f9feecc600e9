"""Render a shaped frame as the response body: a JSON array of row objects, CSV, or Parquet.

The type → JSON/CSV table is the documentation's types page (docs/types.md).
"""

from __future__ import annotations

import io

import orjson
import polars as pl

from handler.json_text import JsonText

__all__ = ["to_csv", "to_json", "to_parquet"]

_TIMESTAMP_OUT = "%Y-%m-%dT%H:%M:%S%.6fZ"
_TIMESTAMP_NTZ_OUT = "%Y-%m-%dT%H:%M:%S%.6f"
_INFINITY = float("inf")


def to_json(frame: pl.DataFrame) -> bytes:
    """A JSON array of row objects, keys in column order."""
    if _json_fast_path(frame):
        # write_json is the fastest writer but can neither embed raw JSON nor spell NaN;
        # frames that need either (rare) take the slower concatenation path.
        buffer = io.BytesIO()
        rendered = (_rendered(name, dtype).alias(name) for name, dtype in frame.schema.items())
        frame.select(rendered).write_json(buffer)
        return buffer.getvalue()
    return _json_by_concatenation(frame)


def to_csv(frame: pl.DataFrame) -> bytes:
    """A header row then one line per row; nulls are empty fields, empty strings `""`."""
    buffer = io.BytesIO()
    frame.select(
        _csv_text(name, dtype).alias(name) for name, dtype in frame.schema.items()
    ).write_csv(buffer)
    return buffer.getvalue()


def to_parquet(frame: pl.DataFrame) -> bytes:
    """A Parquet file of the frame as shaped: its types are Parquet's own, so nothing is
    rendered as text (decimals stay decimals, timestamps keep their zone)."""
    buffer = io.BytesIO()
    # JsonText is an extension type Parquet readers would not know: its JSON text.
    plain = frame.select(
        pl.col(name).ext.storage() if isinstance(dtype, JsonText) else pl.col(name)
        for name, dtype in frame.schema.items()
    )
    plain.write_parquet(buffer, statistics=False)
    return buffer.getvalue()


def _json_fast_path(frame: pl.DataFrame) -> bool:
    if any(isinstance(dtype, JsonText) for dtype in frame.dtypes):
        return False
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    if not floats:
        return True
    return bool(frame.select(pl.all_horizontal(pl.col(floats).is_finite().all())).item())


def _json_by_concatenation(frame: pl.DataFrame) -> bytes:
    """Build each row's text in polars: raw JSON and NaN strings that write_json cannot."""
    parts: list[pl.Expr] = []
    for index, (name, dtype) in enumerate(frame.schema.items()):
        key = orjson.dumps(name).decode()
        parts.append(pl.lit(("{" if index == 0 else ",") + key + ":"))
        parts.append(_json_literal(name, dtype))
    parts.append(pl.lit("}"))
    rows: str = frame.select(pl.concat_str(parts).str.join(",")).item()
    return b"[" + rows.encode() + b"]"


def _json_literal(name: str, dtype: pl.DataType) -> pl.Expr:
    """Each value's JSON text: the same serialiser as write_json, one field at a time."""
    if isinstance(dtype, JsonText):
        return pl.col(name).ext.storage().fill_null("null")
    encoded = (
        pl.struct(_rendered(name, dtype).alias("v"))
        .struct.json_encode()
        .str.strip_prefix('{"v":')
        .str.strip_suffix("}")
    )
    return _spelled_non_finite(name, encoded, quote='"') if dtype.is_float() else encoded


def _csv_text(name: str, dtype: pl.DataType) -> pl.Expr:
    if not dtype.is_float():
        return _rendered(name, dtype)
    # polars would write inf and -inf: spell them as the warehouse and to_json do.
    return _spelled_non_finite(name, pl.col(name).cast(pl.String), quote="")


def _spelled_non_finite(name: str, finite: pl.Expr, quote: str) -> pl.Expr:
    value = pl.col(name)
    return (
        pl.when(value.is_nan())
        .then(pl.lit(f"{quote}NaN{quote}"))
        .when(value == _INFINITY)
        .then(pl.lit(f"{quote}Infinity{quote}"))
        .when(value == -_INFINITY)
        .then(pl.lit(f"{quote}-Infinity{quote}"))
        .otherwise(finite)
    )


def _rendered(name: str, dtype: pl.DataType) -> pl.Expr:
    """The column with text in place of every type that JSON has no literal for."""
    column = pl.col(name)
    if isinstance(dtype, JsonText):
        return column.ext.storage()
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return column.dt.to_string(_TIMESTAMP_NTZ_OUT)
        return column.dt.convert_time_zone("UTC").dt.to_string(_TIMESTAMP_OUT)
    if isinstance(dtype, pl.Date):
        return column.dt.to_string("%Y-%m-%d")
    if isinstance(dtype, pl.Duration):
        return column.dt.to_string("iso")
    if isinstance(dtype, pl.Binary):
        return column.bin.encode("base64")
    if isinstance(dtype, pl.Decimal):
        return column.cast(pl.String)  # a JSON number would invite float rounding
    return column
