"""A generated catalogue: the packaged one and `wide`, a dataset with 30 filters.

A dashboard table commonly filters on a dozen columns or more; `wide` has 30 filters of
every kind the catalogue offers (bounded and unbounded integers with ranges and lists,
case-insensitive strings with lists, dates with ranges, bounded numbers, anchored
patterns), 92 query parameters in all. The edge bench measures the gateway on it, and
the edge tests prove the gateway agrees with the origin on it (tests/edge).
"""

from __future__ import annotations

from typing import Any

import yaml

from handler.catalogue import DEFAULT_CATALOGUE, Catalogue

WIDE_FILTERS = 30
WIDE_ROUTE = "/v1/wide"


def _filter(i: int) -> dict[str, Any]:
    """The i-th filter: six kinds in turn, on the drivers table's columns."""
    name = f"f{i:02d}"
    kinds: list[dict[str, Any]] = [
        {
            "column": "year",
            "type": "integer",
            "minimum": 1900 + i,
            "maximum": 2100,
            "operators": ["eq", "gt", "gte", "lt", "lte", "in"],
            "max_items": 20,
        },
        {
            "column": "state",
            "type": "string",
            "max_length": 32,
            "case_insensitive": True,
            "operators": ["eq", "in"],
            "max_items": 10,
        },
        {"column": "year", "type": "date", "operators": ["eq", "gte", "lte"]},
        {
            "column": "drivers",
            "type": "number",
            "minimum": -1.5,
            "maximum": 1e6 + i,
            "operators": ["eq", "gt", "lt"],
        },
        {
            "column": "cohort",
            "type": "string",
            "max_length": 8,
            "pattern": "^[A-Z]{2}[0-9]{2}$",
            "case_insensitive": True,
        },
        {
            "column": "drivers",
            "type": "integer",
            "operators": ["eq", "in"],
            "max_items": 5,
        },
    ]
    return {"name": name, **kinds[i % len(kinds)]}


def wide_document(filters: int = WIDE_FILTERS) -> dict[str, Any]:
    """The packaged catalogue as YAML would hold it, with `wide` added."""
    document: dict[str, Any] = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    drivers = document["datasets"][0]
    wide = {
        **drivers,
        "name": "wide",
        "title": "Wide",
        "filters": [_filter(i) for i in range(filters)],
    }
    document["datasets"].append(wide)
    return document


def wide_catalogue(filters: int = WIDE_FILTERS) -> Catalogue:
    return Catalogue.model_validate(wide_document(filters))
