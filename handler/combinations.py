"""How a request's parameters combine: its filters' conditions, and the shape of its rows.

`handler.parameters` judges each value alone; this judges them together, and writes
the result in one canonical form, so that equivalent requests become equal `Query`s
(and share a cache key) while requests with different results never do:

- a filter's forms exclude each other where they would contradict or repeat: `year`
  or `year[in]` with anything else on `year`, `gt` with `gte`, `lt` with `lte`;
- a list is sorted and de-duplicated, and a one-item list is an equality;
- an integer or date `gt`/`lt` becomes the `gte`/`lte` of the next value in, equal
  bounds an equality, and bounds that no value satisfies are refused;
- `fields` applies to raw rows, so it never comes with `group_by` or `measures`;
- `group_by` and `measures` are kept in catalogue order (the columns' order in the
  answer), one period per date;
- a `limit` above the page maximum is an export (a download, not a page): it names its
  `format`, so that a dashboard's Accept header never turns into a million-row answer;
  `format=parquet` is always an export;
- `sort` names what the rows hold (sortable columns, or the groups and measures),
  and is completed into the statement's whole order: ties are broken on the row key
  (the catalogue's `order_by`) or the group, so pages never overlap or skip.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from handler.catalogue import Dataset
from handler.errors import BadRequest
from handler.vocabulary import Filter, Operator

FilterValue = int | float | str | dt.date
_ORDER: dict[Operator, int] = {"eq": 0, "gt": 1, "gte": 2, "lt": 3, "lte": 4, "in": 5}


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter in one form: `year >= 2010`, `state IN (…)`; `value` typed (a tuple for in)."""

    filter: str
    op: Operator
    value: FilterValue | tuple[FilterValue, ...]

    @property
    def parameter(self) -> str:
        return self.filter if self.op == "eq" else f"{self.filter}[{self.op}]"


@dataclass(frozen=True, slots=True)
class Shape:
    """What the rows are: raw rows' columns, or groups and measures; and their order."""

    fields: tuple[str, ...]
    group_by: tuple[str, ...]
    measures: tuple[str, ...]
    sort: tuple[str, ...]


# The codes of a refusal for how values combine, each value being valid alone.
COMBINATION_CODES = ("conflicting_parameters", "empty_range", "unsortable")


def conditions(dataset: Dataset, typed: dict[str, Any]) -> tuple[Condition, ...]:
    """Every filter's conditions, checked together and in canonical form, sorted."""
    found: list[Condition] = []
    for spec in dataset.filters:
        given = {op: value for op, name in spec.forms if (value := typed[name]) is not None}
        if given:
            found.extend(_filter_conditions(spec, given))
    return tuple(sorted(found, key=lambda c: (c.filter, _ORDER[c.op])))


def _filter_conditions(spec: Filter, given: dict[Operator, Any]) -> list[Condition]:
    ops = list(given)  # in _ORDER
    for first in ("eq", "in"):
        if first in given and len(ops) > 1:
            other = next(op for op in ops if op != first)
            _conflict(spec, first, other)
    if "gt" in given and "gte" in given:
        _conflict(spec, "gt", "gte")
    if "lt" in given and "lte" in given:
        _conflict(spec, "lt", "lte")
    if "in" in given:
        items = tuple(sorted(set(given["in"])))
        if len(items) == 1:
            return [Condition(spec.name, "eq", items[0])]
        return [Condition(spec.name, "in", items)]
    if "eq" in given:
        return [Condition(spec.name, "eq", given["eq"])]
    lower = _closed(spec, "gt", given.get("gt"), +1) or _bound("gte", given.get("gte"))
    upper = _closed(spec, "lt", given.get("lt"), -1) or _bound("lte", given.get("lte"))
    bounds = [bound for bound in (lower, upper) if bound is not None]
    if lower is not None and upper is not None:
        (low_op, low), (high_op, high) = lower, upper
        if low > high or (low == high and (low_op, high_op) != ("gte", "lte")):
            named = spec.parameter(next(op for op in ("gt", "gte") if op in given))
            against = spec.parameter(next(op for op in ("lt", "lte") if op in given))
            raise BadRequest(
                "empty_range",
                f"Parameter {named!r} is not below {against!r}: no row can match.",
                named,
            )
        if low == high:  # both inclusive
            return [Condition(spec.name, "eq", low)]
    return [Condition(spec.name, op, value) for op, value in bounds]


