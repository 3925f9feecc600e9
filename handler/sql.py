"""SQL for a validated query, generated only from the catalogue and parameter markers.

No request text is ever spliced into SQL: identifiers, functions and periods come from
the catalogue (identifiers restricted to `[A-Za-z_][A-Za-z0-9_]*`) or from the
parser's own vocabulary, filter values travel as named parameters (one marker per
list item), and LIMIT/OFFSET are integers that `handler.query` produced.

Raw rows select the projected columns renamed to their public names; aggregates
select each group item under its column name (`date:month` as `date_month`,
handler.vocabulary.group_column) and each measure under its own (`total_drivers`), and
group by the same expressions. Every measure is cast to the type
it is published with, so that the answer's types do not depend on the engine's
widening rules (DuckDB sums BIGINT into HUGEINT, Databricks keeps BIGINT). An average
is spelled `CAST(sum(x) AS DOUBLE) / count(x)`, one IEEE division of an exact sum:
engines round `avg` differently (Databricks to DECIMAL(p+4, s+4), DuckDB in doubles),
and this form is what a roll-up's derivation computes too (handler.derivation).

A roll-up's statement (`build_rollup_statement`) selects its columns unordered, with
`LIMIT max_rows + 1` so that an oversized answer is seen and never used.
"""

from __future__ import annotations

import datetime as dt

from handler.catalogue import Dataset
from handler.query import Condition, FilterValue, Query
from handler.rollups import MeasurePart, measure_parts
from handler.vocabulary import Filter, Measure, Rollup, group_column
from handler.warehouse import Parameter, Statement

_COMPARISONS = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_PARAMETER_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "string": "STRING", "date": "DATE"}
_MEASURE_TYPES = {"integer": "BIGINT", "number": "DOUBLE"}
_PERIODS = {"week": "WEEK", "month": "MONTH", "quarter": "QUARTER", "year": "YEAR"}
_TABLE_ALIAS = "t"


def quote(identifier: str) -> str:
    return f"`{identifier}`"


def build_statement(dataset: Dataset, query: Query) -> Statement:
    """The query's one statement: raw rows or aggregates, filtered, ordered and paged.

    One row more than the page is fetched, so the caller knows whether a next page exists.
    """
    table = ".".join(quote(part) for part in dataset.table.split("."))
    specs = {f.name: f for f in dataset.filters}
    conditions: list[str] = []
    parameters: list[Parameter] = []
    for condition in query.filters:
        text, markers = _condition(specs[condition.filter], condition)
        conditions.append(text)
        parameters.extend(markers)
    if query.aggregated:
        groups = [_group_expression(dataset, token) for token in query.group_by]
        outputs = [
            *(
                f"{expr} AS {quote(group_column(token))}"
                for expr, token in zip(groups, query.group_by, strict=True)
            ),
            *(f"{_measure(dataset, dataset.measure(m))} AS {quote(m)}" for m in query.measures),
        ]
        # Grouped rows are ordered by their output names, which both engines accept.
        order = [_ordering(quote(group_column(key.removeprefix("-"))), key) for key in query.sort]
    else:
        outputs = [f"{_column(dataset, name)} AS {quote(name)}" for name in query.fields]
        order = [_ordering(_column(dataset, key.removeprefix("-")), key) for key in query.sort]
        groups = []
    sql = f"SELECT {', '.join(outputs)} FROM {table} AS {_TABLE_ALIAS}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    if groups:
        sql += " GROUP BY " + ", ".join(groups)
    if order:
        sql += " ORDER BY " + ", ".join(order)
    sql += f" LIMIT {int(query.limit) + 1} OFFSET {int(query.offset)}"
    return Statement(sql=sql, parameters=tuple(parameters))


