"""Specification of handler.shaping: wire strings → typed frame → JSON and CSV."""

from __future__ import annotations

import csv
import io
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler import encoding, shaping
from handler.encoding import to_csv, to_json
from handler.errors import ShapingError
from handler.result import ResultColumn, StatementResult
from handler.shaping import JsonText, to_frame


def column(
    type_name: str,
    type_text: str | None = None,
    name: str = "c",
    precision: int | None = None,
    scale: int | None = None,
) -> ResultColumn:
    return ResultColumn(name, type_name, type_text or type_name, precision, scale)


def result(columns: tuple[ResultColumn, ...], rows: list[list[str | None]]) -> StatementResult:
    return StatementResult(statement_id="01ef-test", columns=columns, rows=rows)


def shape_one(col: ResultColumn, *cells: str | None) -> pl.DataFrame:
    return to_frame(result((col,), [[cell] for cell in cells]))


DECIMAL_10_2 = column("DECIMAL", "DECIMAL(10,2)", precision=10, scale=2)
DAY_TIME = column("INTERVAL", "INTERVAL DAY TO SECOND")
YEAR_MONTH = column("INTERVAL", "INTERVAL YEAR TO MONTH")

# (column, wire cell, polars dtype, JSON value text, CSV field)
TYPES: list[tuple[ResultColumn, str, pl.DataType, str, str]] = [
    (column("BOOLEAN"), "true", pl.Boolean(), "true", "true"),
    (column("BOOLEAN"), "false", pl.Boolean(), "false", "false"),
    (column("BYTE", "TINYINT"), "-128", pl.Int8(), "-128", "-128"),
    (column("SHORT", "SMALLINT"), "32767", pl.Int16(), "32767", "32767"),
    (column("INT"), "2016", pl.Int32(), "2016", "2016"),
    (
        column("LONG", "BIGINT"),
        "-9223372036854775808",
        pl.Int64(),
        "-9223372036854775808",
        "-9223372036854775808",
    ),
    (column("FLOAT"), "1.5", pl.Float32(), "1.5", "1.5"),
    (column("FLOAT"), "0.1", pl.Float32(), "0.1", "0.1"),
    (column("DOUBLE"), "1.0E20", pl.Float64(), "1e+20", "1e+20"),
    (column("DOUBLE"), "-0.25", pl.Float64(), "-0.25", "-0.25"),
    (column("DOUBLE"), "NaN", pl.Float64(), '"NaN"', "NaN"),
    (column("DOUBLE"), "Infinity", pl.Float64(), '"Infinity"', "Infinity"),
    (column("FLOAT"), "-Infinity", pl.Float32(), '"-Infinity"', "-Infinity"),
    (DECIMAL_10_2, "1.20", pl.Decimal(10, 2), '"1.20"', "1.20"),
    (DECIMAL_10_2, "-0.05", pl.Decimal(10, 2), '"-0.05"', "-0.05"),
    (DECIMAL_10_2, "7", pl.Decimal(10, 2), '"7.00"', "7.00"),
    (
        column("DECIMAL", "DECIMAL(38,0)", precision=38, scale=0),
        "9" * 38,
        pl.Decimal(38, 0),
        f'"{"9" * 38}"',
        "9" * 38,
    ),
    (column("DECIMAL", "DECIMAL(5,3)"), "12.345", pl.Decimal(5, 3), '"12.345"', "12.345"),
    (column("DECIMAL"), "42", pl.Decimal(10, 0), '"42"', "42"),
    (column("STRING"), "California", pl.String(), '"California"', "California"),
    (
        column("STRING"),
        'say "hi", then\nleave',
        pl.String(),
        '"say \\"hi\\", then\\nleave"',
        '"say ""hi"", then\nleave"',
    ),
    (column("STRING"), "", pl.String(), '""', '""'),
    (column("CHAR", "CHAR(2)"), "CA", pl.String(), '"CA"', "CA"),
    (column("VARCHAR", "VARCHAR(10)"), "Texas", pl.String(), '"Texas"', "Texas"),
    (column("DATE"), "2016-02-29", pl.Date(), '"2016-02-29"', "2016-02-29"),
    (
        column("TIMESTAMP"),
        "2024-01-31T13:45:00.123Z",
        pl.Datetime("us", "UTC"),
        '"2024-01-31T13:45:00.123000Z"',
        "2024-01-31T13:45:00.123000Z",
    ),
    (
        column("TIMESTAMP"),
        "2024-01-31T13:45:00+02:00",
        pl.Datetime("us", "UTC"),
        '"2024-01-31T11:45:00.000000Z"',
        "2024-01-31T11:45:00.000000Z",
    ),
    (
        column("TIMESTAMP"),
        "2024-01-31 13:45:00.5-05:30",
        pl.Datetime("us", "UTC"),
        '"2024-01-31T19:15:00.500000Z"',
        "2024-01-31T19:15:00.500000Z",
    ),
    (
        column("TIMESTAMP_NTZ"),
        "2024-01-31T13:45:00.123456",
        pl.Datetime("us"),
        '"2024-01-31T13:45:00.123456"',
        "2024-01-31T13:45:00.123456",
    ),
    (
        column("TIMESTAMP_NTZ"),
        "2024-01-31 13:45:00",
        pl.Datetime("us"),
        '"2024-01-31T13:45:00.000000"',
        "2024-01-31T13:45:00.000000",
    ),
    (column("BINARY"), "AAEC/w==", pl.Binary(), '"AAEC/w=="', "AAEC/w=="),
    (column("BINARY"), "", pl.Binary(), '""', '""'),
    (column("ARRAY", "ARRAY<INT>"), "[1,2,3]", JsonText(), "[1,2,3]", '"[1,2,3]"'),
    (
        column("ARRAY", "ARRAY<DOUBLE>"),
        '[1.5,"NaN",null]',
        JsonText(),
        '[1.5,"NaN",null]',
        '"[1.5,""NaN"",null]"',
    ),
    (
        column("MAP", "MAP<STRING, BIGINT>"),
        '{"a":1,"b":2}',
        JsonText(),
        '{"a":1,"b":2}',
        '"{""a"":1,""b"":2}"',
    ),
    (
        column("STRUCT", "STRUCT<a: INT, b: STRING>"),
        '{"a": 1, "b": "x"}',
        JsonText(),
        '{"a": 1, "b": "x"}',
        '"{""a"": 1, ""b"": ""x""}"',
    ),
    (
        column("STRUCT", "STRUCT<d: DECIMAL(38,18)>"),
        '{"d":1.000000000000000001}',
        JsonText(),
        '{"d":1.000000000000000001}',
        '"{""d"":1.000000000000000001}"',
    ),
    (DAY_TIME, "1 02:03:04.500000000", pl.Duration("us"), '"P1DT2H3M4.5S"', "P1DT2H3M4.5S"),
    (DAY_TIME, "-0 00:00:01.000000000", pl.Duration("us"), '"-PT1S"', "-PT1S"),
    (DAY_TIME, "0 00:00:00", pl.Duration("us"), '"PT0S"', "PT0S"),
    (
        column("INTERVAL", "INTERVAL HOUR TO MINUTE"),
        "0 05:30:00.000000000",
        pl.Duration("us"),
        '"PT5H30M"',
        "PT5H30M",
    ),
    (YEAR_MONTH, "1-6", pl.String(), '"P1Y6M"', "P1Y6M"),
    (YEAR_MONTH, "-2-0", pl.String(), '"-P2Y0M"', "-P2Y0M"),
    (column("INTERVAL", "INTERVAL MONTH"), "0-11", pl.String(), '"P0Y11M"', "P0Y11M"),
    (
        column("USER_DEFINED_TYPE", "GEOGRAPHY"),
        "POINT(1 2)",
        pl.String(),
        '"POINT(1 2)"',
        "POINT(1 2)",
    ),
    (column("VARIANT"), '{"a":1}', pl.String(), '"{\\"a\\":1}"', '"{""a"":1}"'),
]


