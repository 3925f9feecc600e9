"""Cell text and column types of the JSON_ARRAY format.

Databricks sends every cell as a string (or null) and describes columns with Spark
type names; DuckDB hands back Python objects and its own types. This module is the
one place that translates between the two.

Conventions chosen (Databricks documents only "string representation"):

- BOOLEAN "true"/"false"; integers in decimal; DECIMAL as plain text with its scale
  ("12.30", never exponent form).
- FLOAT/DOUBLE as Java's Double.toString prints them (Spark is JVM-based): "1.5",
  "1.0E20", "1.0E-5", "NaN", "Infinity".
- DATE "2016-01-02"; TIMESTAMP (DuckDB TIMESTAMPTZ, session zone UTC)
  "2016-01-02T03:04:05.123Z"; TIMESTAMP_NTZ the same without "Z". Milliseconds are
  always printed, microseconds only when present.
- BINARY base64; ARRAY/MAP/STRUCT compact JSON text whose leaves follow the same
  rules (numbers stay JSON numbers, NaN/Infinity become strings as Spark's to_json does).
- INTERVAL in the Hive form Databricks drivers show, "1 02:03:04.500000000", typed
  INTERVAL DAY TO SECOND. DuckDB folds months into 30-day units on the way to Python,
  so a year-month interval arrives as days; Spark cannot mix the two kinds anyway.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from duckdb.sqltypes import DuckDBPyType

Encoder = Callable[[Any], str]
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --- schema -----------------------------------------------------------------

# DuckDB type id -> (Databricks type_name, type_text). HUGEINT maps to LONG because
# DuckDB widens SUM(BIGINT) to HUGEINT where Databricks keeps BIGINT.
_SIMPLE: dict[str, tuple[str, str]] = {
    "boolean": ("BOOLEAN", "BOOLEAN"),
    "tinyint": ("BYTE", "TINYINT"),
    "smallint": ("SHORT", "SMALLINT"),
    "integer": ("INT", "INT"),
    "bigint": ("LONG", "BIGINT"),
    "hugeint": ("LONG", "BIGINT"),
    "utinyint": ("SHORT", "SMALLINT"),
    "usmallint": ("INT", "INT"),
    "uinteger": ("LONG", "BIGINT"),
    "float": ("FLOAT", "FLOAT"),
    "double": ("DOUBLE", "DOUBLE"),
    "varchar": ("STRING", "STRING"),
    "date": ("DATE", "DATE"),
    "timestamp with time zone": ("TIMESTAMP", "TIMESTAMP"),
    "timestamp": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "timestamp_s": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "timestamp_ms": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "timestamp_ns": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "blob": ("BINARY", "BINARY"),
    "interval": ("INTERVAL", "INTERVAL DAY TO SECOND"),
    "null": ("NULL", "VOID"),
}
_WIDE_UNSIGNED = {"ubigint": 20, "uhugeint": 39}


def type_of(t: DuckDBPyType) -> tuple[str, str]:
    """(type_name, type_text) of a DuckDB type; anything unknown is reported as STRING."""
    kind = t.id
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind in _WIDE_UNSIGNED:
        return "DECIMAL", f"DECIMAL({min(_WIDE_UNSIGNED[kind], 38)},0)"
    if kind == "decimal":
        precision, scale = re.findall(r"\d+", str(t))  # str(t) is e.g. "DECIMAL(10,2)"
        return "DECIMAL", f"DECIMAL({precision},{scale})"
    children = _nested(t)
    if kind in ("list", "array"):
        return "ARRAY", f"ARRAY<{type_of(children[0][1])[1]}>"
    if kind == "map":
        return "MAP", f"MAP<{type_of(children[0][1])[1]}, {type_of(children[1][1])[1]}>"
    if kind == "struct":
        fields = ", ".join(f"{_field_name(n)}: {type_of(c)[1]}" for n, c in children)
        return "STRUCT", f"STRUCT<{fields}>"
    return "STRING", "STRING"


def column_info(name: str, t: DuckDBPyType, position: int) -> dict[str, Any]:
    """One manifest.schema.columns entry, field names as in the SDK's ColumnInfo."""
    type_name, type_text = type_of(t)
    column: dict[str, Any] = {"name": name, "type_text": type_text, "type_name": type_name}
    if type_name == "DECIMAL":
        precision, scale = re.findall(r"\d+", type_text)
        column["type_precision"], column["type_scale"] = int(precision), int(scale)
    if type_name == "INTERVAL":
        column["type_interval_type"] = "DAY TO SECOND"
    column["position"] = position
    return column