def build_rollup_statement(dataset: Dataset, rollup: Rollup) -> Statement:
    """The roll-up's one statement: every column, or its groups and measure parts."""
    table = ".".join(quote(part) for part in dataset.table.split("."))
    if rollup.grain == "table":
        outputs = [f"{_column(dataset, name)} AS {quote(name)}" for name in dataset.column_names]
        groups: list[str] = []
    else:
        groups = [_group_expression(dataset, token) for token in rollup_group_tokens(rollup)]
        outputs = [
            *(
                f"{expr} AS {quote(token)}"
                for expr, token in zip(groups, rollup_group_tokens(rollup), strict=True)
            ),
            *(
                f"{_part(dataset, part)} AS {quote(part.name)}"
                for part in measure_parts(dataset, rollup.measures)
            ),
        ]
    sql = f"SELECT {', '.join(outputs)} FROM {table} AS {_TABLE_ALIAS}"
    if groups:
        sql += " GROUP BY " + ", ".join(groups)
    sql += f" LIMIT {int(rollup.max_rows) + 1}"
    return Statement(sql=sql)


def rollup_group_tokens(rollup: Rollup) -> tuple[str, ...]:
    """A grouped roll-up's group items as columns of its answer (`date:day` is `date`)."""
    return tuple(token.removesuffix(":day") for token in rollup.dimensions)


def _part(dataset: Dataset, part: MeasurePart) -> str:
    if part.function == "rows":
        return "CAST(count(*) AS BIGINT)"
    column = _column(dataset, part.column)
    if part.function == "count":
        return f"CAST(count({column}) AS BIGINT)"
    if part.function == "distinct":
        return f"CAST(count(DISTINCT {column}) AS BIGINT)"
    if part.function == "sum" and dataset.column(part.column).type == "integer":
        return f"CAST(sum({column}) AS BIGINT)"
    return f"{part.function}({column})"  # decimal sums stay exact; min/max keep their type


def _column(dataset: Dataset, name: str) -> str:
    return f"{_TABLE_ALIAS}.{quote(dataset.column(name).source)}"


def _ordering(expression: str, key: str) -> str:
    # Spelled out: Databricks puts NULLs first ascending and last descending; DuckDB
    # always last. Saying so makes both engines, and every page, agree.
    return (
        f"{expression} DESC NULLS LAST" if key.startswith("-") else f"{expression} ASC NULLS FIRST"
    )


def _group_expression(dataset: Dataset, token: str) -> str:
    name, _, period = token.partition(":")
    column = _column(dataset, name)
    if not period:
        return column
    # date_trunc answers a TIMESTAMP on Databricks: cast back to the column's type.
    kind = "DATE" if dataset.column(name).type == "date" else "TIMESTAMP"
    return f"CAST(date_trunc('{_PERIODS.get(period, 'DAY')}', {column}) AS {kind})"


def _measure(dataset: Dataset, measure: Measure) -> str:
    if measure.column is None:
        call = "count(*)"
    elif measure.function == "count_distinct":
        call = f"count(DISTINCT {_column(dataset, measure.column)})"
    elif measure.function == "avg":
        column = _column(dataset, measure.column)
        # NULLIF: no value is NULL, as avg's, where Databricks' ANSI division would fail.
        return f"CAST(sum({column}) AS DOUBLE) / NULLIF(count({column}), 0)"
    else:
        call = f"{measure.function}({_column(dataset, measure.column)})"
    if measure.function in ("min", "max"):
        return call  # the column's own type
    kind = dataset.measure_type(measure)
    return f"CAST({call} AS {_MEASURE_TYPES[kind]})"


def _condition(spec: Filter, condition: Condition) -> tuple[str, list[Parameter]]:
    column = f"{_TABLE_ALIAS}.{quote(spec.column)}"
    if spec.case_insensitive:
        # The parameter values are lower-cased by handler.parameters, so one side suffices.
        column = f"lower({column})"
    if isinstance(condition.value, tuple):
        markers = [
            _parameter(spec, f"{spec.name}__in{i}", item) for i, item in enumerate(condition.value)
        ]
        listed = ", ".join(f":{marker.name}" for marker in markers)
        return f"{column} IN ({listed})", markers
    name = spec.name if condition.op == "eq" else f"{spec.name}__{condition.op}"
    marker = _parameter(spec, name, condition.value)
    return f"{column} {_COMPARISONS[condition.op]} :{name}", [marker]


def _parameter(spec: Filter, name: str, value: FilterValue) -> Parameter:
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return Parameter(name=name, value=text, type=_PARAMETER_TYPES[spec.type])
