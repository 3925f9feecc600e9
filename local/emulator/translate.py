"""Databricks SQL and typed parameters in, DuckDB SQL and Python values out.

Two kinds of failure, matching where Databricks reports them:

- a parameter whose value does not cast to its declared type (or an unknown type, or
  a malformed list) is refused at the door: ApiError 400 INVALID_PARAMETER_VALUE;
- SQL that does not parse, holds several statements or uses a marker with no
  parameter is accepted and then ends FAILED: StatementError, raised by translate().
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

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
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TRUE = {"true", "t", "yes", "y", "1"}  # what Spark's string-to-boolean cast accepts
_FALSE = {"false", "f", "no", "n", "0"}


class StatementError(Exception):
    """The statement was accepted but cannot run: it ends FAILED with this message."""

    def __init__(self, message: str, sql_state: str) -> None:
        super().__init__(message)
        self.message = message
        self.sql_state = sql_state


@dataclass(frozen=True)
class Parameter:
    """One named parameter after validation: DuckDB type plus the Python value to bind."""

    name: str
    duck_type: str
    value: Any


@dataclass(frozen=True)
class Translation:
    sql: str
    values: dict[str, Any]


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


def translate(sql: str, parameters: dict[str, Parameter]) -> Translation:
    """DuckDB SQL for one Databricks statement; every :name becomes CAST($name AS type)."""
    types = tuple(sorted((name, p.duck_type) for name, p in parameters.items()))
    duck_sql, used = _translate(sql, types)
    return Translation(sql=duck_sql, values={name: parameters[name].value for name in used})


@functools.lru_cache(maxsize=1024)
def _translate(sql: str, types: tuple[tuple[str, str], ...]) -> tuple[str, tuple[str, ...]]:
    """(DuckDB SQL, parameter names it uses). Cached: a load test repeats a few statements,
    and parsing is most of the emulator's own cost per call."""
    try:
        trees = [tree for tree in sqlglot.parse(sql, read="databricks") if tree is not None]
    except SqlglotError as error:
        # sqlglot underlines the culprit with terminal escapes; a JSON message wants none.
        message = _ANSI.sub("", str(error))
        raise StatementError(f"[PARSE_SYNTAX_ERROR] Syntax error: {message}", "42601") from None
    if len(trees) != 1:
        found = "no statement" if not trees else f"{len(trees)} statements"
        raise StatementError(f"[PARSE_SYNTAX_ERROR] Expected one statement, found {found}", "42601")
    tree = trees[0]
    declared = dict(types)
    used: list[str] = []
    for marker in list(tree.find_all(exp.Placeholder)):
        name = marker.name
        if not name:
            raise StatementError(
                "[UNBOUND_SQL_PARAMETER] Positional '?' markers are not supported; use :name",
                "42P02",
            )
        if name not in declared:
            raise StatementError(
                f"[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {name}", "42P02"
            )
        used.append(name)
        # The cast pins the declared type, e.g. an INT stays INT in the result schema.
        typed = exp.Cast(
            this=marker.copy(), to=exp.DataType.build(declared[name], dialect="duckdb")
        )
        marker.replace(typed)
    try:
        return tree.sql(dialect="duckdb"), tuple(dict.fromkeys(used))
    except SqlglotError as error:
        raise StatementError(f"[UNSUPPORTED_FEATURE] {error}", "0A000") from None


def use_statement(catalog: str | None, schema: str | None) -> str | None:
    """DuckDB's USE for the request's default catalog/schema (Databricks' USE CATALOG/SCHEMA)."""
    parts = [_quote(part) for part in (catalog, schema) if part]
    return f"USE {'.'.join(parts)}" if parts else None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sql_state_of(error: duckdb.Error) -> str | None:
    """A SQLSTATE in the spirit of Databricks' for the DuckDB errors a client can cause."""
    if isinstance(error, duckdb.ParserException):
        return "42601"
    if isinstance(error, duckdb.CatalogException):
        return "42P01"  # TABLE_OR_VIEW_NOT_FOUND and friends
    if isinstance(error, duckdb.BinderException):
        return "42703"  # UNRESOLVED_COLUMN
    if isinstance(error, duckdb.ConversionException):
        return "22018"  # CAST_INVALID_INPUT
    if isinstance(error, duckdb.OutOfRangeException):
        return "22003"
    if isinstance(error, duckdb.InterruptException):
        return "HY008"
    return None
