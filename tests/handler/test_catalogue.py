"""The catalogue: declared datasets, validated at start-up with errors that say what is wrong."""

from pathlib import Path

import pytest
import yaml

from handler.catalogue import COMMON_PARAMETERS, load_catalogue
from handler.errors import CatalogueError
from handler.parameters import parameters_of


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def minimal(**overrides: object) -> dict[str, object]:
    dataset: dict[str, object] = {
        "name": "widgets",
        "title": "Widgets",
        "table": "cat.sch.widgets",
        "columns": [
            {"name": "id", "source": "widget_id", "type": "integer"},
            {"name": "colour", "source": "colour", "type": "string"},
        ],
        "filters": [{"name": "colour", "column": "colour", "type": "string", "max_length": 20}],
        "order_by": ["id"],
        "limit": {"default": 10, "maximum": 100},
        "freshness": {"ttl_seconds": 60},
    }
    dataset.update(overrides)
    return {"version": 1, "datasets": [dataset]}


def test_the_packaged_catalogue_declares_drivers() -> None:
    catalogue = load_catalogue()
    drivers = catalogue.get("drivers")
    assert drivers is not None
    assert drivers.route == "/v1/drivers"
    assert drivers.table == "lakegate.dmv.licensed_drivers"
    assert drivers.column_names == ("year", "state", "cohort", "gender", "drivers")
    assert [f.name for f in drivers.filters] == ["year", "state", "cohort"]
    assert parameters_of(drivers).names == (
        *("year", "year[gt]", "year[gte]", "year[lt]", "year[lte]", "year[in]"),
        *("state", "state[in]", "cohort", "cohort[in]"),
        *COMMON_PARAMETERS,
    )
    assert drivers.group_tokens == ("year", "state", "cohort", "gender")
    assert [(m.name, m.function, m.column) for m in drivers.measures] == [
        ("total_drivers", "sum", "drivers")
    ]


def test_the_packaged_catalogue_declares_crashes_with_rich_types_and_periods() -> None:
    crashes = load_catalogue().get("crashes")
    assert crashes is not None
    assert {c.name: c.type for c in crashes.columns} == {
        "date": "date",
        "state": "string",
        "crashes": "integer",
        "fatality_rate": "decimal",
        "weekend": "boolean",
        "updated_at": "timestamp",
    }
    assert crashes.group_tokens == (
        *("date", "date:week", "date:month", "date:quarter", "date:year"),
        *("state", "weekend"),
    )
    assert "date[gte]" in parameters_of(crashes).names
    assert "state[in]" in parameters_of(crashes).names


def test_a_minimal_dataset_loads(tmp_path: Path) -> None:
    catalogue = load_catalogue(write(tmp_path, minimal()))
    widgets = catalogue.get("widgets")
    assert widgets is not None and widgets.column("id").source == "widget_id"
    assert catalogue.get("nothing") is None


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"table": "widgets"}, "table"),
        ({"table": "cat.sch.widgets; drop table x"}, "table"),
        ({"order_by": ["nope"]}, "order 'nope'"),
        ({"sortable": ["nope"]}, "order 'nope'"),
        (
            {
                "filters": [
                    {
                        "name": "c",
                        "column": "colour",
                        "type": "string",
                        "max_length": 5,
                        "operators": ["eq", "in"],
                    }
                ]
            },
            "max_items go together",
        ),
        (
            {
                "filters": [
                    {
                        "name": "c",
                        "column": "colour",
                        "type": "string",
                        "max_length": 5,
                        "operators": ["gte"],
                    }
                ]
            },
            "ranges apply to numbers and dates",
        ),
        (
            {
                "filters": [
                    {
                        "name": "c",
                        "column": "colour",
                        "type": "string",
                        "max_length": 5,
                        "operators": ["eq", "eq"],
                    }
                ]
            },
            "declared twice",
        ),
        (
            {"filters": [{"name": "a__b", "column": "colour", "type": "string", "max_length": 5}]},
            "parameter markers",
        ),
        ({"dimensions": ["nope"]}, "dimension 'nope' is not a column"),
        (
            {"dimensions": [{"column": "colour", "granularities": ["month"]}]},
            "no periods to group",
        ),
        ({"measures": [{"name": "id", "function": "count"}]}, "'id' is declared twice"),
        ({"measures": [{"name": "total", "function": "sum"}]}, "sum needs a column"),
        (
            {"measures": [{"name": "total", "function": "sum", "column": "colour"}]},
            "needs numbers",
        ),
        ({"measures": [{"name": "n", "function": "max", "column": "nope"}]}, "unknown column"),
        (
            {"filters": [{"name": "x", "column": "nope", "type": "string", "max_length": 5}]},
            "unknown column",
        ),
        (
            {"filters": [{"name": "limit", "column": "colour", "type": "string", "max_length": 5}]},
            "reserved",
        ),
        ({"filters": [{"name": "c", "column": "colour", "type": "string"}]}, "max_length"),
        (
            {
                "filters": [
                    {"name": "c", "column": "colour", "type": "integer", "case_insensitive": True}
                ]
            },
            "strings only",
        ),
        (
            {
                "filters": [
                    {
                        "name": "c",
                        "column": "colour",
                        "type": "string",
                        "max_length": 5,
                        "pattern": "(",
                    }
                ]
            },
            "pattern",
        ),
        ({"limit": {"default": 500, "maximum": 100}}, "exceeds"),
        ({"columns": [{"name": "id", "source": "a", "type": "integer"}] * 2}, "declared twice"),
        ({"columns": [{"name": "bad name", "source": "a", "type": "integer"}]}, "columns"),
        (
            # `day:month` would answer a column `day_month`: another column's name.
            {
                "columns": [
                    {"name": "day", "source": "day", "type": "date"},
                    {"name": "day_month", "source": "m", "type": "date"},
                ],
                "order_by": ["day"],
                "filters": [],
                "dimensions": [{"column": "day", "granularities": ["month"]}],
            },
            "'day_month' is declared twice",
        ),
        ({"columns": [{"name": "id", "source": "a", "type": "blob"}]}, "type"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_catalogues_are_refused_with_the_reason(
    tmp_path: Path, override: dict[str, object], complaint: str
) -> None:
    with pytest.raises(CatalogueError, match="invalid catalogue") as caught:
        load_catalogue(write(tmp_path, minimal(**override)))
    assert complaint in str(caught.value)


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [unclosed")
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(bad)


def test_dataset_names_are_unique(tmp_path: Path) -> None:
    document = minimal()
    document["datasets"] = document["datasets"] * 2  # type: ignore[operator]
    with pytest.raises(CatalogueError, match="declared twice"):
        load_catalogue(write(tmp_path, document))
