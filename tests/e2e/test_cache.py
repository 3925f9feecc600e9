"""The result cache end to end, over HTTP, with moto's DynamoDB/S3 and the emulator's statement count.

One statement per distinct query per freshness window, even under a stampede. These are
the statement path's rules (roll-ups off); tests/e2e/test_rollups.py has the derived path's.
"""

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import requests
import yaml

from handler.catalogue import DEFAULT_CATALOGUE
from handler.warehouse.links import DOWNLOAD_WORKERS
from local.aws import CACHE_BUCKET, REGION
from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tests.e2e.conftest import STATEMENT_PATH, set_faults, statements


@pytest.fixture(scope="module")
def short_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged catalogue with a 1 s freshness window and a long grace period."""
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    for dataset in document["datasets"]:
        dataset["freshness"] = {"ttl_seconds": 1, "stale_seconds": 300}
    path = tmp_path_factory.mktemp("catalogue") / "catalogue.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def cached(short_catalogue: Path) -> Iterator[EmbeddedStack]:
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=300),
        max_containers=64,
        catalogue_path=short_catalogue,
        environment={
            "LAKEGATE_CACHE_OVERFLOW_BYTES": "2000",
            "LAKEGATE_ERROR_HOLD_SECONDS": "0.5",
            **STATEMENT_PATH,
        },
        # A 6 s Lambda leaves a 4 s warehouse budget: failures give up quickly.
        lambda_timeout_seconds=6.0,
    )
    with EmbeddedStack(config) as running:
        yield running


@pytest.fixture(autouse=True)
def reset(cached: EmbeddedStack) -> Iterator[None]:
    assert cached.emulator is not None
    cached.emulator.reset()
    yield
    cached.emulator.reset()


def get(stack: EmbeddedStack, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{stack.url}{path}", headers=headers, timeout=30)


def test_a_miss_is_stored_and_the_next_request_is_a_hit(cached: EmbeddedStack) -> None:
    path = "/v1/drivers?state=Maine&year=2001"
    first = get(cached, path)
    second = get(cached, path)
    assert first.headers["Cache-Status"] == "lakegate; fwd=miss; stored"
    assert second.headers["Cache-Status"].startswith("lakegate; hit; ttl=")
    assert first.json() == second.json() and len(second.json()) == 38
    assert first.headers["ETag"] == second.headers["ETag"]
    assert second.headers["Cache-Control"] == (
        "public, max-age=1, s-maxage=1, stale-while-revalidate=300, stale-if-error=300"
    )
    assert "cache;dur=" in second.headers["Server-Timing"]
    assert "warehouse;dur=" in first.headers["Server-Timing"]
    assert statements(cached) == 1


def test_equivalent_requests_share_one_entry(cached: EmbeddedStack) -> None:
    get(cached, "/v1/drivers?state=Vermont&year=2003")
    for variant in (
        "/v1/drivers?year=2003&state=VERMONT",
        "/v1/drivers?state=vermont&year=2003&limit=1000&offset=0&format=json",
        "/v1/drivers?state=Vermont&year=2003&fields=year,state,cohort,gender,drivers",
    ):
        assert get(cached, variant).headers["Cache-Status"].startswith("lakegate; hit")
    assert statements(cached) == 1


def test_if_none_match_gets_304_without_a_body(cached: EmbeddedStack) -> None:
    path = "/v1/drivers?state=Idaho&year=2004"
    etag = get(cached, path).headers["ETag"]
    revalidated = get(cached, path, **{"If-None-Match": etag})
    assert revalidated.status_code == 304 and revalidated.content == b""
    assert revalidated.headers["ETag"] == etag
    assert get(cached, path, **{"If-None-Match": '"something-else"'}).status_code == 200


@pytest.fixture(scope="module")
def long_lived() -> Iterator[EmbeddedStack]:
    """The packaged catalogue (fresh for minutes) and Lambda's usual 30 s: a stampede on a
    busy machine can outlast `cached`'s 1 s freshness, and its stale hits would rightly
    start a refresh, a second statement this test is not about."""
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=300),
        max_containers=64,
        environment=STATEMENT_PATH,
    )
    with EmbeddedStack(config) as running:
        yield running


def test_a_stampede_of_64_cold_requests_runs_one_statement(long_lived: EmbeddedStack) -> None:
    path = "/v1/drivers?state=Kansas&year=2005"
    with ThreadPoolExecutor(max_workers=64) as pool:
        responses = list(pool.map(lambda _: get(long_lived, path), range(64)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.headers["ETag"] for r in responses}) == 1
    outcomes = [r.headers["Cache-Status"] for r in responses]

    assert outcomes.count("lakegate; fwd=miss; stored") == 1
    assert statements(long_lived) == 1
    assert long_lived.server is not None and long_lived.server.pool.started > 1, (
        "requests ran concurrently"
    )
    # Its containers share one set of clients: pools for all 64 (handler.settings).
    assert long_lived.settings is not None
    assert long_lived.settings.pools.warehouse_connections == 64 * DOWNLOAD_WORKERS


def until(check: Callable[[], bool], what: str, tries: int = 60) -> None:
    """Poll `check` (bounded: about 6 s) until it holds."""
    for _ in range(tries):
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"never: {what}")


def test_a_stale_entry_is_answered_at_once_and_refreshed_once_in_the_background(
    cached: EmbeddedStack,
) -> None:
    path = "/v1/drivers?state=Oregon&year=2006"
    original = get(cached, path)
    time.sleep(1.1)  # let the 1 s freshness window pass
    assert cached.server is not None
    handed_off = cached.server.async_started
    stale = [get(cached, path) for _ in range(5)]
    for answer in stale:
        assert answer.status_code == 200 and answer.json() == original.json()
    assert all("ttl=-" in a.headers["Cache-Status"] for a in stale[:1]), "stale, served at once"
    assert "detail=stale-while-revalidate" in stale[0].headers["Cache-Status"]
    assert "max-age=0" in stale[0].headers["Cache-Control"]
    until(
        lambda: get(cached, path).headers["Cache-Status"].startswith("lakegate; hit; ttl="),
        "the background refresh stored a fresh entry",
    )
    assert statements(cached) == 2, "one refresh for five stale requests"
    assert cached.server.async_started - handed_off == 1, "handed to one async invocation"


def test_stale_is_served_while_the_warehouse_fails(cached: EmbeddedStack) -> None:
    path = "/v1/drivers?state=Montana&year=2007"
    original = get(cached, path).json()
    set_faults(cached, unavailable_next=10_000)
    time.sleep(1.1)  # let the 1 s freshness window pass
    for _ in range(8):
        response = get(cached, path)
        assert response.status_code == 200
        assert response.json() == original
        assert "ttl=-" in response.headers["Cache-Status"]
        assert "max-age=0" in response.headers["Cache-Control"]
        time.sleep(0.1)
    until(
        lambda: "detail=stale-if-error" in get(cached, path).headers["Cache-Status"],
        "a failed background refresh holds the key failing, and says so",
    )


def test_without_a_stale_entry_a_warehouse_failure_is_503_with_retry_after(
    cached: EmbeddedStack,
) -> None:
    set_faults(cached, unavailable_next=10_000)
    response = get(cached, "/v1/drivers?state=Wyoming&year=2008")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Cache-Control"] == "no-store"


def test_large_results_overflow_to_s3(cached: EmbeddedStack) -> None:
    path = "/v1/drivers?year=2009&limit=1500"
    first = get(cached, path)
    second = get(cached, path)
    assert second.headers["Cache-Status"].startswith("lakegate; hit")
    assert second.json() == first.json() and len(first.json()) == 1500
    assert cached.moto is not None
    s3 = boto3.client("s3", endpoint_url=cached.moto.url, region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=CACHE_BUCKET).get("Contents", [])]
    assert any(k.startswith("results/") for k in keys)


@pytest.fixture(scope="module")
def cache_down() -> Iterator[EmbeddedStack]:
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=10),
        cache="http://127.0.0.1:9",
        environment={
            **STATEMENT_PATH,
            # The budgets a container holds to alone: 12 a minute among 2 containers is
            # 6, 1 kept for roll-ups, the other 5 in 2 shares of 2.
            "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": "12",
            "LAKEGATE_FAIR_SHARES": "2",
            "LAKEGATE_ROLLUP_RESERVE_PER_MINUTE": "2",
            "LAKEGATE_MAX_CONTAINERS": "2",
        },
    )
    with EmbeddedStack(config) as running:
        yield running


def test_when_dynamodb_is_down_requests_fail_open(cache_down: EmbeddedStack) -> None:
    response = get(cache_down, "/v1/drivers?state=Ohio&year=2010")
    assert response.status_code == 200 and len(response.json()) == 38
    assert response.headers["Cache-Status"] == "lakegate; fwd=bypass; detail=cache-unavailable"
    assert cache_down.recorder.counts["CacheBypass"] >= 1


def test_with_dynamodb_down_identical_queries_still_share_one_statement(
    cache_down: EmbeddedStack,
) -> None:
    set_faults(cache_down, latency_ms=300)
    before = statements(cache_down)
    path = "/v1/drivers?state=Ohio&year=2011"
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: get(cache_down, path), range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    assert statements(cache_down) - before == 1
    assert get(cache_down, path).status_code == 200
    assert statements(cache_down) - before == 1, "kept while fresh, in the container"
    set_faults(cache_down, latency_ms=10)


def test_with_dynamodb_down_a_container_holds_to_its_part_of_the_budget(
    cache_down: EmbeddedStack,
) -> None:
    left = 60 - time.time() % 60
    if left < 8:  # counted per minute: do not straddle two
        time.sleep(left + 0.1)
    before = statements(cache_down)
    # crashes: the other tests here spend drivers' minute.
    days = [f"2024-01-{day:02d}" for day in range(1, 11)]
    answers = [get(cache_down, f"/v1/crashes?state=Utah&date={day}") for day in days]
    assert [a.status_code for a in answers].count(200) == 2, "the keyless share: 2"
    refused = [a for a in answers if a.status_code != 200]
    assert {a.status_code for a in refused} == {429}
    assert refused[0].json()["error"]["code"] == "share_exceeded"
    assert statements(cache_down) - before == 2
