"""Cache keys: a pinned, type-tagged canonical form of a validated query, hashed.

The handler turns a validated query into a `CanonicalQuery` (parameter order gone,
case folded where the filter is case-insensitive, defaults filled in), so equivalent
requests share a key. Different results never share one because everything that
shapes the response is in the form: catalogue version, dataset, a digest of its
declaration (so editing the catalogue retires old entries), filters, projection or
groups and measures, the whole order, page and format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import orjson

Scalar = int | float | str | dt.date
Value = Scalar | tuple[Scalar, ...]  # a tuple: a list filter's items


@dataclass(frozen=True, slots=True)
class CanonicalQuery:
    """Everything that shapes a response, and nothing else."""

    catalogue_version: int
    dataset: str
    declaration: str  # digest of the dataset's declaration, see `digest`
    filters: tuple[tuple[str, Value], ...]  # (parameter, value): ("year[gte]", 2010)
    fields: tuple[str, ...]
    limit: int
    offset: int
    format: str
    group_by: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()  # the whole order, "-name" descending


def canonical_form(query: CanonicalQuery) -> bytes:
    """Deterministic bytes for a query: equal exactly when the responses are equal."""
    document = {
        "v": query.catalogue_version,
        "dataset": query.dataset,
        "declaration": query.declaration,
        # Typed values keep 2016 (integer) apart from "2016" (string) and 1.0 from 1.
        "filters": [[name, _typed(value)] for name, value in sorted(query.filters)],
        "fields": list(query.fields),
        "limit": query.limit,
        "offset": query.offset,
        "format": query.format,
        "group_by": list(query.group_by),
        "measures": list(query.measures),
        "sort": list(query.sort),
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def cache_key(query: CanonicalQuery) -> str:
    """SHA-256 (hex) of the canonical form."""
    return hashlib.sha256(canonical_form(query)).hexdigest()


def rollup_key(catalogue_version: int, dataset: str, declaration: str, rollup: object) -> str:
    """A roll-up's key: its own declaration (JSON-able) within its dataset's (`declaration`).

    Never equal to a query's key: the document hashed has another shape."""
    document = {"v": catalogue_version, "dataset": dataset, "declaration": declaration}
    document["rollup"] = rollup
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def digest(document: object) -> str:
    """A short, order-independent digest of a JSON-able declaration."""
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _typed(value: Value) -> list[object]:
    if isinstance(value, tuple):
        # The handler sorts and de-duplicates list items: their order is already one form.
        return ["l", [_typed(item) for item in value]]
    if isinstance(value, bool):  # never produced by the parser; guards the int branch
        raise TypeError("boolean filter values are not supported")
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, float):
        # + 0.0 turns -0.0 into 0.0: the same number (and the same rows) gets the same key.
        return ["f", value + 0.0]
    if isinstance(value, dt.date):
        return ["d", value.isoformat()]
    return ["s", value]
