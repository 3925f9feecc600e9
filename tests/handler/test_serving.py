"""One dataset route: a query string a container has answered is parsed, checked and keyed
once; the key is the one its canonical form hashes to; a refused one is refused each time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

import handler.serving
from cache import CacheRequest, Outcome, Served, build_entry, cache_key
from handler.catalogue import Dataset, load_catalogue
from handler.consumers import EdgeAsserted
from handler.errors import BadRequest
from handler.query import parse_query
from handler.serving import DatasetServer, Gate
from handler.settings import WarehouseSettings
from local.function_url import build_event

CATALOGUE = load_catalogue()
_drivers = CATALOGUE.get("drivers")
assert _drivers is not None
DRIVERS: Dataset = _drivers


class Page:
    body = b"[]"
    content_type = "application/json"
    row_count = 0
    has_more = False


class Recording:
    """Answers every request from one entry, keeping the requests it was given."""

    def __init__(self) -> None:
        self.requests: list[CacheRequest] = []

    def serve(self, request: CacheRequest) -> Served:
        self.requests.append(request)
        entry = build_entry(request.key, 0, request.freshness, Page(), 1_800_000_000_000)
        assert entry.gzip_body is not None
        return Served(entry, entry.gzip_body, Outcome.HIT, 1_800_000_000_000)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []

    def counting(dataset: Dataset, raw_query: str, accept: str | None = None) -> Any:
        seen.append(raw_query)
        return parse_query(dataset, raw_query, accept)

    monkeypatch.setattr(handler.serving, "parse_query", counting)
    yield seen


def route(results: Recording) -> DatasetServer:
    def no_warehouse() -> Any:
        raise AssertionError("a hit needs no warehouse")

    return DatasetServer(
        DRIVERS,
        CATALOGUE.version,
        no_warehouse,
        results,  # type: ignore[arg-type]
        WarehouseSettings(host="https://example.invalid", warehouse_id="w", token="t"),
        Gate(EdgeAsserted(), require_keys=False, statements=None),
        rollups=None,
    )


def event(query: str) -> LambdaFunctionUrlEvent:
    path = f"{DRIVERS.route}?{query}"
    return LambdaFunctionUrlEvent(build_event("GET", path, [], b"", "127.0.0.1", "test"))


def test_a_repeated_query_string_is_parsed_once_and_keyed_as_its_canonical_form(
    parses: list[str],
) -> None:
    results = Recording()
    server = route(results)
    for _ in range(3):
        server.serve(event("state=Texas&year=2016"), 10_000)
    assert parses == ["state=Texas&year=2016"]
    canonical = parse_query(DRIVERS, "state=Texas&year=2016").canonical(DRIVERS, CATALOGUE.version)
    assert {r.key for r in results.requests} == {cache_key(canonical)}
    assert len(results.requests) == 3  # each request still asks the cache


def test_another_container_parses_it_again(parses: list[str]) -> None:
    route(Recording()).serve(event("year=2016"), 10_000)
    route(Recording()).serve(event("year=2016"), 10_000)
    assert parses == ["year=2016", "year=2016"]


def test_a_refused_query_string_is_refused_every_time(parses: list[str]) -> None:
    server = route(Recording())
    for _ in range(2):
        with pytest.raises(BadRequest) as refused:
            server.serve(event("stat=Texas"), 10_000)
        assert refused.value.parameter == "stat"
    assert parses == ["stat=Texas", "stat=Texas"]
