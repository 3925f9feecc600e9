"""The OpenAPI document: each dataset's parameters are exactly what the parser enforces.

For every parameter of every dataset, hypothesis draws values around what the published
schema allows (inside and outside its bounds, lengths, patterns and enums) and checks,
value by value, that the parser accepts it exactly when a JSON Schema validator says
the published schema does. Also: no 422 anywhere, and the admin invalidation says what
it requires.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import handler
from handler.catalogue import Catalogue, Dataset, load_catalogue
from handler.combinations import COMBINATION_CODES
from handler.errors import BadRequest, ConfigurationError
from handler.query import parse_query
from handler.routes import create_app
from handler.unconfigured import Unconfigured
from handler.vocabulary import OPERATORS
from lakegate.common import package_version

EVERY_TYPE = Dataset.model_validate(
    {
        "name": "every_type",
        "title": "A filter of every type",
        "table": "c.s.t",
        "columns": [
            {"name": "n", "source": "n", "type": "number"},
            {"name": "code", "source": "code", "type": "string"},
        ],
        "filters": [
            {"name": "n", "column": "n", "type": "number", "minimum": -5, "maximum": 10},
            {"name": "i", "column": "n", "type": "integer", "minimum": 1},
            {"name": "d", "column": "n", "type": "date"},
            {
                "name": "code",
                "column": "code",
                "type": "string",
                "max_length": 8,
                "pattern": "^[A-Z]{2}[0-9]*$",
            },
        ],
        "limit": {"default": 10, "maximum": 100},
        "freshness": {"ttl_seconds": 60},
    }
)
CATALOGUE = Catalogue(version=1, datasets=(*load_catalogue().datasets, EVERY_TYPE))
DRIVERS = CATALOGUE.datasets[0]
DOCUMENT = (
    create_app(CATALOGUE, Unconfigured(ConfigurationError("not needed")).surface(CATALOGUE))
    .get_openapi_schema()
    .model_dump(mode="json", by_alias=True, exclude_none=True)
)
PARAMETERS = [
    (dataset, parameter)
    for dataset in CATALOGUE.datasets
    for parameter in DOCUMENT["paths"][dataset.route]["get"]["parameters"]
]


def _ecmascript_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """JSON Schema patterns are ECMAScript: `$` ends the text (Python's `re` also lets it
    match before a final newline, and so does the jsonschema package)."""
    if isinstance(instance, str) and not re.search(re.sub(r"(?<!\\)\$", r"\\Z", pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


PublishedSchema = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecmascript_pattern}
)


def values_around(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a client might send: valid ones by construction, and near misses."""
    if schema["type"] == "array":
        # A list travels comma-separated, so no item of one can hold a comma.
        items = values_around(schema["items"]).filter(lambda v: "," not in as_text(v))
        return st.lists(items, min_size=0, max_size=schema.get("maxItems", 6) + 2)
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | st.text(max_size=6)
    kind = schema["type"]
    if kind == "integer":
        low, high = schema.get("minimum", -(10**6)), schema.get("maximum", 10**6)
        return st.integers(low - 50, high + 50)
    if kind == "number":
        low, high = schema.get("minimum", -1e6), schema.get("maximum", 1e6)
        return st.floats(low - 50, high + 50, allow_nan=False)
    if schema.get("format") == "date":
        return st.dates().map(dt.date.isoformat) | st.text(max_size=12)
    longest = schema.get("maxLength", 80)
    candidates = st.text(max_size=longest + 3)
    if "pattern" in schema:
        candidates |= st.from_regex(schema["pattern"]).filter(lambda s: len(s) <= longest + 3)
    return candidates


def as_text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(as_text(item) for item in value)
    return value if isinstance(value, str) else repr(value)


def as_query_text(value: Any) -> str:
    return quote(as_text(value), safe="")


@pytest.mark.parametrize(
    ("dataset", "parameter"), PARAMETERS, ids=[f"{d.name}.{p['name']}" for d, p in PARAMETERS]
)
def test_the_parser_accepts_exactly_what_the_document_publishes(
    dataset: Dataset, parameter: dict[str, Any]
) -> None:
    schema = parameter["schema"]
    validator = PublishedSchema(schema, format_checker=jsonschema.FormatChecker())
    assert parameter["in"] == "query" and parameter["required"] is False
    assert parameter["description"], "every parameter says what it is"

    @settings(max_examples=150, deadline=None, database=None)
    @given(value=values_around(schema))
    def agrees(value: Any) -> None:
        if isinstance(value, float) and value.is_integer() and schema["type"] == "integer":
            value = int(value)
        published = validator.is_valid(value)
        try:
            parse_query(dataset, f"{parameter['name']}={as_query_text(value)}")
            parsed = True
        except BadRequest as refused:
            assert refused.parameter == parameter["name"]
            # A value the document allows may still not combine with the defaults (sort
            # by a measure needs measures): refused as a combination, never as a value.
            if published:
                assert refused.code in COMBINATION_CODES, refused
                return
            parsed = False
        assert parsed == published, f"{parameter['name']}={value!r}: document {published}"

    agrees()


def test_every_declared_parameter_is_published_and_nothing_else() -> None:
    for dataset in CATALOGUE.datasets:
        published = [p["name"] for p in DOCUMENT["paths"][dataset.route]["get"]["parameters"]]
        assert published == [
            *(f.parameter(op) for f in dataset.filters for op in OPERATORS if op in f.operators),
            "fields",
            *(("group_by",) if dataset.dimensions else ()),
            *(("measures",) if dataset.measures else ()),
            *(("sort",) if dataset.sort_keys else ()),
            "limit",
            "offset",
            "format",
        ]


