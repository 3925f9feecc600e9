"""Which roll-up answers a query: the matching rules (Cube's pre-aggregation rules, made exact).

A dataset's roll-ups (catalogue `rollups:`) are cached intermediate results; a query is
answered from the first one that can answer it exactly, else from its own statement.

A `table` roll-up holds every column of every row, so it answers every query, raw rows
included, as long as every filter is on a published column of a compatible type; an
export is answered only when its `limit` is within the roll-up's `max_rows`.

A `grouped` roll-up holds its dimensions (each column at one grain) and, for each of its
measures, what re-aggregates it. It answers an aggregate query when

- every filter is on a kept column: at the column's own grain any form; at a period
  (`date:month`) only a range whose bounds fall on the period's edges (`date[gte]` a
  first day, `date[lte]` a last day), which selects whole groups;
- every `group_by` item is a kept column at a grain it can be rolled up to (a day to
  any period, a month to a quarter or year; never a month to a week);
- every measure is one of the roll-up's, and re-aggregates: sum, count, min and max
  from their parts, avg from its sum and count; count_distinct only when the query's
  groups are exactly the roll-up's dimensions at their grains and every filter is on
  one of them at its own grain (then each roll-up row is one answer row);
- the sort names only what the answer holds (always true of a valid query).

Raw rows never come from a grouped roll-up. Case-insensitive filters fold the roll-up's
text with the warehouse's `lower()` (handler.derivation), as the statement would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from handler.catalogue import Column, Dataset
from handler.query import Condition, Query
from handler.vocabulary import Filter, Granularity, Measure, Rollup

PartFunction = Literal["rows", "count", "sum", "min", "max", "distinct"]

# A period rolls up to these coarser ones (a week does not nest in a month or a year).
ROLLS_UP_TO: dict[Granularity | None, tuple[Granularity | None, ...]] = {
    None: (None, "day", "week", "month", "quarter", "year"),
    "day": ("day", "week", "month", "quarter", "year"),
    "week": ("week",),
    "month": ("month", "quarter", "year"),
    "quarter": ("quarter", "year"),
    "year": ("year",),
}
# A filter's type against the column types it compares with exactly as the SQL does.
_COMPARABLE: dict[str, tuple[str, ...]] = {
    "integer": ("integer",),
    "number": ("integer", "decimal", "number"),
    "string": ("string",),
    "date": ("date",),
}


@dataclass(frozen=True, slots=True)
class MeasurePart:
    """What a grouped roll-up keeps of a measure, per group: `sum__drivers`, `rows__`."""

    function: PartFunction
    column: str = ""  # "" for rows

    @property
    def name(self) -> str:
        return f"{self.function}__{self.column}"


def parts_of(measure: Measure) -> tuple[MeasurePart, ...]:
    """The parts a measure is re-aggregated from. A sum keeps its count of values too: the
    sum of no value is NULL in SQL, and only the count tells it from a sum of zeros."""
    column = measure.column or ""
    if measure.function == "count":
        return (MeasurePart("rows"),) if not column else (MeasurePart("count", column),)
    if measure.function in ("sum", "avg"):
        return MeasurePart("sum", column), MeasurePart("count", column)
    if measure.function == "count_distinct":
        return (MeasurePart("distinct", column),)
    return (MeasurePart(measure.function, column),)  # type: ignore[arg-type]


def measure_parts(dataset: Dataset, names: Iterable[str]) -> tuple[MeasurePart, ...]:
    """Every part of the named measures, each once, in order."""
    parts = (part for name in names for part in parts_of(dataset.measure(name)))
    return tuple(dict.fromkeys(parts))


def answering_rollup(dataset: Dataset, query: Query) -> Rollup | None:
    """The first of the dataset's roll-ups that answers `query` exactly, if any."""
    return next((r for r in dataset.rollups if answers(dataset, r, query)), None)


def answers(dataset: Dataset, rollup: Rollup, query: Query) -> bool:
    """Whether `rollup` holds everything `query`'s answer is made of (the module's rules)."""
    if query.export and query.limit > rollup.max_rows:
        return False
    if rollup.grain == "table":
        return all(filtered_column(dataset, c) is not None for c in query.filters)
    if not query.aggregated:
        return False
    grains = dataset.rollup_grains(rollup)
    if not all(_filter_answerable(dataset, grains, c) for c in query.filters):
        return False
    if not all(_group_answerable(grains, token) for token in query.group_by):
        return False
    if not set(query.measures) <= set(rollup.measures):
        return False
    distinct = [m for m in query.measures if dataset.measure(m).function == "count_distinct"]
    return not distinct or _exactly_its_groups(dataset, grains, query)


def filtered_column(dataset: Dataset, condition: Condition) -> Column | None:
    """The published column a filter compares, when its values compare as in the SQL."""
    spec = filter_of(dataset, condition)
    column = next((c for c in dataset.columns if c.source == spec.column), None)
    if column is None or column.type not in _COMPARABLE[spec.type]:
        return None
    return column


def filter_of(dataset: Dataset, condition: Condition) -> Filter:
    return next(f for f in dataset.filters if f.name == condition.filter)


def period_start(day: dt.date, period: Granularity) -> dt.date:
    """The first day of the period `day` falls in (weeks start on Monday, as date_trunc's)."""
    if period == "day":
        return day
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def _filter_answerable(
    dataset: Dataset, grains: dict[str, Granularity | None], condition: Condition
) -> bool:
    column = filtered_column(dataset, condition)
    if column is None or column.name not in grains:
        return False
    period = grains[column.name]
    if period is None:
        return True
    # At a period only whole periods can be selected: aligned date bounds.
    value = condition.value
    if column.type != "date" or not isinstance(value, dt.date):
        return False
    if condition.op == "gte":
        return period_start(value, period) == value
    if condition.op == "lte":
        try:
            after = value + dt.timedelta(days=1)
        except OverflowError:
            return False
        return period_start(after, period) == after
    return False


def _group_answerable(grains: dict[str, Granularity | None], token: str) -> bool:
    column, _, period = token.partition(":")
    if column not in grains:
        return False
    wanted: Granularity | None = period or None  # type: ignore[assignment]
    return wanted in ROLLS_UP_TO[grains[column]]


def _exactly_its_groups(
    dataset: Dataset, grains: dict[str, Granularity | None], query: Query
) -> bool:
    """count_distinct does not re-aggregate: each answer row must be one roll-up row."""
    asked: dict[str, Granularity | None] = {}
    for token in query.group_by:
        column, _, period = token.partition(":")
        asked[column] = period or None  # type: ignore[assignment]
    if asked != grains:
        return False
    for condition in query.filters:
        filtered = filtered_column(dataset, condition)
        if filtered is None or grains.get(filtered.name, "absent") is not None:
            return False
    return True
