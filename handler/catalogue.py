"""The dataset catalogue: datasets declared in YAML, validated once at start-up.

A dataset entry names its route, its warehouse table, its public columns (which may
be renamed from the warehouse's), what a client may ask of them (handler.vocabulary:
filters, dimensions, measures), its default order, its limits and its freshness.
Everything else — request validation, the OpenAPI document, the SQL — is derived
from it, so adding a dataset never means writing code.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal, cast

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

import cache
from handler.errors import CatalogueError
from handler.vocabulary import (
    Declaration,
    Dimension,
    Filter,
    Granularity,
    Identifier,
    Measure,
    Rollup,
    group_column,
    unique,
)

DEFAULT_CATALOGUE = Path(__file__).with_name("catalogue.yaml")

# Query parameters a dataset may accept besides its own filters (group_by and measures
# when it declares dimensions and measures, sort when anything is sortable).
COMMON_PARAMETERS = ("fields", "group_by", "measures", "sort", "limit", "offset", "format")

_TABLE = r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"

ColumnType = Literal["integer", "number", "decimal", "string", "boolean", "date", "timestamp"]


class Column(Declaration):
    """A public column and the warehouse column it comes from."""

    name: Identifier
    source: Identifier
    type: ColumnType
    description: str = ""


class Limits(Declaration):
    default: int = Field(ge=1)
    maximum: int = Field(ge=1, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> Limits:
        if self.default > self.maximum:
            raise ValueError("limit.default exceeds limit.maximum")
        return self


class Export(Declaration):
    """Up to `maximum_rows` rows in one response, for `format=csv|json|parquet` downloads.

    Pages stay bounded by `limit.maximum`; a larger `limit` (or parquet) is an export,
    fetched as Arrow from the warehouse's external links (handler.datasets)."""

    maximum_rows: int = Field(ge=1, le=10_000_000)


class Freshness(Declaration):
    """How long a result is fresh, and how long past that it may still be served stale."""

    ttl_seconds: int = Field(ge=1, le=86_400)
    stale_seconds: int = Field(default=0, ge=0, le=7 * 86_400)

    @cached_property
    def policy(self) -> cache.Freshness:
        """The same, as the cache takes it."""
        return cache.Freshness(self.ttl_seconds, self.stale_seconds)


