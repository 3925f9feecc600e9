"""GET /v1: the datasets a client may find, each with its route, freshness, access and
operation, cached like data (ETag, 304) and never naming a table."""

from __future__ import annotations

from typing import Any

import orjson

from handler.catalogue import load_catalogue
from handler.errors import ConfigurationError
from handler.routes import Surface, create_app
from handler.unconfigured import Unconfigured
from local.function_url import LocalContext, build_event

CATALOGUE = load_catalogue()


def app(*, require_keys: bool = False) -> Any:
    surface = Unconfigured(ConfigurationError("routes only")).surface(CATALOGUE)
    keyed = Surface(surface.datasets, surface.admin, surface.cors_origins, require_keys)
    return create_app(CATALOGUE, keyed)


def ask(resolver: Any, headers: list[tuple[str, str]] = [], method: str = "GET") -> Any:  # noqa: B006
    event = build_event(method, "/v1", headers, b"", "127.0.0.1", "req-1")
    return resolver.resolve(event, LocalContext("req-1", 30.0))


def test_every_dataset_is_listed_with_its_route_freshness_access_and_operation() -> None:
    answer = ask(app())
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == "application/json"
    document = orjson.loads(answer["body"])
    listed = {d["name"]: d for d in document["datasets"]}
    assert list(listed) == [d.name for d in CATALOGUE.datasets]
    drivers = listed["drivers"]
    assert drivers["route"] == "/v1/drivers" and drivers["title"] == "Licensed drivers"
    assert drivers["freshness"] == {"ttl_seconds": 300, "stale_seconds": 3600}
    assert drivers["access"] == "public"
    assert drivers["operation_id"] == "get_drivers"
    assert drivers["openapi"] == "/swagger?format=json#/paths/~1v1~1drivers/get"
    assert listed["crashes"]["export"] == {"maximum_rows": 1_000_000}
    assert "export" not in drivers


def test_each_operation_it_names_is_in_the_document() -> None:
    resolver = app()
    document = resolver.get_openapi_schema().model_dump(mode="json", by_alias=True)
    for dataset in orjson.loads(ask(resolver)["body"])["datasets"]:
        path = dataset["openapi"].partition("#/paths/")[2].removesuffix("/get")
        operation = document["paths"][path.replace("~1", "/")]["get"]
        assert operation["operationId"] == dataset["operation_id"]


def test_no_table_or_warehouse_column_is_named() -> None:
    body = ask(app())["body"]
    for dataset in CATALOGUE.datasets:
        assert dataset.table not in body
        assert "crash_date" not in body


def test_keys_required_everywhere_says_so_on_every_dataset() -> None:
    datasets = orjson.loads(ask(app(require_keys=True))["body"])["datasets"]
    assert {d["access"] for d in datasets} == {"key"}


def test_cached_like_data_with_a_validator_and_a_304() -> None:
    resolver = app()
    first = ask(resolver)
    shortest = min(d.freshness.ttl_seconds for d in CATALOGUE.datasets)
    assert first["headers"]["Cache-Control"] == f"public, max-age={shortest}, s-maxage={shortest}"
    etag = first["headers"]["ETag"]
    again = ask(resolver, [("If-None-Match", etag)])
    assert again["statusCode"] == 304 and again["body"] == ""
    assert again["headers"]["ETag"] == etag
    other = ask(resolver, [("If-None-Match", '"something-else"')])
    assert other["statusCode"] == 200


def test_head_answers_without_a_body() -> None:
    assert ask(app(), method="HEAD")["statusCode"] == 200
