"""Arrow: the same rows shaped from JSON_ARRAY chunks and from ARROW_STREAM files.

Both inputs are built in-process (no HTTP, so the million-row case takes seconds): the
licensed-drivers rows of the shaping section, once as the JSON body of a ResultData
chunk and once as Arrow IPC streams of the types Databricks sends (int32, utf8, int64),
in chunks of CHUNK_ROWS. Timed is what the client does with the bytes it received:

- JSON_ARRAY: parse the chunk into the wire model (pydantic, as the transport does),
  then `shaping.to_frame` types the strings;
- ARROW_STREAM: `arrow_frames.read_chunks` + `arrow_frames.to_frame`.

"bytes" is what crosses the wire for each, uncompressed.
"""

from __future__ import annotations

import io
from functools import partial

import orjson
import polars as pl
from polars.testing import assert_frame_equal

from handler import arrow_frames
from handler.result import StatementResult
from handler.shaping import to_frame
from handler.warehouse.wire import ResultData
from tools.bench import Table, best_of
from tools.bench.shaping import COLUMNS, wire_rows

SIZES = ((100_000, 3), (1_000_000, 2))
CHUNK_ROWS = 250_000
_DTYPES = {"INT": pl.Int32(), "STRING": pl.String(), "LONG": pl.Int64()}


def json_body(rows: list[list[str | None]]) -> bytes:
    return orjson.dumps(
        {"chunk_index": 0, "row_offset": 0, "row_count": len(rows), "data_array": rows}
    )


def arrow_streams(rows: list[list[str | None]]) -> list[bytes]:
    """The rows as Databricks would write them: typed Arrow, one stream per chunk."""
    frame = pl.DataFrame(
        [
            pl.Series(c.name, [row[i] for row in rows]).cast(_DTYPES[c.type_name])
            for i, c in enumerate(COLUMNS)
        ]
    )
    streams = []
    for start in range(0, frame.height, CHUNK_ROWS):
        sink = io.BytesIO()
        frame.slice(start, CHUNK_ROWS).write_ipc_stream(sink, compat_level=pl.CompatLevel.oldest())
        streams.append(sink.getvalue())
    return streams


def from_json(body: bytes) -> pl.DataFrame:
    chunk = ResultData.model_validate_json(body)
    return to_frame(StatementResult("bench", COLUMNS, chunk.data_array or []))


def from_arrow(streams: list[bytes]) -> pl.DataFrame:
    return arrow_frames.to_frame(COLUMNS, arrow_frames.read_chunks(streams, "bench"), "bench")


def section() -> Table:
    rows: list[tuple[str, ...]] = []
    # The million rows repeat the first 100,000: generating them costs more than the bench.
    base = wire_rows(SIZES[0][0])
    for count, repetitions in SIZES:
        data = base * (count // len(base))
        body, streams = json_body(data), arrow_streams(data)
        # Same frame out of both, or the timing compares different work.
        assert_frame_equal(from_json(body), from_arrow(streams))
        json_s = best_of(repetitions, partial(from_json, body))
        arrow_s = best_of(repetitions, partial(from_arrow, streams))
        arrow_bytes = sum(map(len, streams))
        rows.append(
            (
                f"{count:,}",
                f"{json_s * 1000:.1f}",
                f"{arrow_s * 1000:.1f}",
                f"{count / json_s:,.0f}",
                f"{count / arrow_s:,.0f}",
                f"{len(body) / 1e6:.1f}",
                f"{arrow_bytes / 1e6:.1f}",
                f"{json_s / arrow_s:.1f}x",
            )
        )
    return Table(
        title="arrow: shaping JSON_ARRAY chunks vs ARROW_STREAM files (licensed drivers, 5 columns)",
        header=(
            "rows",
            "JSON_ARRAY ms",
            "ARROW ms",
            "JSON rows/s",
            "Arrow rows/s",
            "JSON MB",
            "Arrow MB",
            "speedup",
        ),
        rows=rows,
        note="Best of N runs with time.perf_counter, inputs built in-process. JSON_ARRAY: "
        "ResultData.model_validate_json + shaping.to_frame; ARROW_STREAM: "
        f"arrow_frames.read_chunks + to_frame over {CHUNK_ROWS:,}-row streams. "
        "MB: bytes over the wire, uncompressed.",
    )
