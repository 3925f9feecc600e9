"""Databricks SQL in, DuckDB SQL out (typed parameters: parameters.py).

SQL that does not parse, holds several statements or uses a marker with no parameter
is accepted and then ends FAILED, as on Databricks: StatementError, raised by
translate(). Where the dialects disagree on meaning, the tree is rewritten to
Databricks' meaning: a bare DECIMAL is DECIMAL(10,0) (DuckDB's is (18,3)); a
year-month literal (INTERVAL '1-2' YEAR TO MONTH, which DuckDB cannot parse) is its
number of months; and lower() is Databricks' (Java's String.toLowerCase: Unicode's full
mapping with the final-sigma rule, 'İ' → 'i̇', 'ΟΔΟΣ' → 'οδος'), where DuckDB's maps
one code point at a time ('İ' → 'i', 'ΟΔΟΣ' → 'οδοσ'): `register_functions` gives the
database that lower() as `databricks_lower`, Python's str.lower being the same mapping.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from local.emulator.parameters import Parameter

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_YEAR_MONTH = re.compile(r"\s*(?P<sign>[+-]?)(?P<years>[0-9]+)-(?P<months>[0-9]{1,2})\s*")


class StatementError(Exception):
    """The statement was accepted but cannot run: it ends FAILED with this message."""

    def __init__(self, message: str, sql_state: str) -> None:
        super().__init__(message)
        self.message = message
        self.sql_state = sql_state


@dataclass(frozen=True)
class Translation:
    sql: str
    values: dict[str, Any]


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
    tree = _databricks_meaning(trees[0])
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


def _databricks_meaning(tree: exp.Expr) -> exp.Expr:
    """Rewrite what DuckDB would read differently (see the module docstring)."""
    for data_type in list(tree.find_all(exp.DataType)):
        if data_type.this == exp.DataType.Type.DECIMAL and not data_type.expressions:
            data_type.replace(exp.DataType.build("DECIMAL(10, 0)"))
    for interval in list(tree.find_all(exp.Interval)):
        unit = interval.args.get("unit")
        if not isinstance(unit, exp.IntervalSpan) or interval.this is None:
            continue
        literal = _YEAR_MONTH.fullmatch(interval.this.name)
        if literal and (unit.name.upper(), unit.expression.name.upper()) == ("YEAR", "MONTH"):
            months = int(literal["years"]) * 12 + int(literal["months"])
            signed = -months if literal["sign"] == "-" else months
            interval.replace(
                exp.Interval(this=exp.Literal.string(str(signed)), unit=exp.var("MONTH"))
            )
    for lower in list(tree.find_all(exp.Lower)):
        lower.replace(_lower(lower.this))
    return tree


DATABRICKS_LOWER = "databricks_lower"


def register_functions(database: duckdb.DuckDBPyConnection) -> None:
    """The functions translated statements call (their cursors share them)."""
    from duckdb.sqltypes import VARCHAR

    def lower(text: str | None) -> str | None:
        return None if text is None else text.lower()

    # The stubs' overloads cannot take a function of `str | None`, which a UDF with special
    # NULL handling is.
    database.create_function(  # type: ignore[call-overload]
        DATABRICKS_LOWER,
        lower,
        [VARCHAR],
        VARCHAR,
        null_handling="special",
    )


def _lower(argument: exp.Expr) -> exp.Expr:
    """Databricks' lower(): DuckDB's own where the text is ASCII (the same, and fast)."""
    text = argument.copy()
    ascii_only = exp.EQ(
        this=exp.Anonymous(this="strlen", expressions=[text.copy()]),
        expression=exp.Anonymous(this="length", expressions=[text.copy()]),
    )
    return exp.Case(
        ifs=[exp.If(this=ascii_only, true=exp.Lower(this=text.copy()))],
        default=exp.Anonymous(this=DATABRICKS_LOWER, expressions=[text]),
    )


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
