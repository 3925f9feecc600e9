"""What the warehouse client hands to shaping: one statement's columns and wire rows."""

from __future__ import annotations

from dataclasses import dataclass


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
