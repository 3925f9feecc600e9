"""One accepted statement on DuckDB: run it, read its rows, and say what Databricks would.

The engine owns the state machine; this module owns what a run produces: a Result, or
the (error_code, message, sql_state) of a FAILED statement.

Intervals need a second look. DuckDB has one INTERVAL type (months, days, micros) and
folds months into 30-day units on the way to Python, where Databricks has two kinds
that never mix: year-month and day-time. So a result with INTERVAL columns is read
again with each interval split into its parts, and schema.interval_qualifiers decides
the kind per column from the values. Only SELECT-like statements have result columns,
so reading twice never repeats a side effect.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from local.emulator.cells import encode_rows
from local.emulator.execute import StatementRequest
from local.emulator.schema import column_info, interval_qualifiers
from local.emulator.translate import StatementError, Translation, sql_state_of, use_statement
from local.emulator.wire import Result

# Databricks aborts an INLINE statement whose result is larger than this.
INLINE_LIMIT_BYTES = 25 * 1024 * 1024

Failure = tuple[str, str, str | None]  # error_code, message, sql_state
Attach = Callable[[duckdb.DuckDBPyConnection | None], None]


def outcome(
    database: duckdb.DuckDBPyConnection,
    request: StatementRequest,
    translation: Translation | StatementError,
    *,
    doomed: bool,
    attach: Attach,
    chunk_rows: int,
) -> Result | Failure:
    """The result, or why the statement FAILED. `attach` is told the cursor (for cancel).

    An EXTERNAL_LINKS result also carries its chunk files, written here so that a value
    the format cannot hold fails the statement, as it would on the warehouse."""
    if doomed:
        return (
            "INTERNAL_ERROR",
            "Statement failed: injected by the emulator's fail_next/error_rate",
            "XX000",
        )
    if isinstance(translation, StatementError):
        return "BAD_REQUEST", translation.message, translation.sql_state
    try:
        result = _execute(database, request, translation, attach, chunk_rows)
    except duckdb.Error as error:
        return "BAD_REQUEST", str(error), sql_state_of(error)
    except Exception as error:  # a value the wire encoder cannot handle: never hang RUNNING
        return "INTERNAL_ERROR", f"{type(error).__name__}: {error}", None
    if result.files is None and result.byte_count > INLINE_LIMIT_BYTES:
        message = "Result exceeds the 25 MiB INLINE limit; set byte_limit or row_limit"
        return "BAD_REQUEST", message, None
    return result


def _execute(
    database: duckdb.DuckDBPyConnection,
    request: StatementRequest,
    translation: Translation,
    attach: Attach,
    chunk_rows: int,
) -> Result:
    cursor = database.cursor()
    attach(cursor)
    try:
        use = use_statement(request.catalog, request.schema)
        if use:
            cursor.execute(use)
        cursor.execute(translation.sql, translation.values)
        if cursor.description is None:  # DDL and the like: success without rows
            external = () if request.disposition == "EXTERNAL_LINKS" else None
            return Result(
                [], [], truncated=False, byte_count=0, format=request.format, files=external
            )
        names = [d[0] for d in cursor.description]
        types = [d[1] for d in cursor.description]
        intervals = [name for name, t in zip(names, types, strict=True) if t.id == "interval"]
        if intervals:
            cursor.execute(_with_interval_parts(translation.sql, intervals), translation.values)
        limit = request.row_limit
        raw = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
    finally:
        attach(None)
        cursor.close()
    truncated = limit is not None and len(raw) > limit
    kept = raw[:limit] if truncated else raw
    qualifiers = interval_qualifiers(types, kept)
    columns = [
        column_info(name, t, i, qualifiers.get(i))
        for i, (name, t) in enumerate(zip(names, types, strict=True))
    ]
    external = request.disposition == "EXTERNAL_LINKS"
    only = None
    if external and request.format == "ARROW_STREAM" and request.byte_limit is None:
        from local.emulator.files import text_columns  # deferred: polars is slow to import

        only = text_columns(columns)  # the files' sizes are the byte count, not the cells'
    rows, byte_count, cut = encode_rows(types, kept, request.byte_limit, qualifiers, only)
    files = None
    if external:
        from local.emulator.files import chunk_files

        files = chunk_files(request.format, columns, kept[: len(rows)], rows, chunk_rows)
    return Result(
        columns=columns,
        rows=rows,
        truncated=truncated or cut,
        byte_count=byte_count,
        format=request.format,
        files=files,
    )


def _with_interval_parts(sql: str, columns: list[str]) -> str:
    """The same query with each named INTERVAL column as {months, days, micros} (or NULL)."""
    replaced = []
    for name in columns:
        c = '"' + name.replace('"', '""') + '"'
        micros = (
            f"datepart('hour', {c})::BIGINT * 3600000000"
            f" + datepart('minute', {c})::BIGINT * 60000000 + datepart('microseconds', {c})"
        )
        parts = (
            f"struct_pack(months := datepart('year', {c}) * 12 + datepart('month', {c}),"
            f" days := datepart('day', {c}), micros := {micros})"
        )
        replaced.append(f"CASE WHEN {c} IS NULL THEN NULL ELSE {parts} END AS {c}")
    return f"SELECT * REPLACE ({', '.join(replaced)}) FROM ({sql}) AS interval_parts"
