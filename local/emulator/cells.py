"""Cell text of the JSON_ARRAY format (column types: schema.py).

Databricks sends every cell as a string (or null); DuckDB hands back Python objects.
This module is the one place that turns the second into the first.

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
- INTERVAL in the Hive forms Databricks drivers show: day-time "1 02:03:04.500000000"
  (INTERVAL DAY TO SECOND), year-month "1-2" (INTERVAL YEAR TO MONTH). DuckDB has one
  interval type, so the kind is decided per column from its values (queries.py reads
  them as months/days/micros): only months means year-month; Spark cannot mix the two,
  so a column mixing them is shown day-time with months as 30 days, as DuckDB would.
- Any DuckDB type without a Databricks counterpart (UUID, TIME, BIT, ENUM...) is a
  STRING column of the value's text.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from duckdb.sqltypes import DuckDBPyType

from local.emulator.schema import DAY_TIME, YEAR_MONTH, type_of

Encoder = Callable[[Any], str]


# --- cells ------------------------------------------------------------------


def _unused(value: Any) -> None:
    return None


def encoder_for(t: DuckDBPyType, qualifier: str | None = None) -> Encoder:
    """The function that turns one non-null DuckDB value of type t into cell text."""
    if qualifier == YEAR_MONTH:
        return year_month_text
    if qualifier == DAY_TIME:
        return day_time_text
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


def year_month_text(parts: Any) -> str:
    """Hive's year-month form, "1-2" for 14 months."""
    months = parts["months"] if isinstance(parts, dict) else 0
    sign = "-" if months < 0 else ""
    years, month = divmod(abs(months), 12)
    return f"{sign}{years}-{month}"


def day_time_text(parts: Any) -> str:
    """Hive's day-time form; months (only in a mixed column) count as 30 days."""
    if isinstance(parts, dt.timedelta):
        return interval_text(parts)
    days = parts["days"] + 30 * parts["months"]
    return interval_text(dt.timedelta(days=days, microseconds=parts["micros"]))


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
    types: list[DuckDBPyType],
    rows: list[tuple[Any, ...]],
    byte_limit: int | None,
    qualifiers: dict[int, str] | None = None,
    only: set[int] | None = None,
) -> tuple[list[list[str | None]], int, bool]:
    """(data rows, byte count, cut by byte_limit?). Bytes are the compact JSON size, roughly:
    Databricks itself counts an internal representation, so only the order of magnitude matters.

    `only`: encode just these columns, the others' cells None (an Arrow file needs text for
    a few types only; encoding 300,000 rows' every cell costs seconds)."""
    kinds = qualifiers or {}
    encoders = [
        encoder_for(t, kinds.get(i)) if only is None or i in only else _unused
        for i, t in enumerate(types)
    ]
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