def _id(case: tuple[ResultColumn, str, pl.DataType, str, str]) -> str:
    return f"{case[0].type_text}:{case[1]}"


@pytest.mark.parametrize("case", TYPES, ids=_id)
def test_every_type_shapes_its_value_and_null(
    case: tuple[ResultColumn, str, pl.DataType, str, str],
) -> None:
    col, cell, dtype, json_text, csv_field = case
    frame = shape_one(col, cell, None)
    assert frame.schema == pl.Schema({"c": dtype})
    assert frame["c"].null_count() == 1
    assert to_json(frame) == f'[{{"c":{json_text}}},{{"c":null}}]'.encode()
    assert to_csv(frame) == f"c\n{csv_field}\n\n".encode()


def test_the_null_type_holds_only_nulls() -> None:
    frame = shape_one(column("NULL", "VOID"), None, None)
    assert frame.schema == pl.Schema({"c": pl.Null()})
    assert to_json(frame) == b'[{"c":null},{"c":null}]'
    assert to_csv(frame) == b"c\n\n\n"


def test_typed_values_are_the_wire_values() -> None:
    frame = to_frame(
        result(
            (
                column("LONG", name="n"),
                column("DECIMAL", "DECIMAL(10,2)", name="d", precision=10, scale=2),
                column("BINARY", name="b"),
                column("INTERVAL", "INTERVAL DAY TO SECOND", name="i"),
                column("DOUBLE", name="f"),
            ),
            [["9007199254740993", "12345678.91", "aGVsbG8=", "2 00:00:00.000001000", "-Infinity"]],
        )
    )
    row = frame.row(0, named=True)
    assert row["n"] == 9007199254740993  # past float precision: no detour through float
    assert row["d"] == Decimal("12345678.91")
    assert row["b"] == b"hello"
    assert row["i"].days == 2 and row["i"].microseconds == 1
    assert row["f"] == -math.inf


