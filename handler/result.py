"""What the warehouse client hands to shaping: one statement's columns and its rows.

INLINE + JSON_ARRAY gives wire rows (StatementResult), which shaping types;
EXTERNAL_LINKS + ARROW_STREAM gives a frame already typed the same way (FrameResult).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars is imported on the miss path only (cold start)
    import polars as pl


@dataclass(frozen=True, slots=True)
class ResultColumn:
    """One column of the result manifest, already under its public name."""

    name: str
    type_name: str
    type_text: str
    type_precision: int | None = None
    type_scale: int | None = None


@dataclass(frozen=True, slots=True)
class StatementResult:
    """A finished statement: every chunk concatenated, cells as the wire sent them."""

    statement_id: str
    columns: tuple[ResultColumn, ...]
    # JSON_ARRAY cells are strings or null whatever the column type; shaping types them.
    rows: list[list[str | None]]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class FrameResult:
    """A finished statement read from Arrow: one frame, dtypes as `shaping.to_frame` gives."""

    statement_id: str
    columns: tuple[ResultColumn, ...]
    frame: pl.DataFrame
    truncated: bool = False
