"""The origin's gateway over real HTTP: API keys, the budgets that protect the warehouse, CORS.

The embedded stack's origin reads the key store `lakegate keys` writes (the edge does
in AWS), counts statements in moto's DynamoDB, and answers CORS as the edge does.
Budgets count per minute: a test that needs one whole minute waits (at most a few
seconds) for the next one to begin rather than straddle two.

The budgets (cache/budget.py) here: 12 statements a minute per dataset, 2 kept for
roll-ups, the other 10 in 2 shares of 5; a standard key 3 misses a minute. `flooded`
declares no roll-up, so each of its distinct queries is a statement; `drivers` answers
every query from its roll-up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml

from edge.keys import FileKeyStore, create, revoke
from handler.catalogue import DEFAULT_CATALOGUE
from handler.cors import EXPOSE_HEADERS
from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tests.e2e.conftest import statements

STATEMENT_BUDGET = 12
SHARE = 5  # (12 - 2) // 2
MISS_BUDGET = 3
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
    without_rollups = {k: v for k, v in drivers.items() if k != "rollups"}
    document["datasets"] += [
        {**drivers, "name": "keyed", "title": "Drivers, for keys only", "access": "key"},
        # Budgets count per dataset and minute: each test floods a dataset of its own.
        *(
            {**without_rollups, "name": name, "title": "Drivers, under a flood"}
            for name in ("flooded", "shared", "spent")
        ),
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
            "LAKEGATE_FAIR_SHARES": "2",
            "LAKEGATE_ROLLUP_RESERVE_PER_MINUTE": "2",
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
    first = "/v1/flooded?state=Utah&year=2003"
    for year in (2003, 2004, 2006):
        assert get(gateway, f"/v1/flooded?state=Utah&year={year}", **auth).status_code == 200
    before = statements(gateway)
    refused = get(gateway, "/v1/flooded?state=Utah&year=2005", **auth)
    assert_refusal(refused, 429, "miss_budget_exceeded")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert statements(gateway) == before, "no statement ran for the refused miss"
    hit = get(gateway, first, **auth)
    assert hit.status_code == 200 and hit.headers["Cache-Status"].startswith("lakegate; hit")
    assert get(gateway, "/v1/flooded?state=Utah&year=2005").status_code == 200, (
        "another consumer (keyless here) still gets the query run"
    )


def flood(gateway: EmbeddedStack, urls: list[str], **headers: str) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda url: get(gateway, url, **headers), urls))


def test_a_flood_from_one_consumer_leaves_another_consumers_new_queries_answered(
    gateway: EmbeddedStack, keys: FileKeyStore
) -> None:
    key, _ = create(keys, "dashboard", ("*",), "bulk")
    a_whole_minute_ahead()
    before = statements(gateway)
    flooding = flood(gateway, [f"/v1/shared?year={y}&limit=2" for y in range(1994, 2019)])
    assert sum(a.status_code == 200 for a in flooding) == SHARE, "keyless traffic: one share"
    refused = [a for a in flooding if a.status_code != 200]
    assert refused and all(a.status_code == 429 for a in refused), "never a 503 for others"
    assert_refusal(refused[0], 429, "share_exceeded")
    assert "Retry-After" in refused[0].headers
    mine = flood(
        gateway, [f"/v1/shared?year={y}&limit=3" for y in range(2000, 2005)], **{"x-api-key": key}
    )
    assert [a.status_code for a in mine] == [200] * 5, "the dashboard's share was its own"
    assert statements(gateway) - before == 2 * SHARE


def test_the_dataset_is_spent_only_once_every_share_is(
    gateway: EmbeddedStack, keys: FileKeyStore
) -> None:
    first, _ = create(keys, "first", ("*",), "bulk")
    second, _ = create(keys, "second", ("*",), "bulk")
    third, _ = create(keys, "third", ("*",), "bulk")
    a_whole_minute_ahead()
    before = statements(gateway)
    for n, key in enumerate((first, second)):
        urls = [f"/v1/spent?year={y}&limit={10 + n}" for y in range(1994, 1994 + SHARE)]
        assert {a.status_code for a in flood(gateway, urls, **{"x-api-key": key})} == {200}
    refused = get(gateway, "/v1/spent?year=1994&limit=20", **{"x-api-key": third})
    assert_refusal(refused, 503, "statement_budget_exceeded")
    assert "Retry-After" in refused.headers
    assert statements(gateway) - before == STATEMENT_BUDGET - 2, "the roll-ups' 2 are kept"


def test_dashboards_answered_from_a_rollup_spend_no_budget(gateway: EmbeddedStack) -> None:
    a_whole_minute_ahead()
    before = statements(gateway)
    urls = [
        f"/v1/drivers?year={y}&group_by=state&measures=total_drivers" for y in range(1994, 2019)
    ]
    answers = flood(gateway, urls) + flood(
        gateway, [f"/v1/drivers?year={y}&limit=4" for y in range(1994, 2019)]
    )
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert statements(gateway) - before <= 1, "one statement: the roll-up's, if not held yet"


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
    # A browser's JavaScript may read what it pages, revalidates and backs off by.
    exposed = {h.strip() for h in simple.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"link", "etag", "x-row-count", "cache-status", "retry-after"} <= exposed
    assert exposed == set(EXPOSE_HEADERS)
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
