"""Shape Statement Execution API results: wire strings → typed polars frame → JSON or CSV.

JSON_ARRAY cells arrive as strings or null whatever the column type. `to_frame` parses
every column to a real dtype with vectorised strict polars casts; a value that does not
parse raises `ShapingError` naming the column, its type and the row, never the value.
No cell ever becomes a silent null. `handler.encoding` renders the frame as JSON or CSV.

How each Databricks type is shaped, the wire text each accepts and why (NaN as a
string, DECIMAL as text, intervals, nested types as JSON text) is documented once, in the
documentation site's types page (docs/types.md); tests/handler/test_shaping.py holds
that page to `_PARSERS` below.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson
import polars as pl

from handler.errors import ShapingError
from handler.json_text import JsonText
from handler.result import ResultColumn, StatementResult

__all__ = ["JsonText", "decimal_shape", "to_frame"]

# --- wire strings → frame ---------------------------------------------------------

_Parser = Callable[[pl.Expr, ResultColumn, bool], pl.Expr]

_BOOLEANS = {"true": True, "false": False}
_TIMESTAMP_IN = "%+"  # ISO-8601 with a mandatory offset; `T` or a space between the halves
_TIMESTAMP_NTZ_IN = "%Y-%m-%dT%H:%M:%S%.f"
_DECIMAL_TEXT = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")
# Hive-style interval text, as Spark prints results: `[-]D HH:MM:SS[.fffffffff]`, `[-]Y-M`.
_DAY_TIME = (
    r"^(?P<sign>-)?(?P<days>\d{1,9}) (?P<hours>[01]\d|2[0-3]):(?P<minutes>[0-5]\d)"
    r":(?P<seconds>[0-5]\d)(?:\.(?P<fraction>\d{1,9}))?$"
)
_YEAR_MONTH = r"^(?P<sign>-)?(?P<years>\d{1,9})-(?P<months>1[01]|0?\d)$"
_MAX_DAYS = 106_751_991  # Spark's bound: the most days an int64 of microseconds holds
_NESTED: dict[str, type[object]] = {
    "ARRAY": list,
    "MAP": dict,
    "STRUCT": dict,
}


def to_frame(result: StatementResult) -> pl.DataFrame:
    """One typed column per result column; raises ShapingError on any unparsable value."""
    names = [column.name for column in result.columns]
    if len(set(names)) != len(names):
        duplicate = next(name for name in names if names.count(name) > 1)
        raise ShapingError(f"column {duplicate!r} appears twice", statement_id=result.statement_id)
    widths = set(map(len, result.rows))
    if widths - {len(names)}:
        raise ShapingError(
            f"a row has {max(widths - {len(names)})} cells for {len(names)} columns",
            statement_id=result.statement_id,
        )
    series = []
    for index, column in enumerate(result.columns):
        try:
            raw = pl.Series(column.name, [row[index] for row in result.rows], dtype=pl.String)
        except TypeError:
            # polars' message quotes the offending cell; it must not reach the logs.
            raise ShapingError(
                f"column {column.name!r} ({column.type_text}): a cell is not a string",
                statement_id=result.statement_id,
            ) from None
        series.append(_parse(raw, column, result.statement_id))
    return pl.DataFrame(series)


def _parse(raw: pl.Series, column: ResultColumn, statement_id: str) -> pl.Series:
    try:
        parsed = _parsed(raw, column, strict=True)
    except pl.exceptions.PolarsError:
        parsed = None
    # Strict casts raise; the other parsers (regexes, JSON checks) null what they reject.
    if parsed is None or parsed.null_count() != raw.null_count():
        row = _first_bad_row(raw, column)
        where = "" if row is None else f" at row index {row}"
        raise ShapingError(
            f"column {column.name!r}: a value does not parse as {column.type_text}{where}",
            statement_id=statement_id,
        ) from None
    return parsed


def _first_bad_row(raw: pl.Series, column: ResultColumn) -> int | None:
    try:
        lenient = _parsed(raw, column, strict=False)
    except pl.exceptions.PolarsError:
        return None
    bad = (lenient.is_null() & raw.is_not_null()).arg_true()
    return int(bad[0]) if len(bad) else None


def _parsed(raw: pl.Series, column: ResultColumn, *, strict: bool) -> pl.Series:
    kind = column.type_name.strip().upper()
    if kind in _NESTED:
        return _checked_json(raw, _NESTED[kind])
    parser = _PARSERS.get(kind)
    if parser is None:  # STRING, CHAR, VARCHAR and type names we do not know: text as sent
        return raw
    return (
        raw.to_frame().select(parser(pl.col(raw.name), column, strict).alias(raw.name)).to_series()
    )


def _checked_json(raw: pl.Series, container: type[object]) -> pl.Series:
    values = raw.to_list()
    checked = [value if value is None or _is_json(value, container) else None for value in values]
    return pl.Series(raw.name, checked, dtype=pl.String).ext.to(JsonText())


def _is_json(text: str, container: type[object]) -> bool:
    try:
        return isinstance(orjson.loads(text), container)
    except orjson.JSONDecodeError:
        return False


def _cast(dtype: pl.DataType) -> _Parser:
    def parse(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
        return value.cast(dtype, strict=strict)

    return parse


def _float(dtype: pl.DataType) -> _Parser:
    def parse(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
        parsed = value.cast(dtype, strict=strict)
        # An out-of-range number casts to ±inf without complaint; only the words may.
        overflow = parsed.is_infinite() & value.str.contains("(?i)inf").not_()
        return pl.when(overflow.not_()).then(parsed)

    return parse


def _boolean(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
    # polars has no string → boolean cast; the wire spells them exactly true/false.
    if strict:
        return value.replace_strict(_BOOLEANS, return_dtype=pl.Boolean)
    return value.replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean)


def _decimal(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
    precision, scale = decimal_shape(column)
    # The cast silently truncates digits beyond the scale. The warehouse never sends
    # them, so a non-zero one means data and manifest disagree: reject, do not round.
    excess = value.str.contains(rf"\.\d{{{scale}}}\d*[1-9]\d*$")
    return pl.when(excess.not_()).then(value.cast(pl.Decimal(precision, scale), strict=strict))


def decimal_shape(column: ResultColumn) -> tuple[int, int]:
    """A DECIMAL column's (precision, scale), from the manifest's fields or its type text."""
    if column.type_precision is not None:
        return column.type_precision, column.type_scale or 0
    match = _DECIMAL_TEXT.search(column.type_text)
    if match:
        return int(match[1]), int(match[2])
    return 10, 0  # a bare DECIMAL is DECIMAL(10,0) in Databricks SQL


def _date(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
    return value.str.to_date("%Y-%m-%d", strict=strict)


def _timestamp(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
    # An offset is required: a naive TIMESTAMP would be a guess about the session zone.
    return value.str.to_datetime(_TIMESTAMP_IN, time_unit="us", time_zone="UTC", strict=strict)


def _timestamp_ntz(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
    iso = value.str.replace(" ", "T", literal=True)
    return iso.str.to_datetime(_TIMESTAMP_NTZ_IN, time_unit="us", strict=strict)


def _binary(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
    return value.str.decode("base64", strict=strict)


def _null(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
    return value.cast(pl.Null, strict=strict)


def _interval(value: pl.Expr, column: ResultColumn, strict: bool) -> pl.Expr:
    fields = column.type_text.upper()
    if "YEAR" in fields or "MONTH" in fields:
        return _year_month(value, strict)
    if any(unit in fields for unit in ("DAY", "HOUR", "MINUTE", "SECOND")):
        return _day_time(value, strict)
    return value  # an interval whose fields the manifest does not say: text as sent


def _day_time(value: pl.Expr, strict: bool) -> pl.Expr:
    parts = value.str.extract_groups(_DAY_TIME).struct

    def number(name: str) -> pl.Expr:
        return parts.field(name).cast(pl.Int64, strict=strict)

    seconds = ((number("days") * 24 + number("hours")) * 60 + number("minutes")) * 60
    seconds = seconds + number("seconds")
    # Spark keeps microseconds; the wire may pad to nanoseconds with zeros.
    fraction = parts.field("fraction").str.slice(0, 6).str.pad_end(6, "0")
    micros = seconds * 1_000_000 + fraction.cast(pl.Int64, strict=strict).fill_null(0)
    signed = pl.when(parts.field("sign").is_null()).then(micros).otherwise(-micros)
    return pl.when(number("days") <= _MAX_DAYS).then(signed).cast(pl.Duration("us"))


def _year_month(value: pl.Expr, strict: bool) -> pl.Expr:
    parts = value.str.extract_groups(_YEAR_MONTH).struct

    def number(name: str) -> pl.Expr:
        return parts.field(name).cast(pl.Int64, strict=strict).cast(pl.String)

    sign = parts.field("sign").fill_null("")
    return pl.concat_str(
        [sign, pl.lit("P"), number("years"), pl.lit("Y"), number("months"), pl.lit("M")]
    )


_PARSERS: dict[str, _Parser] = {
    "BOOLEAN": _boolean,
    "BYTE": _cast(pl.Int8()),
    "SHORT": _cast(pl.Int16()),
    "INT": _cast(pl.Int32()),
    "LONG": _cast(pl.Int64()),
    "FLOAT": _float(pl.Float32()),
    "DOUBLE": _float(pl.Float64()),
    "DECIMAL": _decimal,
    "DATE": _date,
    "TIMESTAMP": _timestamp,
    "TIMESTAMP_NTZ": _timestamp_ntz,
    "BINARY": _binary,
    "INTERVAL": _interval,
    "NULL": _null,
}