# --- unparsable values --------------------------------------------------------------

UNPARSABLE: list[tuple[ResultColumn, str]] = [
    (column("BOOLEAN"), "yes"),
    (column("BOOLEAN"), "TRUE"),
    (column("BYTE"), "128"),
    (column("SHORT"), "40000"),
    (column("INT"), "2016.0"),
    (column("INT"), " 2016"),
    (column("LONG"), "9223372036854775808"),
    (column("LONG"), ""),
    (column("FLOAT"), "one"),
    (column("DOUBLE"), "1,5"),
    (column("DOUBLE"), "1e400"),
    (column("FLOAT"), "3.5E38"),
    (DECIMAL_10_2, "1.234"),
    (DECIMAL_10_2, "123456789.00"),
    (DECIMAL_10_2, "12a"),
    (column("DATE"), "2023-02-29"),
    (column("DATE"), "31/01/2024"),
    (column("TIMESTAMP"), "2024-01-31T13:45:00"),
    (column("TIMESTAMP"), "yesterday"),
    (column("TIMESTAMP_NTZ"), "2024-01-31T13:45:00Z"),
    (column("BINARY"), "not base64!"),
    (column("ARRAY", "ARRAY<INT>"), "[1,"),
    (column("ARRAY", "ARRAY<INT>"), '{"a":1}'),
    (column("MAP", "MAP<INT, STRING>"), '{1:"a"}'),
    (column("STRUCT", "STRUCT<a: INT>"), "[1]"),
    (column("STRUCT", "STRUCT<a: DOUBLE>"), '{"a":NaN}'),
    (DAY_TIME, "1 25:00:00"),
    (DAY_TIME, "1 day 2 hours"),
    (DAY_TIME, "999999999 00:00:00"),
    (YEAR_MONTH, "1-12"),
    (column("NULL", "VOID"), "null"),
]


# A valid cell of the same declared type goes first, so the bad one is row 1.
GOOD_CELL = {col.type_text: cell for col, cell, *_ in reversed(TYPES) if cell}


@pytest.mark.parametrize("col,cell", UNPARSABLE, ids=[f"{c.type_text}:{v}" for c, v in UNPARSABLE])
def test_an_unparsable_value_raises_naming_column_and_type_but_not_value(
    col: ResultColumn, cell: str
) -> None:
    good = GOOD_CELL.get(col.type_text)
    with pytest.raises(ShapingError) as caught:
        to_frame(result((col,), [[good], [cell]]))
    error = caught.value
    assert error.statement_id == "01ef-test"
    assert "'c'" in error.detail and col.type_text in error.detail
    assert "row index 1" in error.detail
    if cell:
        assert cell not in error.detail
    # polars' own message quotes the value: it must not ride along as the cause.
    assert error.__cause__ is None and error.__suppress_context__


def test_a_bad_value_in_a_named_column_names_that_column() -> None:
    columns = (column("INT", name="year"), column("LONG", "BIGINT", name="drivers"))
    with pytest.raises(ShapingError, match=r"column 'drivers': .* BIGINT at row index 2"):
        to_frame(result(columns, [["2016", "1"], ["2017", None], ["2018", "many"]]))