def test_lists_are_published_as_comma_separated_arrays() -> None:
    parameters = {p["name"]: p for p in DOCUMENT["paths"]["/v1/drivers"]["get"]["parameters"]}
    listed = parameters["state[in]"]
    assert (listed["style"], listed["explode"]) == ("form", False)
    assert listed["schema"]["type"] == "array" and listed["schema"]["maxItems"] == 51
    assert listed["schema"]["items"]["x-case-insensitive"] is True
    assert listed["example"] == ["California", "Texas"]
    assert parameters["group_by"]["schema"]["items"]["enum"] == [
        "year",
        "state",
        "cohort",
        "gender",
    ]
    assert parameters["sort"]["schema"]["items"]["enum"][:2] == ["year", "-year"]


def test_a_single_measure_is_an_enum_to_pick_not_a_const() -> None:
    parameters = {p["name"]: p for p in DOCUMENT["paths"]["/v1/drivers"]["get"]["parameters"]}
    assert parameters["measures"]["schema"]["items"] == {
        "type": "string",
        "enum": ["total_drivers"],
    }
    assert not [p for _, p in PARAMETERS if "const" in str(p["schema"])]


@pytest.mark.parametrize(
    ("dataset", "parameter"), PARAMETERS, ids=[f"{d.name}.{p['name']}" for d, p in PARAMETERS]
)
def test_every_example_is_a_value_of_its_own_schema(
    dataset: Dataset, parameter: dict[str, Any]
) -> None:
    if "example" in parameter:
        PublishedSchema(parameter["schema"]).validate(parameter["example"])


@pytest.mark.parametrize("dataset", CATALOGUE.datasets, ids=lambda d: d.name)
def test_the_examples_together_are_one_valid_request(dataset: Dataset) -> None:
    """What Swagger UI fills in and sends on "Try it out": never a conflict or an empty range."""
    examples = {
        p["name"]: p["example"]
        for p in DOCUMENT["paths"][dataset.route]["get"]["parameters"]
        if "example" in p
    }
    query = "&".join(
        f"{name}={quote(as_text(value), safe=',')}" for name, value in examples.items()
    )
    parse_query(dataset, query)  # raises BadRequest on any conflict


def test_one_form_per_filter_is_filled_in() -> None:
    """Every form of `year` pre-filled would be `conflicting_parameters`."""
    for dataset in CATALOGUE.datasets:
        filled = [
            p["name"].partition("[")[0]
            for p in DOCUMENT["paths"][dataset.route]["get"]["parameters"]
            if "example" in p and p["name"] not in ("group_by", "measures", "sort", "fields")
        ]
        ranges = {name for name in filled if filled.count(name) == 2}
        for name in ranges:  # a range's two bounds, and nothing else of that filter
            forms = [
                p["name"]
                for p in DOCUMENT["paths"][dataset.route]["get"]["parameters"]
                if "example" in p and p["name"].startswith(f"{name}[")
            ]
            assert forms == [f"{name}[gte]", f"{name}[lte]"], forms
        assert all(filled.count(name) <= 2 for name in filled)


def test_errors_are_lakegates_own_body_and_powertools_schemas_are_gone() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert set(schemas) == {"Error"}
    assert schemas["Error"]["properties"]["error"]["required"] == ["code", "message"]
    for route in ("/v1/drivers", "/admin/invalidate"):
        for operation in DOCUMENT["paths"][route].values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    body = response["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/Error"}, (route, status)


def test_data_operations_document_every_status_and_header_they_answer_with() -> None:
    responses = DOCUMENT["paths"]["/v1/drivers"]["get"]["responses"]
    assert {"200", "304", "400", "401", "403", "406", "429", "502", "503", "504"} <= set(responses)
    assert {"Link", "ETag", "Cache-Status", "X-Row-Count", "Cache-Control", "Age"} <= set(
        responses["200"]["headers"]
    )
    assert "ETag" in responses["304"]["headers"]
    for status in ("429", "503", "504"):
        assert "Retry-After" in responses[status]["headers"], status


def test_the_documents_version_is_the_packages() -> None:
    assert DOCUMENT["info"]["version"] == handler.__version__ == package_version()


def test_discovery_is_published() -> None:
    operation = DOCUMENT["paths"]["/v1"]["get"]
    assert operation["operationId"] == "list_datasets"
    assert "ETag" in operation["responses"]["200"]["headers"]


def test_integer_filters_are_published_as_integers_with_their_bounds() -> None:
    year = next(
        p for p in DOCUMENT["paths"]["/v1/drivers"]["get"]["parameters"] if p["name"] == "year"
    )
    assert year["schema"] == {"type": "integer", "minimum": 1900, "maximum": 2100}


def test_no_operation_promises_a_422() -> None:
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            assert "422" not in operation.get("responses", {})


def test_head_is_served_but_not_published() -> None:
    assert "head" not in DOCUMENT["paths"]["/v1/drivers"]


def test_admin_invalidation_says_it_needs_a_dataset_or_all() -> None:
    operation = DOCUMENT["paths"]["/admin/invalidate"]["post"]
    names = {p["name"]: p for p in operation["parameters"]}
    assert {"dataset", "all"} <= set(names)
    assert "required" in names["dataset"]["description"].lower()
    assert names["all"]["schema"].get("enum") == ["true"]


def test_a_dataset_with_an_export_documents_parquet_and_the_redirect() -> None:
    crashes = DOCUMENT["paths"]["/v1/crashes"]["get"]["responses"]
    assert "application/vnd.apache.parquet" in crashes["200"]["content"]
    assert "Location" in crashes["303"]["headers"]
    drivers = DOCUMENT["paths"]["/v1/drivers"]["get"]["responses"]
    assert "303" not in drivers
    assert "application/vnd.apache.parquet" not in drivers["200"]["content"]