def _nested(t: DuckDBPyType) -> list[tuple[str, DuckDBPyType]]:
    """Element, key/value or field types (children also lists sizes and enum values)."""
    return [(name, child) for name, child in t.children if isinstance(child, DuckDBPyType)]


def _field_name(name: str) -> str:
    # Spark quotes struct field names only when they are not plain identifiers.
    return name if _PLAIN_NAME.match(name) else "`" + name.replace("`", "``") + "`"


# --- cells ------------------------------------------------------------------


def encoder_for(t: DuckDBPyType) -> Encoder:
    """The function that turns one non-null DuckDB value of type t into cell text."""
    type_name = type_of(t)[0]
    if type_name in ("ARRAY", "MAP", "STRUCT"):
        return to_json_text
    if type_name == "FLOAT":
        return float_text
    return cell_text


def cell_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return double_text(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return timestamp_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return interval_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple | dict):
        return to_json_text(value)
    return str(value)  # UUID, TIME, ENUM... all STRING on the Databricks side


def timestamp_text(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    fraction = f"{value.microsecond:06d}"
    if fraction.endswith("000"):
        fraction = fraction[:3]
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{fraction}"
    )
    return text + "Z" if value.tzinfo is not None else text


def interval_text(value: dt.timedelta) -> str:
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    seconds, micro = divmod(abs(micros), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return f"{sign}{days} {hour:02d}:{minute:02d}:{second:02d}.{micro:06d}000"


def double_text(value: float) -> str:
    special = _special_float(value)
    return special if special is not None else _java_number(repr(value))


def float_text(value: float) -> str:
    """A FLOAT cell: DuckDB widens the 4-byte value, so find its shortest 4-byte spelling."""
    special = _special_float(value)
    if special is not None:
        return special
    packed = struct.pack("<f", value)
    for digits in range(1, 10):
        candidate = f"{value:.{digits}g}"
        try:
            if struct.pack("<f", float(candidate)) == packed:
                return _java_number(candidate)
        except OverflowError:  # rounding up near FLOAT's maximum leaves its range
            continue
    return _java_number(repr(value))


def _special_float(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return None


def _java_number(shortest: str) -> str:
    """Java's Double.toString layout for the given shortest round-trip digits."""
    number = Decimal(shortest)
    if number.is_zero():
        return "-0.0" if number.is_signed() else "0.0"
    sign, digit_tuple, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    # Position of the decimal exponent for the form d.ddd x 10^e.
    e10 = len(digit_tuple) - 1 + exponent
    prefix = "-" if sign else ""
    if -3 <= e10 < 7:
        plain = format(abs(number), "f")
        if "." not in plain:
            plain += ".0"
        else:
            plain = plain.rstrip("0")
            plain = plain + "0" if plain.endswith(".") else plain
        return prefix + plain
    return f"{prefix}{digits[0]}.{digits[1:] or '0'}E{e10}"


def to_json_text(value: Any) -> str:
    """Compact JSON for ARRAY/MAP/STRUCT cells (DuckDB gives lists, tuples and dicts)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        special = _special_float(value)
        return json.dumps(special) if special is not None else _java_number(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json_text(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (
            json.dumps(str(k), ensure_ascii=False) + ":" + to_json_text(v) for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    return json.dumps(cell_text(value), ensure_ascii=False)


def encode_rows(
    types: list[DuckDBPyType], rows: list[tuple[Any, ...]], byte_limit: int | None
) -> tuple[list[list[str | None]], int, bool]:
    """(data rows, byte count, cut by byte_limit?). Bytes are the compact JSON size, roughly:
    Databricks itself counts an internal representation, so only the order of magnitude matters."""
    encoders = [encoder_for(t) for t in types]
    encoded: list[list[str | None]] = []
    total = 0
    for row in rows:
        cells = [
            None if value is None else encode(value)
            for encode, value in zip(encoders, row, strict=True)
        ]
        size = 2 + sum(4 if cell is None else len(cell) + 3 for cell in cells)
        if byte_limit is not None and total + size > byte_limit:
            return encoded, total, True
        total += size
        encoded.append(cells)
    return encoded, total, False