def _bound(op: Operator, value: Any) -> tuple[Operator, Any] | None:
    return None if value is None else (op, value)


def _closed(spec: Filter, op: Operator, value: Any, step: int) -> tuple[Operator, Any] | None:
    """An exclusive bound on a discrete type as the inclusive bound it equals."""
    if value is None:
        return None
    inclusive: Operator = "gte" if op == "gt" else "lte"
    try:
        if spec.type == "integer":
            return inclusive, value + step
        if spec.type == "date":
            return inclusive, value + dt.timedelta(days=step)
    except OverflowError:
        pass  # past 9999-12-31: keep it exclusive
    return op, value


def _conflict(spec: Filter, first: Operator, second: Operator) -> None:
    a, b = spec.parameter(first), spec.parameter(second)
    raise BadRequest("conflicting_parameters", f"Parameter {b!r} cannot be combined with {a!r}.", b)


def shape_of(dataset: Dataset, typed: dict[str, Any]) -> Shape:
    """The rows asked for: columns or groups and measures, and their complete order."""
    fields = typed.get("fields")
    grouped = typed.get("group_by") or ()
    measured = typed.get("measures") or ()
    sort = typed.get("sort") or ()
    if not (grouped or measured):
        columns = dataset.column_names if fields is None else tuple(dict.fromkeys(fields))
        order = _ordered(sort, dataset.sortable, dataset.order_by)
        return Shape(columns, (), (), order)
    if fields is not None:
        raise BadRequest(
            "conflicting_parameters",
            "Parameter 'fields' applies to raw rows; it cannot be combined with "
            "'group_by' or 'measures'.",
            "fields",
        )
    group_by = tuple(t for t in dataset.group_tokens if t in grouped)
    grouped_columns = [t.partition(":")[0] for t in group_by]
    if len(set(grouped_columns)) != len(grouped_columns):
        twice = next(c for c in grouped_columns if grouped_columns.count(c) > 1)
        raise BadRequest(
            "conflicting_parameters",
            f"Parameter 'group_by' may group {twice!r} one way only.",
            "group_by",
        )
    measures = tuple(m.name for m in dataset.measures if m.name in measured)
    # Without groups there is one row: nothing to order.
    order = _ordered(sort, (*group_by, *measures), group_by) if group_by else ()
    if not group_by:
        _ordered(sort, measures, ())  # still refuses a key the rows do not hold
    return Shape((), group_by, measures, order)


def _ordered(
    requested: tuple[str, ...], allowed: tuple[str, ...], key: tuple[str, ...]
) -> tuple[str, ...]:
    """`requested` completed by `key` (a unique order): each column once, first mention wins."""
    for item in requested:
        if item.removeprefix("-") not in allowed:
            raise BadRequest(
                "unsortable",
                f"Parameter 'sort' cannot order these rows by {item.removeprefix('-')!r}; "
                f"it may name: {', '.join(allowed) or 'nothing'}.",
                "sort",
            )
    order: list[str] = []
    seen: set[str] = set()
    for item in (*requested, *key):
        if key and set(key) <= seen:
            break  # the order is already unique: later keys change nothing
        name = item.removeprefix("-")
        if name not in seen:
            seen.add(name)
            order.append(item)
    return tuple(order)


def is_export(dataset: Dataset, typed: dict[str, Any]) -> bool:
    """Whether the request is an export (handler.datasets fetches it as Arrow)."""
    if typed.get("format") == "parquet":
        return True
    if typed["limit"] <= dataset.limit.maximum:
        return False
    if typed.get("format") is None:
        raise BadRequest(
            "conflicting_parameters",
            f"Parameter 'limit' above {dataset.limit.maximum} asks for an export, "
            "which needs an explicit 'format'.",
            "limit",
        )
    return True
