"""A catalogue for roll-up tests: the packaged one, with more measures and grouped roll-ups.

The packaged catalogue declares one roll-up per dataset, the whole table. This one puts
grouped roll-ups first (so they answer whatever they can), keeps the table roll-up as
the fallback, and adds a measure of every function (count_distinct, min, max, count of
a column, avg of an integer, a timestamp max), so that every re-aggregation rule of
handler.rollups is exercised against the warehouse's own answers.
"""

from __future__ import annotations

from typing import Any

from handler.catalogue import Catalogue, Dataset, load_catalogue

_EXTRA: dict[str, dict[str, Any]] = {
    "drivers": {
        "measures": [
            {"name": "smallest_group", "function": "min", "column": "drivers"},
            {"name": "largest_group", "function": "max", "column": "drivers"},
            {"name": "groups", "function": "count"},
            {"name": "average_group", "function": "avg", "column": "drivers"},
            {"name": "cohorts", "function": "count_distinct", "column": "cohort"},
        ],
        "rollups": [
            {
                "name": "by_year_state_gender",
                "dimensions": ["year", "state", "gender"],
                "measures": [
                    "total_drivers",
                    "smallest_group",
                    "largest_group",
                    "groups",
                    "average_group",
                    "cohorts",
                ],
                "max_rows": 5000,
            },
        ],
    },
    "crashes": {
        "measures": [
            {"name": "most_crashes", "function": "max", "column": "crashes"},
            {"name": "lowest_rate", "function": "min", "column": "fatality_rate"},
            {"name": "rated_days", "function": "count", "column": "fatality_rate"},
            {"name": "total_rate", "function": "sum", "column": "fatality_rate"},
            {"name": "last_update", "function": "max", "column": "updated_at"},
            {"name": "states", "function": "count_distinct", "column": "state"},
        ],
        "rollups": [
            {
                "name": "monthly",
                "dimensions": ["date:month", "state", "weekend"],
                "measures": [
                    "total_crashes",
                    "average_fatality_rate",
                    "days",
                    "most_crashes",
                    "lowest_rate",
                    "rated_days",
                    "total_rate",
                    "last_update",
                ],
                "max_rows": 20000,
            },
        ],
    },
}


def rollup_catalogue() -> Catalogue:
    """The packaged catalogue with `_EXTRA`'s measures, and its grouped roll-ups first."""
    document = load_catalogue().model_dump(mode="json")
    for dataset in document["datasets"]:
        extra = _EXTRA[dataset["name"]]
        dataset["measures"] = [*dataset["measures"], *extra["measures"]]
        dataset["rollups"] = [*extra["rollups"], *dataset["rollups"]]
    return Catalogue.model_validate(document)


def dataset(catalogue: Catalogue, name: str) -> Dataset:
    found = catalogue.get(name)
    assert found is not None
    return found
