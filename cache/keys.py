"""Cache keys: the canonical form of a validated query, hashed.

Equivalent requests share a key because the key is computed from the *validated,
typed* query (parameter order gone, case folded where the filter is case-insensitive,
defaults filled in), never from the raw query string. Different results never share
a key because everything that shapes the response is in the canonical form: dataset,
its declaration (so editing the catalogue retires old entries), filters, projection,
page and format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache

import orjson

from handler.catalogue import Dataset
from handler.query import FilterValue, Query

# Prose does not change results: editing a title or a description keeps the cache.
_PROSE = {"title", "description"}


@lru_cache(maxsize=64)
def dataset_digest(dataset: Dataset) -> str:
    """A short digest of what shapes the dataset's results: editing that changes every key."""
    declaration = _without_prose(dataset.model_dump(mode="json"))
    return hashlib.sha256(orjson.dumps(declaration, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _without_prose(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_prose(v) for k, v in value.items() if k not in _PROSE}
    if isinstance(value, list):
        return [_without_prose(v) for v in value]
    return value


def canonical_form(dataset: Dataset, query: Query, catalogue_version: int) -> bytes:
    """Deterministic bytes for a query: equal exactly when the responses are equal."""
    document = {
        "v": catalogue_version,
        "dataset": dataset.name,
        "declaration": dataset_digest(dataset),
        # Typed values keep 2016 (integer) apart from "2016" (string) and 1.0 from 1.
        "filters": [[name, _typed(value)] for name, value in sorted(query.filters)],
        "fields": list(query.fields),
        "limit": query.limit,
        "offset": query.offset,
        "format": query.format,
    }
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def cache_key(dataset: Dataset, query: Query, catalogue_version: int) -> str:
    """SHA-256 (hex) of the canonical form."""
    return hashlib.sha256(canonical_form(dataset, query, catalogue_version)).hexdigest()


def _typed(value: FilterValue) -> list[str | int | float]:
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
