"""What a client may ask of a dataset's columns, as the catalogue declares it.

Filters (and the operators each allows), dimensions (and the periods a date may be
grouped by) and measures (named aggregates). handler.parameters turns them into query
parameters, handler.sql into SQL, handler.openapi into the published document. Roll-ups
(cached intermediate results that answer queries without a statement) are declared
from the same words: handler.rollups says which queries each one answers.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

FilterType = Literal["integer", "number", "string", "date"]
# How a filter may compare: `name=v` (eq), `name[gte]=v` … and `name[in]=a,b,c`.
Operator = Literal["eq", "gt", "gte", "lt", "lte", "in"]
OPERATORS: tuple[Operator, ...] = get_args(Operator)
MeasureFunction = Literal["sum", "count", "min", "max", "avg", "count_distinct"]
Granularity = Literal["day", "week", "month", "quarter", "year"]
GRANULARITIES: tuple[Granularity, ...] = get_args(Granularity)

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class Declaration(BaseModel):
    """A part of the catalogue: unknown keys are mistakes, and nothing changes once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Filter(Declaration):
    """A query-string filter on a warehouse column, in the forms its `operators` allow.

    `?name=v` is `column = v`; `?name[gte]=v` (also gt, lt, lte) a bound; `?name[in]=a,b`
    a list of at most `max_items` values (a value holding a comma cannot be listed)."""

    name: Identifier
    column: Identifier
    type: FilterType
    operators: tuple[Operator, ...] = ("eq",)
    max_items: int | None = Field(default=None, ge=2, le=100)
    pattern: str | None = None
    # int first: an integer filter's bounds stay exact (a float loses them past 2**53).
    minimum: int | float | None = None
    maximum: int | float | None = None
    max_length: int | None = Field(default=None, ge=1, le=1024)
    case_insensitive: bool = False
    description: str = ""
    examples: tuple[str, ...] = ()  # values the OpenAPI document shows, as a client types them

    @model_validator(mode="after")
    def _coherent(self) -> Filter:
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"filter {self.name!r}: pattern does not compile: {exc}") from exc
        if self.case_insensitive and self.type != "string":
            raise ValueError(f"filter {self.name!r}: case_insensitive applies to strings only")
        if self.pattern is not None and self.type != "string":
            # A pattern on a number would be checked on its text but published (OpenAPI,
            # JSON Schema) on its value, where it means nothing: bound numbers instead.
            raise ValueError(
                f"filter {self.name!r}: pattern applies to strings only; use minimum/maximum"
            )
        if (self.minimum is not None or self.maximum is not None) and self.type not in (
            "integer",
            "number",
        ):
            raise ValueError(f"filter {self.name!r}: minimum/maximum apply to numbers only")
        if self.type == "string" and self.max_length is None:
            raise ValueError(f"filter {self.name!r}: string filters need max_length")
        if "__" in self.name:
            raise ValueError(f"filter {self.name!r}: '__' is kept for parameter markers")
        unique(list(self.operators), f"filter {self.name!r}: operator")
        if not self.operators:
            raise ValueError(f"filter {self.name!r}: needs at least one operator")
        if ("in" in self.operators) != (self.max_items is not None):
            raise ValueError(f"filter {self.name!r}: operator 'in' and max_items go together")
        ranged = set(self.operators) & {"gt", "gte", "lt", "lte"}
        if ranged and self.type == "string":
            raise ValueError(f"filter {self.name!r}: ranges apply to numbers and dates only")
        return self

    def parameter(self, op: Operator) -> str:
        """The query parameter of one of its forms: `year`, `year[gte]`, `state[in]`."""
        return self.name if op == "eq" else f"{self.name}[{op}]"


def group_column(token: str) -> str:
    """The column an answer holds a `group_by` item under: `state` → `state`,
    `date:month` → `date_month`.

    Stable, and an identifier in JavaScript, SQL and most clients (a colon is none of
    these): the one place the name is made. The catalogue refuses a column or measure
    of the same name, so a group's column is never another's."""
    column, _, period = token.partition(":")
    return f"{column}_{period}" if period else column


class Dimension(Declaration):
    """A public column results may be grouped by; a date may also be grouped by period.

    `group_by=date:month` groups by the month the date falls in (a date, its first day),
    answered as the column `date_month` (`group_column`)."""

    column: Identifier
    granularities: tuple[Granularity, ...] = ()

    def tokens(self) -> tuple[str, ...]:
        """How `group_by` names it: `state`, or `date`, `date:month`, …"""
        return (self.column, *(f"{self.column}:{g}" for g in self.granularities))


class Measure(Declaration):
    """A named aggregate over a public column: `total_drivers` = sum of drivers."""

    name: Identifier
    function: MeasureFunction
    column: Identifier | None = None  # None: count rows (function count only)
    description: str = ""

    @model_validator(mode="after")
    def _coherent(self) -> Measure:
        if self.column is None and self.function != "count":
            raise ValueError(f"measure {self.name!r}: {self.function} needs a column")
        return self


class Rollup(Declaration):
    """A cached intermediate result that answers a dataset's queries without a statement.

    `grain: table` is every column of every row: it answers raw rows and every measure.
    `grain: grouped` keeps `dimensions` (group items; a date at its finest grain is
    `date` or `date:day`) and what re-aggregates each of `measures` (sum, count, min,
    max; avg as its sum and count; count_distinct only for exactly its dimensions).
    It is fetched with `LIMIT max_rows + 1`: a larger answer is never used."""

    name: Identifier
    grain: Literal["table", "grouped"] = "grouped"
    dimensions: tuple[str, ...] = ()
    measures: tuple[Identifier, ...] = ()
    max_rows: int = Field(ge=1, le=5_000_000)

    @model_validator(mode="after")
    def _coherent(self) -> Rollup:
        if self.grain == "table" and (self.dimensions or self.measures):
            raise ValueError(
                f"rollup {self.name!r}: grain 'table' holds every column; "
                "it takes no dimensions or measures"
            )
        if self.grain == "grouped" and not (self.dimensions or self.measures):
            raise ValueError(
                f"rollup {self.name!r}: a grouped roll-up keeps dimensions or measures"
            )
        unique(list(self.dimensions), f"rollup {self.name!r}: dimension")
        unique(list(self.measures), f"rollup {self.name!r}: measure")
        return self


def unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{what} {n!r} is declared twice")
        seen.add(n)
