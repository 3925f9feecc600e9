"""The dataset catalogue: datasets declared in YAML, validated once at start-up.

A dataset entry names its route, its warehouse table, its public columns (which may
be renamed from the warehouse's), its filters, its default order and its limits.
Everything else — request validation, the OpenAPI document, the SQL — is derived
from it, so adding a dataset never means writing code.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

import cache
from handler.errors import CatalogueError

if TYPE_CHECKING:
    from handler.parameters import Parameters

DEFAULT_CATALOGUE = Path(__file__).with_name("catalogue.yaml")

# Query parameters every dataset accepts besides its own filters.
COMMON_PARAMETERS = ("fields", "limit", "offset", "format")

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_TABLE = r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"

ColumnType = Literal["integer", "number", "decimal", "string", "boolean", "date", "timestamp"]
FilterType = Literal["integer", "number", "string", "date"]
Operator = Literal["eq", "gte", "lte"]

Identifier = Annotated[str, Field(pattern=_IDENTIFIER, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Strict):
    """A public column and the warehouse column it comes from."""

    name: Identifier
    source: Identifier
    type: ColumnType
    description: str = ""


class Filter(_Strict):
    """A query-string filter: `?name=value` becomes `column <op> :name`."""

    name: Identifier
    column: Identifier
    type: FilterType
    op: Operator = "eq"
    pattern: str | None = None
    # int first: an integer filter's bounds stay exact (a float loses them past 2**53).
    minimum: int | float | None = None
    maximum: int | float | None = None
    max_length: int | None = Field(default=None, ge=1, le=1024)
    case_insensitive: bool = False
    description: str = ""

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
        return self


class Limits(_Strict):
    default: int = Field(ge=1)
    maximum: int = Field(ge=1, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> Limits:
        if self.default > self.maximum:
            raise ValueError("limit.default exceeds limit.maximum")
        return self


class Freshness(_Strict):
    """How long a result is fresh, and how long past that it may still be served stale."""

    ttl_seconds: int = Field(ge=1, le=86_400)
    stale_seconds: int = Field(default=0, ge=0, le=7 * 86_400)

    @cached_property
    def policy(self) -> cache.Freshness:
        """The same, as the cache takes it."""
        return cache.Freshness(self.ttl_seconds, self.stale_seconds)


class Dataset(_Strict):
    name: Identifier
    title: str
    description: str = ""
    table: str = Field(pattern=_TABLE)
    columns: tuple[Column, ...] = Field(min_length=1)
    filters: tuple[Filter, ...] = ()
    order_by: tuple[Identifier, ...] = ()
    limit: Limits
    freshness: Freshness
    # "key": every request needs a consumer's API key (x-api-key) allowed for this
    # dataset; "public": anyone may read it (a key, if sent, must still be valid).
    access: Literal["public", "key"] = "public"

    @model_validator(mode="after")
    def _references(self) -> Dataset:
        names = [c.name for c in self.columns]
        _unique(names, f"dataset {self.name!r}: column")
        _unique([f.name for f in self.filters], f"dataset {self.name!r}: filter")
        sources = {c.source for c in self.columns}
        for f in self.filters:
            if f.name in COMMON_PARAMETERS:
                raise ValueError(f"dataset {self.name!r}: filter name {f.name!r} is reserved")
            if f.column not in sources:
                raise ValueError(f"dataset {self.name!r}: filter {f.name!r} uses unknown column")
        for o in self.order_by:
            if o not in names:
                raise ValueError(f"dataset {self.name!r}: order_by {o!r} is not a public column")
        return self

    @property
    def route(self) -> str:
        return f"/v1/{self.name}"

    @cached_property
    def digest(self) -> str:
        """What shapes the dataset's results, digested: editing it changes every cache key.

        Prose and access do not change results: editing a title, a description or who may
        read the dataset keeps the cache."""
        return cache.digest(_without_prose(self.model_dump(mode="json")))

    @cached_property
    def parameters(self) -> Parameters:
        """Its query parameters' one declaration (handler.parameters), built on first use."""
        from handler.parameters import parameters_of  # which imports this module

        return parameters_of(self)

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def query_parameter_names(self) -> tuple[str, ...]:
        """Every query parameter this dataset's route accepts (the edge cache key allow list)."""
        return tuple(f.name for f in self.filters) + COMMON_PARAMETERS


class Catalogue(_Strict):
    version: int = Field(ge=1)
    datasets: tuple[Dataset, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Catalogue:
        _unique([d.name for d in self.datasets], "dataset")
        return self

    def get(self, name: str) -> Dataset | None:
        return next((d for d in self.datasets if d.name == name), None)

    def query_parameter_names(self) -> tuple[str, ...]:
        """Every dataset's query parameters, sorted: the edge cache key allow list."""
        return tuple(sorted({n for d in self.datasets for n in d.query_parameter_names()}))


_PROSE = {"title", "description", "access"}  # none of them shapes a row


def _without_prose(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_prose(v) for k, v in value.items() if k not in _PROSE}
    if isinstance(value, list):
        return [_without_prose(v) for v in value]
    return value


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{what} {n!r} is declared twice")
        seen.add(n)


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
