"""handler.arrow_frames: Arrow IPC chunks → the frame shaping.to_frame gives for the same values."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from handler.arrow_frames import read_chunks, to_frame
from handler.errors import ShapingError
from handler.json_text import JsonText
from handler.result import ResultColumn, StatementResult
from handler.shaping import to_frame as shaped
from local.emulator import cells, files

ID = "01ef-statement"


def stream(*series: pl.Series) -> bytes:
    sink = io.BytesIO()
    pl.DataFrame(list(series)).write_ipc_stream(sink, compat_level=pl.CompatLevel.oldest())
    return sink.getvalue()


def framed(columns: list[ResultColumn], *streams: bytes) -> pl.DataFrame:
    return to_frame(columns, read_chunks(streams, ID), ID)


def same_as_json_array(column: ResultColumn, arrow: pl.Series, cells: list[str | None]) -> None:
    expected = shaped(StatementResult(ID, (column,), [[cell] for cell in cells]))
    assert_frame_equal(framed([column], stream(arrow)), expected)


def test_timestamps_in_any_zone_become_utc_microseconds() -> None:
    moment = dt.datetime(2016, 2, 29, 13, 45, 30, 500000, tzinfo=dt.UTC)
    for zone, unit in (("Etc/UTC", "us"), ("America/New_York", "ns"), ("UTC", "ms")):
        arrow = pl.Series("t", [moment, None], dtype=pl.Datetime(unit, zone))  # type: ignore[arg-type]
        same_as_json_array(
            ResultColumn("t", "TIMESTAMP", "TIMESTAMP"), arrow, ["2016-02-29T13:45:30.5Z", None]
        )


def test_a_zoneless_timestamp_is_not_a_timestamp_and_a_zoned_one_not_ntz() -> None:
    naive = pl.Series("t", [dt.datetime(2016, 1, 1)], dtype=pl.Datetime("us"))
    zoned = naive.dt.replace_time_zone("UTC")
    with pytest.raises(ShapingError, match="arrived as Arrow"):
        framed([ResultColumn("t", "TIMESTAMP", "TIMESTAMP")], stream(naive))
    with pytest.raises(ShapingError, match="arrived as Arrow"):
        framed([ResultColumn("t", "TIMESTAMP_NTZ", "TIMESTAMP_NTZ")], stream(zoned))


def test_integers_are_cast_to_their_width_and_an_overflow_is_refused() -> None:
    wide = pl.Series("n", [300, None], dtype=pl.Int64)
    same_as_json_array(ResultColumn("n", "SHORT", "SMALLINT"), wide, ["300", None])
    with pytest.raises(ShapingError, match="does not fit TINYINT"):
        framed([ResultColumn("n", "BYTE", "TINYINT")], stream(wide))
    with pytest.raises(ShapingError, match="arrived as Arrow"):
        framed([ResultColumn("n", "INT", "INT")], stream(pl.Series("n", [1.5])))


def test_decimals_keep_their_precision_and_scale() -> None:
    arrow = pl.Series("d", [Decimal("12345678.90"), None], dtype=pl.Decimal(10, 2))
    column = ResultColumn("d", "DECIMAL", "DECIMAL(10,2)", 10, 2)
    same_as_json_array(column, arrow, ["12345678.90", None])
    bare = ResultColumn("d", "DECIMAL", "DECIMAL(12,2)")  # precision from type_text only
    assert framed([bare], stream(arrow)).schema["d"] == pl.Decimal(12, 2)


def test_types_sent_as_text_are_parsed_as_json_array_cells() -> None:
    cases = [
        (ResultColumn("i", "INTERVAL", "INTERVAL DAY TO SECOND"), ["1 02:03:04.500000000", None]),
        (ResultColumn("i", "INTERVAL", "INTERVAL YEAR TO MONTH"), ["1-6", None]),
        (ResultColumn("a", "ARRAY", "ARRAY<INT>"), ["[1,2,null]", None]),
        (ResultColumn("m", "MAP", "MAP<STRING, INT>"), ['{"a":1}', None]),
        (ResultColumn("s", "STRUCT", "STRUCT<a: INT>"), ['{"a":7}', None]),
        (ResultColumn("d", "DECIMAL", "DECIMAL(4,2)", 4, 2), ["12.30", None]),
    ]
    for column, text in cases:
        same_as_json_array(column, pl.Series(column.name, text, dtype=pl.String), text)
    assert framed([cases[2][0]], stream(pl.Series("a", ["[1]"]))).schema["a"] == JsonText()


def test_text_that_does_not_parse_is_refused_as_in_json_array() -> None:
    with pytest.raises(ShapingError, match="does not parse as STRUCT"):
        framed([ResultColumn("s", "STRUCT", "STRUCT<a: INT>")], stream(pl.Series("s", ["[1]"])))


def test_native_nested_columns_become_json_text() -> None:
    lists = pl.Series("a", [[1, 2, None], None], dtype=pl.List(pl.Int32))
    same_as_json_array(ResultColumn("a", "ARRAY", "ARRAY<INT>"), lists, ["[1,2,null]", None])
    structs = pl.Series("s", [{"a": 7, "b": "seven"}, None])
    same_as_json_array(
        ResultColumn("s", "STRUCT", "STRUCT<a: INT, b: STRING>"),
        structs,
        ['{"a":7,"b":"seven"}', None],
    )
    entries = pl.Series("m", [[{"key": "a", "value": 1}, {"key": "b", "value": 2}], None])
    same_as_json_array(
        ResultColumn("m", "MAP", "MAP<STRING, INT>"), entries, ['{"a":1,"b":2}', None]
    )


def test_chunks_are_concatenated_in_order_even_when_one_is_all_null() -> None:
    column = ResultColumn("n", "LONG", "BIGINT")
    first = stream(pl.Series("n", [1, 2], dtype=pl.Int64))
    nulls = stream(pl.Series("n", [None, None], dtype=pl.Null))
    last = stream(pl.Series("n", [3], dtype=pl.Int64))
    assert framed([column], first, nulls, last)["n"].to_list() == [1, 2, None, None, 3]


def test_an_empty_result_is_typed_from_the_manifest() -> None:
    columns = (ResultColumn("t", "TIMESTAMP", "TIMESTAMP"), ResultColumn("s", "STRUCT", "STRUCT"))
    assert to_frame(columns, [], ID).schema == shaped(StatementResult(ID, columns, [])).schema


def test_columns_the_manifest_does_not_name_are_refused() -> None:
    chunk = stream(pl.Series("x", [1]), pl.Series("y", [2]))
    for columns in (
        [ResultColumn("x", "LONG", "BIGINT")],
        [ResultColumn("y", "LONG", "BIGINT"), ResultColumn("x", "LONG", "BIGINT")],
    ):
        with pytest.raises(ShapingError, match="manifest"):
            framed(columns, chunk)


def test_chunks_whose_schemas_disagree_are_refused() -> None:
    column = ResultColumn("n", "LONG", "BIGINT")
    with pytest.raises(ShapingError, match="disagree"):
        framed([column], stream(pl.Series("n", [1])), stream(pl.Series("n", [b"x"])))


@pytest.mark.parametrize(
    "body", [b"", b"<html>Bad Gateway</html>", stream(pl.Series("n", [1]))[:-100]]
)
def test_a_file_that_is_not_an_arrow_stream_is_refused(body: bytes) -> None:
    with pytest.raises(ShapingError, match="not an Arrow stream") as caught:
        read_chunks([body], ID)
    assert caught.value.statement_id == ID


def test_unknown_type_names_stay_text() -> None:
    column = ResultColumn("g", "GEOGRAPHY", "GEOGRAPHY")
    same_as_json_array(column, pl.Series("g", ["POINT(1 2)", None]), ["POINT(1 2)", None])


# --- the property: both wire forms of the same values shape to the same frame ----------

_VALUES = {
    "BOOLEAN": st.booleans(),
    "INT": st.integers(-(2**31), 2**31 - 1),
    "LONG": st.integers(-(2**63), 2**63 - 1),
    "FLOAT": st.floats(width=32),
    "DOUBLE": st.floats(),
    "DECIMAL": st.decimals(-(10**8) + 1, 10**8 - 1, places=2, allow_nan=False),
    "STRING": st.text(),
    "DATE": st.dates(dt.date(1000, 1, 1)),
    "TIMESTAMP": st.datetimes(dt.datetime(1000, 1, 1), timezones=st.just(dt.UTC)),
    "TIMESTAMP_NTZ": st.datetimes(dt.datetime(1000, 1, 1)),
    "BINARY": st.binary(),
}
_TEXT = {"DECIMAL": "DECIMAL(10,2)", "LONG": "BIGINT"}


@settings(max_examples=100, deadline=None)
@given(data=st.data(), kind=st.sampled_from(sorted(_VALUES)))
def test_json_array_cells_and_arrow_of_the_same_values_give_one_frame(
    data: st.DataObject, kind: str
) -> None:
    """The emulator's two encoders (cells, files) against lakegate's two decoders."""
    values = data.draw(st.lists(st.none() | _VALUES[kind], max_size=20))
    precision, scale = (10, 2) if kind == "DECIMAL" else (None, None)
    column = ResultColumn("v", kind, _TEXT.get(kind, kind), precision, scale)
    wire = {"name": "v", "type_name": kind, "type_precision": precision, "type_scale": scale}
    # Each kind draws its own value type; float_text only ever gets the FLOAT kind's floats.
    encode: Callable[[Any], str] = cells.float_text if kind == "FLOAT" else cells.cell_text
    texts = [[None if v is None else encode(v)] for v in values]
    arrow = files.arrow_file([wire], [(v,) for v in values], texts)
    expected = shaped(StatementResult(ID, (column,), texts))
    assert_frame_equal(framed([column], arrow), expected, check_exact=True)
