"""What a POST /admin/invalidate targets: a dataset, one normalised query, or everything.

The query string is judged here, before the throttle counts anything: a malformed
request must not spend an operator's allowance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import urlencode

from cache import cache_key
from handler.catalogue import Catalogue, Dataset
from handler.errors import BadRequest, NotFound
from handler.query import FilterValue, OutputFormat, parse_query, single_valued

Scope = Literal["dataset", "query", "all"]


@dataclass(frozen=True, slots=True)
class Invalidation:
    """What one POST /admin/invalidate asks for, validated."""

    scope: Scope
    datasets: tuple[Dataset, ...]
    params: tuple[tuple[str, str], ...] = ()  # the query's own parameters (scope "query")


def parse_invalidation(catalogue: Catalogue, raw_query: str) -> Invalidation:
    """Validate the query string of POST /admin/invalidate."""
    params = single_valued(raw_query)
    everything = params.pop("all", None)
    name = params.pop("dataset", None)
    if everything is not None:
        if everything != "true":
            raise BadRequest("invalid_parameter", "Parameter 'all' must be true.", "all")
        if name is not None:
            raise BadRequest(
                "invalid_parameter", "Give either 'dataset' or 'all=true', not both.", "all"
            )
        if params:
            extra = next(iter(params))
            raise BadRequest(
                "unknown_parameter",
                f"Parameter {extra[:64]!r} cannot be combined with 'all=true'.",
                extra[:64],
            )
        return Invalidation("all", catalogue.datasets)
    if not name:
        raise BadRequest(
            "missing_parameter",
            "Give 'dataset' (with its filters to drop one query) or 'all=true'.",
            "dataset",
        )
    dataset = next((d for d in catalogue.datasets if d.name == name), None)
    if dataset is None:
        raise NotFound(f"No dataset named {name[:64]!r}.")
    return Invalidation("query" if params else "dataset", (dataset,), tuple(params.items()))


def query_keys(
    dataset: Dataset, params: Sequence[tuple[str, str]], catalogue_version: int
) -> tuple[dict[str, object], tuple[str, ...]]:
    """The normalised query and its cache keys: both formats unless `format` was given."""
    query = parse_query(dataset, urlencode(list(params)))
    formats: tuple[OutputFormat, ...] = (
        (query.format,) if any(name == "format" for name, _ in params) else ("json", "csv")
    )
    keys = tuple(
        cache_key(replace(query, format=fmt).canonical(dataset, catalogue_version))
        for fmt in formats
    )
    described: dict[str, object] = {
        "filters": {c.parameter: _plain(c.value) for c in query.filters},
        "fields": list(query.fields),
        "group_by": list(query.group_by),
        "measures": list(query.measures),
        "sort": list(query.sort),
        "limit": query.limit,
        "offset": query.offset,
        "formats": list(formats),
    }
    return described, keys


def _plain(value: FilterValue | tuple[FilterValue, ...]) -> object:
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value.isoformat() if isinstance(value, dt.date) else value
