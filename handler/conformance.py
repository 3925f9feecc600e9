"""Does the warehouse's answer have the columns the statement asked for, under the types published?

A 200 promises each row the response schema the OpenAPI document publishes
(`handler.openapi.row_schema`): these names, in this order, of these JSON types, and
nothing else (`additionalProperties: false`). Shaping turns whatever the manifest says
into a frame, so an answer with an extra column, an upper-cased name or a type that
shapes to text (VARIANT, GEOGRAPHY) would reach clients as it came. The manifest's
columns are therefore checked before any row is shaped, against an explicit
expectation:

    Expected = tuple[ExpectedColumn(name, type_names), ...]

`type_names` are the Databricks `type_name`s (as `handler.shaping` and
`handler.arrow_frames` read them, upper case) that shape to the column's published
type. `expected_columns(dataset, query)` builds it for a page or an export from the
catalogue, as `handler.sql` writes the statement, and `rollup_columns(dataset, rollup)`
for a roll-up's statement: every column (its own type), or its groups and the parts of
its measures (counts and integer sums BIGINT, decimal sums exact DECIMAL, min and max
the column's type).

A mismatch is a SchemaMismatch (502 `bad_upstream_data`). Its detail and the log line
name only lakegate's own column names and positions, never what the warehouse sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from handler.catalogue import ColumnType, Dataset
from handler.errors import SchemaMismatch
from handler.query import Query
from handler.result import ResultColumn
from handler.rollups import MeasurePart, measure_parts
from handler.sql import rollup_group_tokens
from handler.vocabulary import Measure, Rollup, group_column

logger = Logger(service="lakegate", child=True)

_INTEGERS = frozenset({"BYTE", "SHORT", "INT", "LONG"})

# A catalogue type ← the Databricks type names that shape to its published JSON type
# (handler/shaping.py's table). A JSON number holds integers too; a DECIMAL does not
# shape to a number (it is a string, so that no client parses it into a float), and
# TIMESTAMP_NTZ has no offset, so it is not an RFC 3339 date-time.
SHAPED_AS: dict[ColumnType, frozenset[str]] = {
    "integer": _INTEGERS,
    "number": _INTEGERS | {"FLOAT", "DOUBLE"},
    "decimal": frozenset({"DECIMAL"}),
    "string": frozenset({"STRING", "CHAR", "VARCHAR"}),
    "boolean": frozenset({"BOOLEAN"}),
    "date": frozenset({"DATE"}),
    "timestamp": frozenset({"TIMESTAMP"}),
}
# handler.sql casts every measure but min and max: CAST(… AS BIGINT) answers LONG,
# CAST(… AS DOUBLE) DOUBLE, on every engine.
_CAST_AS: dict[ColumnType, frozenset[str]] = {
    "integer": frozenset({"LONG"}),
    "number": frozenset({"DOUBLE"}),
}


@dataclass(frozen=True, slots=True)
class ExpectedColumn:
    """One column of an answer: its exact name, and the type names accepted for it."""

    name: str
    type_names: frozenset[str]


Expected = tuple[ExpectedColumn, ...]


def expected_columns(dataset: Dataset, query: Query) -> Expected:
    """What the statement `handler.sql.build_statement(dataset, query)` must answer."""
    if not query.aggregated:
        return tuple(
            ExpectedColumn(name, SHAPED_AS[dataset.column(name).type]) for name in query.fields
        )
    # A period is cast back to its column's type (DATE, or TIMESTAMP), as the column is.
    groups = (
        ExpectedColumn(group_column(token), SHAPED_AS[dataset.column(token.partition(":")[0]).type])
        for token in query.group_by
    )
    measures = (
        ExpectedColumn(name, _measure_types(dataset, dataset.measure(name)))
        for name in query.measures
    )
    return (*groups, *measures)


def rollup_columns(dataset: Dataset, rollup: Rollup) -> Expected:
    """What the statement `handler.sql.build_rollup_statement(dataset, rollup)` must answer."""
    if rollup.grain == "table":
        return tuple(ExpectedColumn(c.name, SHAPED_AS[c.type]) for c in dataset.columns)
    groups = (
        ExpectedColumn(token, SHAPED_AS[dataset.column(token.partition(":")[0]).type])
        for token in rollup_group_tokens(rollup)
    )
    parts = (
        ExpectedColumn(part.name, _part_types(dataset, part))
        for part in measure_parts(dataset, rollup.measures)
    )
    return (*groups, *parts)


def _part_types(dataset: Dataset, part: MeasurePart) -> frozenset[str]:
    if part.function in ("rows", "count", "distinct"):
        return _CAST_AS["integer"]
    kind = dataset.column(part.column).type
    if part.function == "sum" and kind != "decimal":
        return _CAST_AS["integer" if kind == "integer" else "number"]
    return SHAPED_AS[kind]  # min, max and an exact decimal sum keep the column's type


def _measure_types(dataset: Dataset, measure: Measure) -> frozenset[str]:
    kind = dataset.measure_type(measure)
    if measure.function in ("min", "max"):
        return SHAPED_AS[kind]  # the column's own type
    return _CAST_AS[kind]


def check(columns: Sequence[ResultColumn], expected: Expected, statement_id: str) -> None:
    """The manifest's columns are exactly `expected`: names, order and types; else SchemaMismatch."""
    if len(columns) != len(expected):
        raise _mismatch(statement_id, f"{len(columns)} columns where {len(expected)} were asked")
    for position, (column, wanted) in enumerate(zip(columns, expected, strict=True)):
        if column.name != wanted.name:
            raise _mismatch(statement_id, f"column {position} is not named {wanted.name!r}")
        if column.type_name.strip().upper() not in wanted.type_names:
            raise _mismatch(
                statement_id, f"column {wanted.name!r} has a type that is not its published one"
            )


def _mismatch(statement_id: str, reason: str) -> SchemaMismatch:
    logger.warning(
        "warehouse answer does not conform", extra={"statement_id": statement_id, "reason": reason}
    )
    return SchemaMismatch(f"answer does not conform: {reason}", statement_id=statement_id)
