"""SQL for a validated query, generated only from the catalogue and parameter markers.

No request text is ever spliced into SQL: identifiers come from the catalogue (already
restricted to `[A-Za-z_][A-Za-z0-9_]*`), filter values travel as named parameters,
and LIMIT/OFFSET are integers that `handler.query` produced.
"""

from __future__ import annotations

import datetime as dt

from handler.catalogue import Dataset, Filter
from handler.query import FilterValue, Query
from handler.warehouse import Parameter, Statement

_OPERATORS = {"eq": "=", "gte": ">=", "lte": "<="}
_PARAMETER_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "string": "STRING", "date": "DATE"}
_TABLE_ALIAS = "t"


def quote(identifier: str) -> str:
    return f"`{identifier}`"


def build_statement(dataset: Dataset, query: Query) -> Statement:
    """SELECT the projected columns (renamed to their public names), filtered and paged.

    One row more than the page is fetched, so the caller knows whether a next page exists.
    """
    table = ".".join(quote(part) for part in dataset.table.split("."))
    select = ", ".join(
        f"{_TABLE_ALIAS}.{quote(dataset.column(name).source)} AS {quote(name)}"
        for name in query.fields
    )
    specs = {f.name: f for f in dataset.filters}
    conditions = [_condition(specs[name]) for name, _ in query.filters]
    parameters = tuple(_parameter(specs[name], value) for name, value in query.filters)
    sql = f"SELECT {select} FROM {table} AS {_TABLE_ALIAS}"
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    if dataset.order_by:
        order = ", ".join(
            f"{_TABLE_ALIAS}.{quote(dataset.column(name).source)}" for name in dataset.order_by
        )
        sql += f" ORDER BY {order}"
    sql += f" LIMIT {int(query.limit) + 1} OFFSET {int(query.offset)}"
    return Statement(sql=sql, parameters=parameters)


def _condition(spec: Filter) -> str:
    column = f"{_TABLE_ALIAS}.{quote(spec.column)}"
    if spec.case_insensitive:
        # The parameter value is lower-cased by handler.query, so one side suffices.
        column = f"lower({column})"
    return f"{column} {_OPERATORS[spec.op]} :{spec.name}"


def _parameter(spec: Filter, value: FilterValue) -> Parameter:
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return Parameter(name=spec.name, value=text, type=_PARAMETER_TYPES[spec.type])