def test_a_cell_that_is_not_a_string_raises_without_echoing_it() -> None:
    rows: list[list[Any]] = [[12345]]
    with pytest.raises(ShapingError, match="'c'") as caught:
        to_frame(result((column("INT"),), rows))
    assert "12345" not in caught.value.detail


def test_a_row_of_the_wrong_width_raises() -> None:
    with pytest.raises(ShapingError, match="3 cells for 2 columns"):
        to_frame(result((column("INT", name="a"), column("INT", name="b")), [["1", "2", "3"]]))


def test_a_repeated_column_name_raises() -> None:
    with pytest.raises(ShapingError, match="'a' appears twice"):
        to_frame(result((column("INT", name="a"), column("STRING", name="a")), [["1", "x"]]))


# --- frames as a whole ----------------------------------------------------------------

DRIVERS = (
    column("INT", name="year"),
    column("STRING", name="state"),
    column("STRING", name="cohort"),
    column("STRING", name="gender"),
    column("LONG", "BIGINT", name="drivers"),
)


def test_an_empty_result_is_an_empty_array_and_a_header_with_dtypes_kept() -> None:
    frame = to_frame(result((*DRIVERS, DECIMAL_10_2, column("ARRAY", "ARRAY<INT>", "a")), []))
    assert frame.schema == pl.Schema(
        {
            "year": pl.Int32(),
            "state": pl.String(),
            "cohort": pl.String(),
            "gender": pl.String(),
            "drivers": pl.Int64(),
            "c": pl.Decimal(10, 2),
            "a": JsonText(),
        }
    )
    assert to_json(frame) == b"[]"
    assert to_csv(frame) == b"year,state,cohort,gender,drivers,c,a\n"


def test_column_order_is_the_result_order() -> None:
    names = ["zeta", "alpha", "mid", "Beta", "a b"]
    columns = tuple(column("STRING", name=name) for name in names)
    frame = to_frame(result(columns, [list(names)]))
    assert frame.columns == names
    assert list(orjson.loads(to_json(frame))[0]) == names
    assert to_csv(frame).splitlines()[0] == b"zeta,alpha,mid,Beta,a b"


def test_keys_are_json_escaped() -> None:
    frame = to_frame(
        result((column("INT", name='we"ird\\'), column("ARRAY", name="x")), [["1", "[]"]])
    )
    assert orjson.loads(to_json(frame)) == [{'we"ird\\': 1, "x": []}]


def drivers_rows(count: int) -> list[list[str | None]]:
    states = ["California", "Texas", "New York", "Florida", "Ohio"]
    return [
        [
            str(1994 + i % 25),
            states[i % 5],
            ["16-19", "20-24", "25-29"][i % 3],
            "Female" if i % 2 else "Male",
            None if i % 97 == 0 else str(i * 7919 % 10_000_000),
        ]
        for i in range(count)
    ]


def test_ten_thousand_rows_shape_like_the_wire() -> None:
    rows = drivers_rows(10_000)
    frame = to_frame(result(DRIVERS, rows))
    expected = [
        {
            "year": int(r[0]),  # type: ignore[arg-type]
            "state": r[1],
            "cohort": r[2],
            "gender": r[3],
            "drivers": None if r[4] is None else int(r[4]),
        }
        for r in rows
    ]
    assert orjson.loads(to_json(frame)) == expected
    parsed = list(csv.reader(io.StringIO(to_csv(frame).decode())))
    assert parsed[0] == ["year", "state", "cohort", "gender", "drivers"]
    assert parsed[1:] == [["" if cell is None else cell for cell in r] for r in rows]


def test_ten_thousand_rows_with_nested_and_nan_take_the_general_path() -> None:
    rows = [
        [str(i), f"[{i},{i + 1}]", "NaN" if i % 3 == 0 else f"{i}.5", None if i % 5 else "x"]
        for i in range(10_000)
    ]
    columns = (
        column("INT", name="i"),
        column("ARRAY", "ARRAY<INT>", name="pair"),
        column("DOUBLE", name="f"),
        column("STRING", name="s"),
    )
    body = to_json(to_frame(result(columns, rows)))
    assert orjson.loads(body) == [
        {
            "i": i,
            "pair": [i, i + 1],
            "f": "NaN" if i % 3 == 0 else i + 0.5,
            "s": None if i % 5 else "x",
        }
        for i in range(10_000)
    ]


