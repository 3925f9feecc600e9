"""The origin's gateway over real HTTP: API keys, the budgets that protect the warehouse, CORS.

The embedded stack's origin reads the key store `lakegate keys` writes (the edge does
in AWS), counts statements in moto's DynamoDB, and answers CORS as the edge does.
Budgets count per minute: a test that needs one whole minute waits (at most a few
seconds) for the next one to begin rather than straddle two.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml

from handler.catalogue import DEFAULT_CATALOGUE
from local.emulator import EmulatorConfig
from local.keys import FileKeyStore, create, revoke
from local.stack import EmbeddedStack, StackConfig
from tests.e2e.conftest import statements

STATEMENT_BUDGET = 6
MISS_BUDGET = 2
ORIGIN = "https://dashboards.example.com"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> FileKeyStore:
    return FileKeyStore(tmp_path_factory.mktemp("keys") / "keys.json")


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, keys: FileKeyStore
) -> Iterator[EmbeddedStack]:
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    drivers = document["datasets"][0]
    document["datasets"] += [
        {**drivers, "name": "keyed", "title": "Drivers, for keys only", "access": "key"},
        {**drivers, "name": "flooded", "title": "Drivers, under a flood"},
    ]
    catalogue = tmp_path_factory.mktemp("catalogue") / "catalogue.yaml"
    catalogue.write_text(yaml.safe_dump(document))
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=5),
        catalogue_path=catalogue,
        max_containers=8,
        environment={
            "LAKEGATE_KEYS_FILE": str(keys.path),
            "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": str(STATEMENT_BUDGET),
            "LAKEGATE_MISS_BUDGETS": f"standard={MISS_BUDGET},bulk=100",
            "LAKEGATE_CORS_ORIGINS": ORIGIN,
        },
    )
    with EmbeddedStack(config) as running:
        yield running


def get(stack: EmbeddedStack, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{stack.url}{path}", headers=headers, timeout=30)


def a_whole_minute_ahead() -> None:
    """Budgets count per wall-clock minute: do not start a count in its last seconds."""
    left = 60 - time.time() % 60
    if left < 8:
        time.sleep(left + 0.1)


def assert_refusal(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.headers["Cache-Control"] == "no-store"


def test_a_key_only_dataset_refuses_missing_unknown_revoked_and_foreign_keys(
    gateway: EmbeddedStack, keys: FileKeyStore
) -> None:
    path = "/v1/keyed?state=Ohio&year=2010"
    assert_refusal(get(gateway, path), 401, "unauthorized")
    assert_refusal(get(gateway, path, **{"x-api-key": "lk_made-up"}), 401, "unauthorized")
    foreign, _ = create(keys, "elsewhere", ("drivers",), "standard")
    assert_refusal(get(gateway, path, **{"x-api-key": foreign}), 403, "forbidden")
    key, _ = create(keys, "reader", ("keyed",), "bulk")
    assert get(gateway, path, **{"x-api-key": key}).status_code == 200
    revoke(keys, "reader")
    assert_refusal(get(gateway, path, **{"x-api-key": key}), 401, "unauthorized")


def test_a_public_dataset_needs_no_key_but_refuses_a_bad_one(gateway: EmbeddedStack) -> None:
    path = "/v1/drivers?state=Iowa&year=2001"
    assert get(gateway, path).status_code == 200
    assert_refusal(get(gateway, path, **{"x-api-key": "lk_made-up"}), 401, "unauthorized")


def test_a_consumer_over_its_miss_budget_gets_429_on_misses_and_200_on_hits(
    gateway: EmbeddedStack, keys: FileKeyStore
) -> None:
    key, _ = create(keys, "thrifty", ("*",), "standard")
    auth = {"x-api-key": key}
    a_whole_minute_ahead()
    first = "/v1/drivers?state=Utah&year=2003"
    for year in (2003, 2004):
        assert get(gateway, f"/v1/drivers?state=Utah&year={year}", **auth).status_code == 200
    before = statements(gateway)
    refused = get(gateway, "/v1/drivers?state=Utah&year=2005", **auth)
    assert_refusal(refused, 429, "miss_budget_exceeded")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert statements(gateway) == before, "no statement ran for the refused miss"
    hit = get(gateway, first, **auth)
    assert hit.status_code == 200 and hit.headers["Cache-Status"].startswith("lakegate; hit")
    assert get(gateway, "/v1/drivers?state=Utah&year=2005").status_code == 200, (
        "another consumer (anonymous here) still gets the query run"
    )


def test_the_dataset_budget_holds_under_a_flood_of_distinct_urls(gateway: EmbeddedStack) -> None:
    a_whole_minute_ahead()
    before = statements(gateway)
    urls = [f"/v1/flooded?year={year}&limit={n}" for year in range(1994, 2019) for n in (1, 2)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda url: get(gateway, url), urls))
    ran = statements(gateway) - before
    assert ran == STATEMENT_BUDGET, "the warehouse never runs more than the budget"
    assert sorted({a.status_code for a in answers}) == [200, 503]
    assert sum(a.status_code == 200 for a in answers) == STATEMENT_BUDGET
    refused = next(a for a in answers if a.status_code == 503)
    assert_refusal(refused, 503, "statement_budget_exceeded")
    assert "Retry-After" in refused.headers


def test_cors_preflight_and_simple_requests_for_allowed_origins_only(
    gateway: EmbeddedStack,
) -> None:
    path = "/v1/drivers?state=Maine&year=2002"
    preflight = requests.options(
        f"{gateway.url}{path}",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        },
        timeout=30,
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "x-api-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    simple = get(gateway, path, Origin=ORIGIN)
    assert simple.headers["Access-Control-Allow-Origin"] == ORIGIN
    stranger = get(gateway, path, Origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_the_key_never_reaches_a_log_line(
    gateway: EmbeddedStack, keys: FileKeyStore, capfd: pytest.CaptureFixture[str]
) -> None:
    key, _ = create(keys, "quiet", ("*",), "bulk")
    get(gateway, "/v1/keyed?state=Texas&year=2012", **{"x-api-key": key})
    get(gateway, "/v1/keyed?bogus=1", **{"x-api-key": key})
    captured = capfd.readouterr()
    assert key not in captured.out + captured.err
