"""The cache buster's URLs, held to the origin's own parser: valid ones parse to what they
say, every typo is refused, and every request is named for what it is."""

from collections import Counter
from urllib.parse import urlsplit

import pytest

from handler.catalogue import Dataset, load_catalogue
from handler.errors import BadRequest
from handler.parameters import parameters_of
from handler.query import parse_query
from loadtests.answers import Requested
from loadtests.buster import KINDS, CacheBuster, kind_of, must_refuse
from local.sample_data import STATE_WEIGHTS, YEARS

DRAWS = 400
TYPOS = [k for k in KINDS if k not in ("valid", "unknown key")]


@pytest.fixture(scope="module")
def drivers() -> Dataset:
    dataset = load_catalogue().get("drivers")
    assert dataset is not None
    return dataset


def buster(drivers: Dataset, seed: int = 1) -> CacheBuster:
    return CacheBuster(drivers, sorted(STATE_WEIGHTS), list(YEARS), seed=seed)


def query_of(url: str) -> str:
    return urlsplit(url).query


@pytest.mark.parametrize("kind", ["valid", "unknown key"])
def test_valid_urls_parse_to_what_they_ask_for(drivers: Dataset, kind: str) -> None:
    draw = buster(drivers)
    for _ in range(DRAWS):
        request = draw.draw(kind)  # type: ignore[arg-type]
        assert urlsplit(request.url).path == drivers.route
        query = parse_query(drivers, query_of(request.url))  # raises on a refused URL
        asked = Requested.from_url(request.url, drivers)
        filters = {c.parameter: c.value for c in query.filters}
        assert filters.get("year") == asked.year
        assert filters.get("state") == asked.state
        assert set(query.fields) == asked.fields
        assert query.limit == asked.limit


@pytest.mark.parametrize("kind", TYPOS)
def test_every_typo_is_refused_by_the_origins_parser(drivers: Dataset, kind: str) -> None:
    draw = buster(drivers, seed=2)
    for _ in range(DRAWS):
        request = draw.draw(kind)  # type: ignore[arg-type]
        with pytest.raises(BadRequest):
            parse_query(drivers, query_of(request.url))
        assert request.api_key is None


def test_unknown_keys_are_made_up_and_varied(drivers: Dataset) -> None:
    draw = buster(drivers, seed=3)
    keys = [draw.draw("unknown key").api_key for _ in range(200)]
    assert all(keys) and len(set(keys)) == len(keys)
    assert any(str(k).startswith("lk_") for k in keys)
    assert any(not str(k).startswith("lk_") for k in keys)


def test_the_mix_has_every_kind_and_mostly_distinct_urls(drivers: Dataset) -> None:
    draw = buster(drivers, seed=4)
    requests = [draw() for _ in range(2000)]
    kinds = Counter(r.kind for r in requests)
    assert set(kinds) == set(KINDS)
    assert kinds["valid"] > 0.4 * len(requests)
    valid = [r.url for r in requests if r.kind == "valid"]
    assert len(set(valid)) > 0.9 * len(valid), "a buster that repeats itself is a cache's friend"


def test_same_seed_same_requests(drivers: Dataset) -> None:
    first, second = buster(drivers, seed=5), buster(drivers, seed=5)
    assert [first() for _ in range(50)] == [second() for _ in range(50)]


def names_of(url: str) -> list[str]:
    return [pair.partition("=")[0] for pair in query_of(url).split("&") if pair]


def test_each_typo_is_the_mistake_it_is_named_for(drivers: Dataset) -> None:
    real = set(parameters_of(drivers).names)
    draw = buster(drivers, seed=6)
    for _ in range(200):
        names = names_of(draw.draw("unknown name").url)
        assert any(n.lower() not in real for n in names), names
        names = names_of(draw.draw("wrong case").url)
        assert any(n not in real and n.lower() in real for n in names), names
        names = names_of(draw.draw("repeated name").url)
        assert set(names) <= real and len(set(names)) < len(names), names
        names = names_of(draw.draw("bad value").url)
        assert set(names) <= real and len(set(names)) == len(names), names


def test_routes_name_the_kind_and_say_what_must_be_refused(drivers: Dataset) -> None:
    draw = buster(drivers)
    for kind in KINDS:
        route = draw.draw(kind).route
        assert kind_of(route) == kind
        assert must_refuse(route, require_keys=False) == (kind != "valid")
        assert must_refuse(route, require_keys=True)
    for route in ("/v1/drivers?state&year", "/admin/invalidate", "buster: nonsense"):
        assert kind_of(route) is None
        assert not must_refuse(route, require_keys=True)
