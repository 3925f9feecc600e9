"""A dataset's query parameters, declared once, from the catalogue.

`parameters_of(dataset)` builds, once per dataset, one pydantic model per
dataset with a field per query parameter: each form of each filter (`year`,
`year[gte]`, `state[in]`, …), then `fields`, `group_by`, `measures`, `sort`, `limit`,
`offset`, `format`. Lists are comma-separated and published as OpenAPI arrays. That model is the
only declaration: `handler.query` parses requests with it, and `handler.openapi`
publishes its JSON Schema as the operation's parameters, so what the document promises
is exactly what the parser enforces (tests/handler/test_openapi.py checks both agree
on every parameter of every dataset).

How each value is read (its type, spelling, bounds and hint) is `handler.values`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from handler.catalogue import Dataset
from handler.values import filter_value, page_value
from handler.vocabulary import OPERATORS, Filter, Measure, Operator

MAX_OFFSET = 1_000_000
FORMATS = ("json", "csv")


@dataclass(frozen=True, slots=True)
class Parameters:
    """One dataset's parameters: the model, and a sentence per parameter for its 400."""

    model: type[BaseModel]
    hints: dict[str, str]  # parameter → "must be …", the message when its value is refused
    # parameter → a value of its published schema (a list as an array): together, one
    # request that answers 200, which Swagger UI fills in (handler.openapi)
    examples: dict[str, Any]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.hints)

    def field_of(self, name: str) -> str:
        return _field(name)

    def json_schema(self) -> dict[str, Any]:
        """Each parameter's schema, as OpenAPI publishes it (no titles, no null defaults)."""
        properties = self.model.model_json_schema(by_alias=True)["properties"]
        published = {}
        for name in self.names:
            schema = {k: v for k, v in properties[name].items() if k not in ("title",)}
            if schema.get("default", 0) is None:
                del schema["default"]
            # An absent parameter is how a query says "none"; a value is never null.
            branches = [b for b in schema.pop("anyOf", []) if b != {"type": "null"}]
            if len(branches) == 1:
                schema.update(branches[0])
            published[name] = _enumerated(schema)
        return published


# One query parameter: its name, its pydantic field (type, Field) and its 400 hint.
_Declared = tuple[str, tuple[Any, Any], str]


# Each dataset's parameters, built on first use (every request is parsed against them).
# Found by the dataset's identity: hashing a declaration would walk all of it, each time.
# The dataset is kept with them, so its id is no other dataset's while it is here; a
# process holds its catalogue's few datasets, tests a few hundred at most.
_BUILT: dict[int, tuple[Dataset, Parameters]] = {}
_BUILT_MAX = 512
_BUILDING = threading.Lock()


def parameters_of(dataset: Dataset) -> Parameters:
    """The parameter model of `dataset`, built once."""
    built = _BUILT.get(id(dataset))
    if built is not None and built[0] is dataset:
        return built[1]
    parameters = _build(dataset)
    with _BUILDING:
        if len(_BUILT) >= _BUILT_MAX:
            del _BUILT[next(iter(_BUILT))]  # the oldest: tests' datasets come and go
        _BUILT[id(dataset)] = (dataset, parameters)
    return parameters


def _build(dataset: Dataset) -> Parameters:
    declared = [
        *(d for spec in dataset.filters for d in _filter_parameters(spec)),
        *_shape_parameters(dataset),
        *_page_parameters(dataset),
    ]
    fields: dict[str, Any] = {_field(name): field for name, field, _ in declared}
    model = create_model(
        f"{dataset.name.title().replace('_', '')}Query",
        __config__=ConfigDict(
            extra="forbid", frozen=True, regex_engine="python-re", validate_by_alias=True
        ),
        **fields,
    )
    hints = {name: hint for name, _, hint in declared}
    return Parameters(model, hints, _examples(dataset, model))