class Dataset(Declaration):
    name: Identifier
    title: str
    description: str = ""
    table: str = Field(pattern=_TABLE)
    columns: tuple[Column, ...] = Field(min_length=1)
    filters: tuple[Filter, ...] = ()
    # The row key, in the default order: a later sort key breaks ties on it, so pages
    # are deterministic.
    order_by: tuple[Identifier, ...] = ()
    # Columns and measures `sort` may name (measures are always sortable).
    sortable: tuple[Identifier, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    measures: tuple[Measure, ...] = ()
    limit: Limits
    # None: pages only. It shapes results (how many rows one answer may hold), so it
    # stays in the digest.
    export: Export | None = None
    freshness: Freshness
    # "key": every request needs a consumer's API key (x-api-key) allowed for this
    # dataset; "public": anyone may read it (a key, if sent, must still be valid).
    access: Literal["public", "key"] = "public"
    # Cached intermediate results that answer queries without a statement (handler.rollups):
    # the first that can answer a query does.
    rollups: tuple[Rollup, ...] = ()

    @field_validator("dimensions", mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # `dimensions: [state, {column: date, granularities: [month]}]`: a name alone is
        # a dimension without periods.
        if isinstance(value, list | tuple):
            return [{"column": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _references(self) -> Dataset:
        names = [c.name for c in self.columns]
        unique(names, f"dataset {self.name!r}: column")
        unique([f.name for f in self.filters], f"dataset {self.name!r}: filter")
        sources = {c.source for c in self.columns}
        for f in self.filters:
            if f.name in COMMON_PARAMETERS:
                raise ValueError(f"dataset {self.name!r}: filter name {f.name!r} is reserved")
            if f.column not in sources:
                raise ValueError(f"dataset {self.name!r}: filter {f.name!r} uses unknown column")
        for o in (*self.order_by, *self.sortable):
            if o not in names:
                raise ValueError(f"dataset {self.name!r}: order {o!r} is not a public column")
        unique([d.column for d in self.dimensions], f"dataset {self.name!r}: dimension")
        for d in self.dimensions:
            if d.column not in names:
                raise ValueError(f"dataset {self.name!r}: dimension {d.column!r} is not a column")
            if d.granularities and self.column(d.column).type not in ("date", "timestamp"):
                raise ValueError(f"dataset {self.name!r}: {d.column!r} has no periods to group")
            if "day" in d.granularities and self.column(d.column).type == "date":
                raise ValueError(f"dataset {self.name!r}: {d.column!r} is already a day")
        # A period's column (`date_month`) must be no column's or measure's name either.
        periods = [group_column(t) for d in self.dimensions for t in d.tokens()[1:]]
        unique(
            [*names, *(m.name for m in self.measures), *periods],
            f"dataset {self.name!r}: column, measure or grouped period",
        )
        for m in self.measures:
            if m.column is not None and m.column not in names:
                raise ValueError(f"dataset {self.name!r}: measure {m.name!r} uses unknown column")
            numeric = ("integer", "number", "decimal")
            if m.function in ("sum", "avg") and self.column(m.column or "").type not in numeric:
                raise ValueError(f"dataset {self.name!r}: measure {m.name!r} needs numbers")
        if self.export is not None and self.export.maximum_rows < self.limit.maximum:
            raise ValueError(f"dataset {self.name!r}: export.maximum_rows is below limit.maximum")
        unique([r.name for r in self.rollups], f"dataset {self.name!r}: rollup")
        for rollup in self.rollups:
            self._check_rollup(rollup)
        return self

    def _check_rollup(self, rollup: Rollup) -> None:
        where = f"dataset {self.name!r}: rollup {rollup.name!r}"
        declared = {d.column: d for d in self.dimensions}
        columns: list[str] = []
        for token in rollup.dimensions:
            column, _, period = token.partition(":")
            dimension = declared.get(column)
            if dimension is None:
                raise ValueError(f"{where}: dimension {column!r} is not a dimension of the dataset")
            finest = period == "day" and self.column(column).type == "date"
            if period and not finest and period not in dimension.granularities:
                raise ValueError(f"{where}: {column!r} cannot be grouped by {period!r}")
            columns.append(column)
        unique(columns, f"{where}: dimension on column")
        measures = {m.name for m in self.measures}
        for name in rollup.measures:
            if name not in measures:
                raise ValueError(f"{where}: measure {name!r} is not a measure of the dataset")

    def rollup_grains(self, rollup: Rollup) -> dict[str, Granularity | None]:
        """Each column a grouped roll-up keeps, at its grain (None: the column itself)."""
        grains: dict[str, Granularity | None] = {}
        for token in rollup.dimensions:
            column, _, period = token.partition(":")
            finest = not period or (period == "day" and self.column(column).type == "date")
            grains[column] = None if finest else cast(Granularity, period)
        return grains

    @property
    def route(self) -> str:
        return f"/v1/{self.name}"

    @cached_property
    def digest(self) -> str:
        """What shapes the dataset's results, digested: editing it changes every cache key.

        Prose and access do not change results: editing a title, a description or who may
        read the dataset keeps the cache."""
        # Without an export, the declaration digests as it did before exports existed:
        # adding the feature retires no cached page. Roll-ups never change an answer
        # (a derived answer is the warehouse's, byte for byte), so they are left out.
        unset = {"rollups"} if self.export is not None else {"export", "rollups"}
        return cache.digest(_without_prose(self.model_dump(mode="json", exclude=unset)))

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def measure(self, name: str) -> Measure:
        return next(m for m in self.measures if m.name == name)

    def measure_type(self, measure: Measure) -> ColumnType:
        """What a measure's values are: counts and integer sums are integers, averages and
        other sums numbers (a sum of decimals too: dashboards chart it), min and max their
        column's type. handler.sql casts to it, so every engine answers the same type."""
        if measure.function in ("count", "count_distinct"):
            return "integer"
        kind = self.column(measure.column or "").type
        if measure.function in ("min", "max"):
            return kind
        return "integer" if measure.function == "sum" and kind == "integer" else "number"

    @cached_property
    def group_tokens(self) -> tuple[str, ...]:
        """Every `group_by` item, in the canonical (catalogue) order."""
        return tuple(t for d in self.dimensions for t in d.tokens())

    @cached_property
    def sort_keys(self) -> tuple[str, ...]:
        """What `sort` may name: sortable columns (raw rows), group items and measures."""
        keys = (*self.sortable, *self.group_tokens, *(m.name for m in self.measures))
        return tuple(dict.fromkeys(keys))


class Catalogue(Declaration):
    version: int = Field(ge=1)
    datasets: tuple[Dataset, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Catalogue:
        unique([d.name for d in self.datasets], "dataset")
        return self

    def get(self, name: str) -> Dataset | None:
        return next((d for d in self.datasets if d.name == name), None)


_PROSE = {"title", "description", "examples", "access"}  # none of them shapes a row


def _without_prose(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_prose(v) for k, v in value.items() if k not in _PROSE}
    if isinstance(value, list):
        return [_without_prose(v) for v in value]
    return value


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue file; raise CatalogueError with every problem in it."""
    source = path or DEFAULT_CATALOGUE
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"cannot read catalogue {source}: {exc}") from exc
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise CatalogueError(f"invalid catalogue {source}: {problems}") from exc
