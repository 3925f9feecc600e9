"""The edge tests' catalogue: the packaged drivers dataset and two more, for every rule.

- `permits`, key-only (`access: key`), with one integer filter;
- `readings`, public, with the filter kinds the packaged catalogue lacks: bounded and
  unbounded numbers, a date, an unanchored and an anchored pattern (the anchored one
  case-insensitive, so that a fold can break it), and an integer with bounds beyond 2**53.

gateway.test.mjs names these datasets and their parameters: change both together.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from handler.catalogue import DEFAULT_CATALOGUE, Catalogue

ALLOWED_ORIGIN = "https://dashboards.example.com"


def gateway_document(ttl_seconds: int | None = None) -> dict[str, Any]:
    """The catalogue as YAML would hold it; `ttl_seconds` replaces every dataset's freshness."""
    document: dict[str, Any] = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    drivers = document["datasets"][0]
    permits = copy.deepcopy(drivers)
    permits.update(
        name="permits",
        title="Permits",
        access="key",
        filters=[
            {"name": "year", "column": "year", "type": "integer", "minimum": 1900, "maximum": 2100}
        ],
    )
    readings = copy.deepcopy(drivers)
    readings.update(
        name="readings",
        title="Readings",
        filters=[
            {
                "name": "level",
                "column": "drivers",
                "type": "number",
                "minimum": -1.5,
                "maximum": 1e6,
            },
            {"name": "ratio", "column": "drivers", "type": "number"},
            {"name": "day", "column": "year", "type": "date"},
            {
                "name": "code",
                "column": "state",
                "type": "string",
                "max_length": 5,
                "pattern": "[0-9]",
            },
            {
                "name": "station",
                "column": "cohort",
                "type": "string",
                "max_length": 8,
                "pattern": "^[A-Z]{2}[0-9]{2}$",
                "case_insensitive": True,
            },
            {
                "name": "serial",
                "column": "drivers",
                "type": "integer",
                "minimum": -(2**59),
                "maximum": 2**59,
            },
        ],
    )
    document["datasets"] += [permits, readings]
    if ttl_seconds is not None:
        for dataset in document["datasets"]:
            dataset["freshness"] = {"ttl_seconds": ttl_seconds, "stale_seconds": 300}
    return document


def gateway_catalogue() -> Catalogue:
    return Catalogue.model_validate(gateway_document())