def _filter_parameters(spec: Filter) -> list[_Declared]:
    """A parameter per form the filter allows: `year`, `year[gte]`, `state[in]`, …"""
    scalar, hint = filter_value(spec)
    declared: list[_Declared] = []
    for op in OPERATORS:
        if op not in spec.operators:
            continue
        name = spec.parameter(op)
        if op == "in":
            assert spec.max_items is not None  # the catalogue pairs them
            text = f"{_describe(spec)} Any of up to {spec.max_items} comma-separated values."
            field = _listed(scalar, name, text, most=spec.max_items, unordered=True)
            listed = f"must be a comma-separated list of up to {spec.max_items} values; each {hint}"
            declared.append((name, field, listed))
        else:
            field = (scalar, Field(default=None, alias=name, description=_describe(spec, op)))
            declared.append((name, field, hint))
    return declared


def _shape_parameters(dataset: Dataset) -> list[_Declared]:
    """What comes back: `fields` (raw rows), `group_by` and `measures`, `sort`."""
    columns = dataset.column_names
    declared: list[_Declared] = [
        (
            "fields",
            _listed(
                Literal[columns],
                "fields",
                f"Columns to return, comma-separated: {', '.join(columns)}. Raw rows only.",
            ),
            f"must be a comma-separated list of: {', '.join(columns)}",
        )
    ]
    if dataset.dimensions:
        tokens = dataset.group_tokens
        text = (
            "Group rows by these, comma-separated (one row per group): "
            f"{', '.join(tokens)}. `date:month` groups a date by its month (its first day), "
            "answered as the column `date_month`."
        )
        declared.append(
            (
                "group_by",
                _listed(Literal[tokens], "group_by", text, unordered=True),
                f"must be a comma-separated list of: {', '.join(tokens)}",
            )
        )
    if dataset.measures:
        names = tuple(m.name for m in dataset.measures)
        text = (
            "Aggregates to compute per group (over all rows without group_by): "
            + "; ".join(f"{m.name}, {_measure_text(m)}" for m in dataset.measures)
            + "."
        )
        declared.append(
            (
                "measures",
                _listed(Literal[names], "measures", text, unordered=True),
                f"must be a comma-separated list of: {', '.join(names)}",
            )
        )
    if dataset.sort_keys:
        keys = tuple(k for key in dataset.sort_keys for k in (key, f"-{key}"))
        text = (
            "Order, comma-separated; a leading minus sorts descending. Raw rows sort by "
            f"{', '.join(dataset.sortable) or 'nothing'}; grouped rows by their group items "
            "and measures. Ties are broken on the row (or group) key."
        )
        declared.append(
            (
                "sort",
                _listed(Literal[keys], "sort", text),
                f"must be a comma-separated list of: {', '.join(dataset.sort_keys)}, "
                "each optionally preceded by -",
            )
        )
    return declared


def _page_parameters(dataset: Dataset) -> list[_Declared]:
    """Which rows, and how they are written: `limit`, `offset`, `format`."""
    maximum = dataset.limit.maximum
    limit_text = "Rows per page."
    formats: tuple[str, ...] = FORMATS
    if dataset.export is not None:
        # One bound is published: the export's. Above a page's, handler.combinations
        # asks for an explicit format (an export is a download, never a dashboard page).
        limit_text = (
            f"Rows per page, at most {maximum}; up to {dataset.export.maximum_rows} "
            "in one answer as an export, which needs `format`."
        )
        maximum = dataset.export.maximum_rows
        formats = (*FORMATS, "parquet")
    format_text = "Output format; without it, `Accept: text/csv` selects CSV."
    if dataset.export is not None:
        format_text += (
            " Parquet is an export, paged as any answer: without `limit` it is the first "
            f"{dataset.limit.default} rows with a `Link` to the next page; `limit` up to "
            f"{dataset.export.maximum_rows} answers them in one file."
        )
    return [
        (
            "limit",
            page_value("limit", 1, maximum, dataset.limit.default, limit_text),
            f"must be an integer from 1 to {maximum}",
        ),
        (
            "offset",
            page_value("offset", 0, MAX_OFFSET, 0, "Rows to skip."),
            f"must be an integer from 0 to {MAX_OFFSET}",
        ),
        (
            "format",
            (Literal[formats] | None, Field(default=None, alias="format", description=format_text)),
            f"must be {', '.join(formats[:-1])} or {formats[-1]}",
        ),
    ]