def test_nested_text_is_embedded_verbatim() -> None:
    text = '{"big":123456789012345678901234567890,"d":0.10,"z":1,"a":2}'
    frame = shape_one(column("STRUCT", "STRUCT<big: DECIMAL(30,0)>"), text)
    assert to_json(frame) == b'[{"c":' + text.encode() + b"}]"


def test_json_text_survives_an_ipc_round_trip() -> None:
    frame = shape_one(column("MAP", "MAP<STRING, INT>"), '{"a":1}', None)
    again = pl.read_ipc(frame.write_ipc(None).getvalue())
    assert again.schema == frame.schema
    assert to_json(again) == b'[{"c":{"a":1}},{"c":null}]'


def test_timestamps_in_other_zones_are_written_in_utc() -> None:
    frame = pl.DataFrame(
        {"t": pl.Series(["2024-01-31 12:00"]).str.to_datetime(time_zone="Europe/Paris")}
    )
    assert to_json(frame) == b'[{"t":"2024-01-31T11:00:00.000000Z"}]'


def test_the_types_page_documents_every_type_the_shaper_reads() -> None:
    page = (Path(shaping.__file__).resolve().parents[1] / "docs" / "types.md").read_text()
    rows = [line.split("|")[1] for line in page.splitlines() if line.startswith("| ")]
    names = (re.sub(r"\(.*?\)", "", row) for row in rows)  # DECIMAL(p,s) is DECIMAL
    documented = {name.strip("` ") for row in names for name in re.split(r"[,…]", row)}
    assert set(shaping._PARSERS) <= documented, set(shaping._PARSERS) - documented


# --- properties -----------------------------------------------------------------------

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@given(st.lists(st.one_of(st.none(), INT64), max_size=30))
def test_any_int64_round_trips(values: list[int | None]) -> None:
    cells = [None if v is None else str(v) for v in values]
    frame = shape_one(column("LONG"), *cells)
    assert [row["c"] for row in orjson.loads(to_json(frame))] == values


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=30))
def test_any_finite_double_round_trips_exactly(values: list[float]) -> None:
    frame = shape_one(column("DOUBLE"), *map(repr, values))
    assert [row["c"] for row in orjson.loads(to_json(frame))] == values
    assert [float(line) for line in to_csv(frame).decode().splitlines()[1:]] == values


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-(10**7), max_value=10**7
    )
)
def test_any_decimal_keeps_its_digits(value: Decimal) -> None:
    frame = shape_one(DECIMAL_10_2, f"{value:f}")
    assert to_json(frame) == f'[{{"c":"{value.quantize(Decimal("0.01")):f}"}}]'.encode()


@given(st.lists(st.one_of(st.none(), TEXT), max_size=20))
def test_any_string_round_trips_through_json_and_csv(values: list[str | None]) -> None:
    frame = shape_one(column("STRING"), *values)
    assert [row["c"] for row in orjson.loads(to_json(frame))] == values
    lines = list(csv.reader(io.StringIO(to_csv(frame).decode(), newline="")))
    assert [line[0] if line else "" for line in lines[1:]] == [v or "" for v in values]


SIMPLE_FRAMES = st.lists(
    st.tuples(
        st.one_of(st.none(), INT64),
        st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
        st.one_of(st.none(), TEXT),
        st.one_of(st.none(), st.booleans()),
        st.one_of(st.none(), st.dates()),
        st.one_of(st.none(), st.binary(max_size=8)),
    ),
    max_size=20,
)


@settings(max_examples=50)
@given(SIMPLE_FRAMES)
def test_both_json_writers_agree(rows: list[tuple[Any, ...]]) -> None:
    # write_json is the fast path; concatenation takes over when raw JSON or NaN appear.
    frame = pl.DataFrame(
        rows,
        schema={
            "i": pl.Int64,
            "f": pl.Float64,
            "s": pl.String,
            "b": pl.Boolean,
            "d": pl.Date,
            "x": pl.Binary,
        },
        orient="row",
    )
    assert to_json(frame) == encoding._json_by_concatenation(frame)


def test_error_details_never_carry_warehouse_text() -> None:
    secret = "s3://secret-bucket/table"
    with pytest.raises(ShapingError) as caught:
        shape_one(column("DATE"), secret)
    assert not re.search("secret", str(caught.value))
