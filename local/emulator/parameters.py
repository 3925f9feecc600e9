"""Typed parameters in, DuckDB types and Python values out.

A parameter whose value does not cast to its declared type (or an unknown type, or a
malformed list) is refused at the door, as Databricks does: ApiError 400
INVALID_PARAMETER_VALUE, and the statement is never accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from local.emulator.wire import invalid_parameter

_INTEGERS = {  # Databricks spellings -> (DuckDB type, bits)
    "TINYINT": ("TINYINT", 8),
    "BYTE": ("TINYINT", 8),
    "SMALLINT": ("SMALLINT", 16),
    "SHORT": ("SMALLINT", 16),
    "INT": ("INTEGER", 32),
    "INTEGER": ("INTEGER", 32),
    "BIGINT": ("BIGINT", 64),
    "LONG": ("BIGINT", 64),
}
_OTHERS = {
    "STRING": "VARCHAR",
    "DOUBLE": "DOUBLE",
    "FLOAT": "FLOAT",
    "REAL": "FLOAT",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    # Databricks TIMESTAMP carries a time zone (shown in the session zone, UTC here).
    "TIMESTAMP": "TIMESTAMPTZ",
    "TIMESTAMP_LTZ": "TIMESTAMPTZ",
    "TIMESTAMP_NTZ": "TIMESTAMP",
}
_DECIMAL = re.compile(r"^(?:DECIMAL|DEC|NUMERIC)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")
_INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
_DATE_TEXT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TRUE = {"true", "t", "yes", "y", "1"}  # what Spark's string-to-boolean cast accepts
_FALSE = {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class Parameter:
    """One named parameter after validation: DuckDB type plus the Python value to bind."""

    name: str
    duck_type: str
    value: Any


def parse_parameters(raw: Any) -> dict[str, Parameter]:
    """Validate the request's parameters list; raises ApiError 400 on any bad entry."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise invalid_parameter("parameters must be a list of {name, value, type} objects")
    parameters: dict[str, Parameter] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise invalid_parameter("every parameter needs a non-empty string name")
        name = item["name"]
        if name in parameters:
            raise invalid_parameter(f"parameter {name!r} is given more than once")
        declared = item.get("type") or "STRING"
        value = item.get("value")
        if not isinstance(declared, str) or (value is not None and not isinstance(value, str)):
            raise invalid_parameter(f"parameter {name!r}: type and value must be strings")
        duck_type, converted = cast_value(name, declared, value)
        parameters[name] = Parameter(name, duck_type, converted)
    return parameters


def cast_value(name: str, declared: str, value: str | None) -> tuple[str, Any]:
    """(DuckDB type, Python value) for one parameter; None stays None (SQL NULL)."""
    kind = " ".join(declared.upper().split())
    if kind in _INTEGERS:
        duck_type, bits = _INTEGERS[kind]
        return duck_type, None if value is None else _integer(name, kind, value, bits)
    match = _DECIMAL.match(kind)
    if match:
        # Databricks' bare DECIMAL is DECIMAL(10,0) (DuckDB's would be (18,3)).
        precision = int(match.group(1) or 10)
        scale = int(match.group(2) or 0)
        if not 1 <= precision <= 38 or scale > precision:
            raise invalid_parameter(f"parameter {name!r}: invalid type {declared!r}")
        duck_type = f"DECIMAL({precision},{scale})"
        return duck_type, None if value is None else _decimal(name, kind, value, precision, scale)
    if kind not in _OTHERS:
        raise invalid_parameter(f"parameter {name!r}: unsupported type {declared!r}")
    duck_type = _OTHERS[kind]
    if value is None or kind == "STRING":
        return duck_type, value
    try:
        return duck_type, _CONVERTERS[kind](value.strip())
    except ValueError:
        raise _uncastable(name, kind, value) from None


def _uncastable(name: str, kind: str, value: str) -> Exception:
    # Mirrors the wording of Databricks' CAST_INVALID_INPUT without echoing huge values.
    shown = value if len(value) <= 64 else value[:61] + "..."
    return invalid_parameter(
        f"[CAST_INVALID_INPUT] The value '{shown}' of parameter '{name}' cannot be cast to {kind}"
    )


def _integer(name: str, kind: str, value: str, bits: int) -> int:
    text = value.strip()
    if not _INTEGER_TEXT.match(text):
        raise _uncastable(name, kind, value)
    number = int(text)
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise _uncastable(name, kind, value)
    return number


def _decimal(name: str, kind: str, value: str, precision: int, scale: int) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise _uncastable(name, kind, value) from None
    if not number.is_finite():
        raise _uncastable(name, kind, value)
    # Spark rounds half up when a cast reduces the scale, and fails when digits overflow.
    rounded = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    if rounded.adjusted() >= precision - scale:
        raise _uncastable(name, kind, value)
    return rounded


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def _date(text: str) -> dt.date:
    match = _DATE_TEXT.match(text)
    if not match:
        raise ValueError(text)
    return dt.date(*(int(part) for part in match.groups()))


def _timestamp(text: str) -> dt.datetime:
    """ISO-8601 date or date-time; no zone means the session zone (UTC)."""
    if _DATE_TEXT.match(text):
        day = _date(text)
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(text)
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _timestamp_ntz(text: str) -> dt.datetime:
    if _DATE_TEXT.match(text):
        day = _date(text)
        return dt.datetime(day.year, day.month, day.day)
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        raise ValueError(text)
    return parsed


def _float(text: str) -> float:
    # Spark spells infinity "Infinity"; Python's float() accepts that and "inf" alike.
    return float(text)


_CONVERTERS = {
    "DOUBLE": _float,
    "FLOAT": _float,
    "REAL": _float,
    "BOOLEAN": _boolean,
    "DATE": _date,
    "TIMESTAMP": _timestamp,
    "TIMESTAMP_LTZ": _timestamp,
    "TIMESTAMP_NTZ": _timestamp_ntz,
}