def _enumerated(schema: dict[str, Any]) -> dict[str, Any]:
    """A single allowed value as a one-item `enum`, not pydantic's `const`: Swagger UI offers
    an enum to pick from, and a `const` as nothing (a dataset with one measure)."""
    if "const" in schema:
        schema = {**{k: v for k, v in schema.items() if k != "const"}, "enum": [schema["const"]]}
    if isinstance(schema.get("items"), dict):
        schema = {**schema, "items": _enumerated(schema["items"])}
    return schema


def _examples(dataset: Dataset, model: type[BaseModel]) -> dict[str, Any]:
    """One request a first reader would try, as parameter → JSON value: each filter in one
    form (a range between its examples, a list of them, or one), groups on distinct columns
    with a measure and an order, no `fields` (it does not combine with groups), the page
    at its defaults. A catalogue example the filter refuses is left out."""
    examples: dict[str, Any] = {}
    for spec in dataset.filters:
        values = [_json_value(spec, text) for text in spec.examples]
        if {"gte", "lte"} <= set(spec.operators) and len(values) >= 2:
            examples[spec.parameter("gte")] = min(values)
            examples[spec.parameter("lte")] = max(values)
        elif "in" in spec.operators and len(values) >= 2:
            examples[spec.parameter("in")] = values[: spec.max_items]
        elif values:
            examples[spec.parameter("eq" if "eq" in spec.operators else spec.operators[0])] = (
                values[0]
            )
    # One item per column: a date grouped two ways is a 400.
    groups = [d.tokens()[1] if d.granularities else d.column for d in dataset.dimensions[:2]]
    measures = [m.name for m in dataset.measures[:1]]
    if groups:
        examples["group_by"] = groups
    if measures:
        examples["measures"] = measures
    if groups or measures:
        examples["sort"] = [f"-{name}" for name in measures] + groups[:1]
    elif dataset.sortable:
        examples["sort"] = [f"-{dataset.sortable[0]}"]
    return {name: value for name, value in examples.items() if _accepted(model, name, value)}


def _json_value(spec: Filter, text: str) -> Any:
    """An example as the catalogue writes it (text), as a JSON value of the filter's type."""
    try:
        if spec.type == "integer":
            return int(text)
        if spec.type == "number":
            return float(text)
    except ValueError:
        pass  # refused below, by the model
    return text


def _accepted(model: type[BaseModel], name: str, value: Any) -> bool:
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    try:
        model.model_validate({name: text})
    except ValueError:
        return False
    return True


_OPERATOR_TEXT = {
    "gt": "greater than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
}


def _describe(spec: Filter, op: Operator = "eq") -> str:
    description = spec.description or f"Filter on {spec.name}."
    if op in _OPERATOR_TEXT:
        return f"{description} Only rows whose {spec.name} is {_OPERATOR_TEXT[op]} this."
    return description


def _measure_text(measure: Measure) -> str:
    over = "rows" if measure.column is None else measure.column
    return f"{measure.function.replace('_', ' ')} of {over}"


def _listed(
    item: Any,
    alias: str,
    description: str,
    *,
    most: int | None = None,
    unordered: bool = False,
) -> tuple[Any, Any]:
    """A comma-separated list parameter, published as an OpenAPI array (form, not exploded).

    `unordered`: its order means nothing, so the edge may sort it to share a cache entry."""
    annotated = Annotated[
        tuple[item, ...],
        Field(
            min_length=1,
            max_length=most,
            json_schema_extra={"x-unordered": True} if unordered else None,
        ),
        BeforeValidator(_split),
    ]
    return annotated, Field(default=None, alias=alias, description=description)


def _split(raw: object) -> object:
    return tuple(raw.split(",")) if isinstance(raw, str) else raw


def _field(name: str) -> str:
    # Suffixed: a filter may be called `json` or `copy`, which BaseModel already uses.
    return f"{name}_"
