"""A query's answer computed from a roll-up's frame with polars: the statement's meaning, exactly.

Each step is what the query's statement (handler.sql) asks of the warehouse, spelled in
polars, so that a derived answer is the warehouse's byte for byte (tests/e2e prove it
against the emulator over the sample tables):

    WHERE     comparisons, IN lists, and `lower(column) = value` for case-insensitive
              filters: the warehouse's lower() is Unicode's full lower-casing with the
              final-sigma rule (Java's, and Python's str.lower, with which handler.values
              folds the value); polars' to_lowercase is the same mapping
    GROUP BY  each item; a period is date_trunc's, weeks starting on Monday
    measures  sums exact then cast (a sum of no value is NULL), counts, min and max,
              avg as CAST(sum AS DOUBLE) / count, count_distinct of non-null values;
              from a grouped roll-up, each from its parts (handler.rollups.parts_of)
    ORDER BY  ascending NULLS FIRST, descending NULLS LAST
    LIMIT     limit + 1 rows from offset: the extra one only says there is more

A float measure of a float column is summed in another order than the warehouse's and
may differ in its last place; sums of integers and decimals are exact.
"""

from __future__ import annotations

import polars as pl

from handler.catalogue import Dataset
from handler.query import Condition, Query
from handler.rollups import filter_of, filtered_column, parts_of, period_start
from handler.sql import rollup_group_tokens
from handler.vocabulary import Granularity, Measure, Rollup, group_column

_TRUNCATE: dict[Granularity, str] = {
    "day": "1d",
    "week": "1w",
    "month": "1mo",
    "quarter": "1q",
    "year": "1y",
}


def derive(
    dataset: Dataset,
    rollup: Rollup,
    frame: pl.DataFrame,
    query: Query,
    *,
    ordered_by: tuple[str, ...] = (),
) -> pl.DataFrame:
    """The query's page from the roll-up: at most `limit + 1` rows, ordered and offset.

    `ordered_by`: the order the roll-up's rows are held in (ascending, NULLS FIRST); a
    filter keeps it, so raw rows asked in it need no sort."""
    layout = _Layout(dataset, rollup)
    predicates = [layout.predicate(condition) for condition in query.filters]
    rows = frame.filter(predicates) if predicates else frame
    if not query.aggregated:
        # Ordered on the whole rows first: the sort may name columns `fields` leaves out.
        ordered = query.sort == ordered_by
        return _page(rows, query, ordered=ordered).select(query.fields)
    if query.group_by:
        groups = [layout.group(token) for token in query.group_by]
        answer = rows.group_by(groups).agg(layout.measure(name) for name in query.measures)
    else:
        answer = rows.select(layout.measure(name) for name in query.measures)
    return _page(answer, query)


def _page(rows: pl.DataFrame, query: Query, *, ordered: bool = False) -> pl.DataFrame:
    """ORDER BY the query's whole order (unless `ordered` already), then LIMIT limit + 1
    OFFSET offset."""
    if query.sort and not ordered:
        rows = rows.sort(
            [group_column(key.removeprefix("-")) for key in query.sort],
            descending=[key.startswith("-") for key in query.sort],
            nulls_last=[key.startswith("-") for key in query.sort],
        )
    return rows.slice(query.offset, query.limit + 1)


class _Layout:
    """Where the roll-up's frame keeps each column, and how each part of a query reads it."""

    def __init__(self, dataset: Dataset, rollup: Rollup) -> None:
        self._dataset = dataset
        self._whole = rollup.grain == "table"
        self._grains: dict[str, Granularity | None] = (
            {} if self._whole else dataset.rollup_grains(rollup)
        )
        self._names = dict(zip(self._grains, rollup_group_tokens(rollup), strict=True))

    def _kept(self, column: str) -> tuple[pl.Expr, Granularity | None]:
        if self._whole:
            return pl.col(column), None
        return pl.col(self._names[column]), self._grains[column]

    def predicate(self, condition: Condition) -> pl.Expr:
        spec = filter_of(self._dataset, condition)
        column = filtered_column(self._dataset, condition)
        assert column is not None, "handler.rollups matched this filter"
        kept, grain = self._kept(column.name)
        value = condition.value
        if grain is not None:
            # An aligned bound (handler.rollups): the last day of a period is its start here.
            assert not isinstance(value, tuple) and condition.op in ("gte", "lte")
            value = period_start(value, grain) if condition.op == "lte" else value  # type: ignore[arg-type]
        if spec.case_insensitive:
            kept = kept.str.to_lowercase()
        if spec.type == "number":
            kept = kept.cast(pl.Float64)  # DOUBLE against a DECIMAL or an integer: in doubles
        if isinstance(value, tuple):
            return kept.is_in(list(value))
        literal = pl.lit(value)
        return {
            "eq": kept == literal,
            "gt": kept > literal,
            "gte": kept >= literal,
            "lt": kept < literal,
            "lte": kept <= literal,
        }[condition.op]

    def group(self, token: str) -> pl.Expr:
        column, _, period = token.partition(":")
        kept, grain = self._kept(column)
        if period and period != grain:
            kept = kept.dt.truncate(_TRUNCATE[period])  # type: ignore[index]
        return kept.alias(group_column(token))

    def measure(self, name: str) -> pl.Expr:
        measure = self._dataset.measure(name)
        value = self._whole_table(measure) if self._whole else self._from_parts(measure)
        kind = self._dataset.measure_type(measure)
        if kind == "integer":
            value = value.cast(pl.Int64)
        elif kind == "number":
            value = value.cast(pl.Float64)
        return value.alias(name)

    def _whole_table(self, measure: Measure) -> pl.Expr:
        if measure.column is None:
            return pl.len()
        column = pl.col(measure.column)
        if self._dataset.column(measure.column).type == "integer":
            column = column.cast(pl.Int64)  # sums of INT are BIGINT
        count = column.count()
        if measure.function == "count":
            return count
        if measure.function == "count_distinct":
            return column.drop_nulls().n_unique()
        if measure.function in ("min", "max"):
            return column.min() if measure.function == "min" else column.max()
        return _summed(column.sum(), count, average=measure.function == "avg")

    def _from_parts(self, measure: Measure) -> pl.Expr:
        parts = [pl.col(part.name) for part in parts_of(measure)]
        if measure.function == "count":
            return parts[0].sum()
        if measure.function == "count_distinct":
            return parts[0].sum()  # one roll-up row per answer row (handler.rollups)
        if measure.function in ("min", "max"):
            return parts[0].min() if measure.function == "min" else parts[0].max()
        total, count = parts
        return _summed(total.sum(), count.sum(), average=measure.function == "avg")


def _summed(total: pl.Expr, count: pl.Expr, *, average: bool) -> pl.Expr:
    """A sum (or an average) that is NULL over no value, as SQL's."""
    value = total.cast(pl.Float64) / count if average else total
    return pl.when(count > 0).then(value)
