"""The admin routes end to end: real HTTP, moto's DynamoDB/Secrets Manager/SSM/CloudFront, the emulator.

A "miss" is proven by the emulator's statement count going up by one; "stays cached"
by it not moving. The catalogue has a second dataset (a copy of drivers) so that
invalidating one dataset can be seen to leave the other alone.
"""

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import boto3
import orjson
import pytest
import requests
import yaml

from handler.admin import ADMIN_TOKEN_HEADER as HEADER
from handler.admin.auth import token_id
from handler.catalogue import DEFAULT_CATALOGUE
from local.aws import CACHE_TABLE, REGION
from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tests.e2e.conftest import statements

TOKEN = "e2e-admin-token-current-6c1f0d2b9a"
LIMIT = 10


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    drivers = document["datasets"][0]
    copy = {**drivers, "name": "drivers_by_state", "title": "Drivers (copy)"}
    document["datasets"] = [drivers, copy]
    path = tmp_path_factory.mktemp("catalogue") / "catalogue.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def stack(two_datasets: Path) -> Iterator[EmbeddedStack]:
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=10),
        catalogue_path=two_datasets,
        admin_token=TOKEN,
        environment={
            # A rotation in moto is seen by the next request.
            "LAKEGATE_ADMIN_TOKEN_CACHE_SECONDS": "0",
            "LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE": str(LIMIT),
        },
    )
    with EmbeddedStack(config) as running:
        yield running


# boto3-stubs types boto3.client() per service name: the name must be a literal.
Service = Literal["cloudfront", "dynamodb", "secretsmanager"]


def aws(stack: EmbeddedStack, service: Service) -> Any:
    assert stack.moto is not None
    return boto3.client(service, endpoint_url=stack.moto.url, region_name=REGION)


def get(stack: EmbeddedStack, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{stack.url}{path}", headers=headers, timeout=30)


def invalidate(stack: EmbeddedStack, query: str, token: str | None = TOKEN) -> requests.Response:
    headers = {HEADER: token} if token is not None else {}
    return requests.post(f"{stack.url}/admin/invalidate?{query}", headers=headers, timeout=30)


def status(stack: EmbeddedStack, token: str = TOKEN) -> requests.Response:
    return requests.get(f"{stack.url}/admin/cache", headers={HEADER: token}, timeout=30)


def generations(stack: EmbeddedStack) -> dict[str, int]:
    return {d["dataset"]: d["generation"] for d in status(stack).json()["datasets"]}


def warm(stack: EmbeddedStack, *paths: str) -> None:
    """Each path cached: fetched once, then a hit."""
    for path in paths:
        get(stack, path)
        assert get(stack, path).headers["Cache-Status"].startswith("lakegate; hit"), path


def is_miss(stack: EmbeddedStack, path: str) -> bool:
    """Answered anew: by a statement, or derived from a roll-up (which may itself be new)."""
    response = get(stack, path)
    assert response.status_code == 200
    return response.headers["Cache-Status"].startswith("lakegate; fwd=miss")


def is_hit(stack: EmbeddedStack, path: str) -> bool:
    before = statements(stack)
    response = get(stack, path)
    return response.headers["Cache-Status"].startswith("lakegate; hit") and (
        statements(stack) == before
    )


def edge_paths(stack: EmbeddedStack, invalidation_id: str) -> list[str]:
    assert stack.admin is not None
    recorded = aws(stack, "cloudfront").get_invalidation(
        DistributionId=stack.admin.distribution_id, Id=invalidation_id
    )
    return list(recorded["Invalidation"]["InvalidationBatch"]["Paths"]["Items"])


def test_a_dataset_invalidation_makes_its_next_request_a_miss_and_leaves_others_cached(
    stack: EmbeddedStack,
) -> None:
    drivers, other = "/v1/drivers?state=Ohio&year=2010", "/v1/drivers_by_state?state=Ohio&year=2010"
    warm(stack, drivers, other)
    before = generations(stack)

    answer = invalidate(stack, "dataset=drivers")

    assert answer.status_code == 202 and answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["scope"] == "dataset"
    assert body["datasets"] == [{"dataset": "drivers", "generation": before["drivers"] + 1}]
    assert body["edge"]["status"] == "created"
    assert edge_paths(stack, body["edge"]["invalidation_id"]) == ["/v1/drivers*"]
    assert is_miss(stack, drivers)
    assert is_hit(stack, other)


def test_a_single_query_invalidation_drops_that_query_only(stack: EmbeddedStack) -> None:
    target, sibling = "/v1/drivers?state=Utah&year=2011", "/v1/drivers?state=Utah&year=2012"
    other = "/v1/drivers_by_state?state=Utah&year=2011"
    warm(stack, target, sibling, other)
    before = generations(stack)

    answer = invalidate(stack, "dataset=drivers&year=2011&state=UTAH")

    assert answer.status_code == 202
    body = answer.json()
    assert body["scope"] == "query" and body["query"]["filters"] == {"state": "utah", "year": 2011}
    assert body["datasets"] == [{"dataset": "drivers", "generation": before["drivers"]}]
    assert edge_paths(stack, body["edge"]["invalidation_id"]) == ["/v1/drivers*"]
    assert is_miss(stack, target)
    assert is_hit(stack, sibling)
    assert is_hit(stack, other)


def test_invalidating_all_drops_every_dataset(stack: EmbeddedStack) -> None:
    drivers, other = "/v1/drivers?state=Iowa&year=2013", "/v1/drivers_by_state?state=Iowa&year=2013"
    warm(stack, drivers, other)
    before = generations(stack)

    answer = invalidate(stack, "all=true")

    assert answer.status_code == 202
    body = answer.json()
    assert body["datasets"] == [
        {"dataset": name, "generation": before[name] + 1}
        for name in ("drivers", "drivers_by_state")
    ]
    assert edge_paths(stack, body["edge"]["invalidation_id"]) == [
        "/v1/drivers*",
        "/v1/drivers_by_state*",
    ]
    assert is_miss(stack, drivers) and is_miss(stack, other)


@pytest.mark.parametrize("token", [None, "", "not-the-token", TOKEN[:-1], TOKEN + "0"])
def test_missing_and_wrong_tokens_get_the_same_401_and_change_nothing(
    stack: EmbeddedStack, token: str | None
) -> None:
    before = generations(stack)
    refused = invalidate(stack, "dataset=drivers", token=token)
    refused_status = (
        requests.get(f"{stack.url}/admin/cache", headers={HEADER: token}, timeout=30)
        if token is not None
        else requests.get(f"{stack.url}/admin/cache", timeout=30)
    )
    for response in (refused, refused_status):
        assert response.status_code == 401
        assert response.headers["Cache-Control"] == "no-store"
        error = response.json()["error"]
        assert (error["code"], error["message"]) == (
            "unauthorized",
            "Missing or invalid admin token.",
        )
        assert set(error) == {"code", "message", "request_id"}
    assert generations(stack) == before


def test_a_rotated_token_and_its_previous_version_both_work(stack: EmbeddedStack) -> None:
    secrets = aws(stack, "secretsmanager")
    assert stack.admin is not None
    arn = stack.admin.secret_arn
    rotated, again = "e2e-admin-token-rotated-1", "e2e-admin-token-rotated-2"
    try:
        secrets.put_secret_value(SecretId=arn, SecretString=rotated)
        assert status(stack, rotated).status_code == 200
        answer = invalidate(stack, "dataset=drivers_by_state", token=TOKEN)
        assert answer.status_code == 202, "the previous version is still accepted"
        who = status(stack, rotated).json()["datasets"][1]["invalidated_by"]
        assert who == token_id(TOKEN, "previous")

        secrets.put_secret_value(SecretId=arn, SecretString=again)
        assert status(stack, again).status_code == 200
        assert status(stack, rotated).status_code == 200
        assert status(stack, TOKEN).status_code == 401, "two rotations ago: refused"
    finally:
        secrets.put_secret_value(SecretId=arn, SecretString=TOKEN)
    assert status(stack, TOKEN).status_code == 200


def test_invalidations_are_throttled_per_dataset_with_retry_after(stack: EmbeddedStack) -> None:
    # Other tests spend some of this minute's allowance; keep going until refused (a
    # minute boundary may reset the count once on the way).
    refused = None
    for _ in range(2 * LIMIT + 2):
        answer = invalidate(stack, "dataset=drivers_by_state")
        if answer.status_code == 429:
            refused = answer
            break
        assert answer.status_code == 202
    assert refused is not None, "never throttled"
    assert refused.headers["Cache-Control"] == "no-store"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    assert "drivers_by_state" in refused.json()["error"]["message"]

    counters = aws(stack, "dynamodb").scan(
        TableName=CACHE_TABLE,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": "t#drivers_by_state#"}},
    )["Items"]
    counts = [int(item["n"]["N"]) for item in counters]
    assert max(counts) == LIMIT and all(n <= LIMIT for n in counts)
    assert all("expires_at" in item for item in counters)
    assert invalidate(stack, "dataset=drivers").status_code == 202, "other datasets are not held"


def test_the_cache_status_reports_generations_invalidations_and_freshness(
    stack: EmbeddedStack,
) -> None:
    invalidate(stack, "dataset=drivers")
    answer = status(stack)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert [d["dataset"] for d in body["datasets"]] == ["drivers", "drivers_by_state"]
    drivers = body["datasets"][0]
    assert drivers["route"] == "/v1/drivers" and drivers["generation"] >= 1
    assert drivers["invalidated_by"] == token_id(TOKEN, "current")
    assert drivers["invalidated_at"] is not None
    assert drivers["freshness"] == {"ttl_seconds": 300, "stale_seconds": 3600}
    assert body["invalidations_per_minute"] == LIMIT
    assert body["edge"] == {"distribution_configured": True}


def test_unknown_methods_and_bad_requests_are_clean_4xx(stack: EmbeddedStack) -> None:
    wrong_method = get(stack, "/admin/invalidate", **{HEADER: TOKEN})
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"
    assert requests.post(f"{stack.url}/admin/cache", timeout=30).status_code == 405
    assert requests.post(f"{stack.url}/admin/nothing", timeout=30).status_code == 404
    unknown = invalidate(stack, "dataset=nope")
    assert unknown.status_code == 404 and unknown.headers["Cache-Control"] == "no-store"
    bad = invalidate(stack, "dataset=drivers&year=abcd")
    assert bad.status_code == 400 and bad.json()["error"]["parameter"] == "year"


def test_an_admin_token_on_a_data_route_changes_nothing(stack: EmbeddedStack) -> None:
    path = "/v1/drivers?state=Alaska&year=2014"
    plain = get(stack, path)
    with_token = get(stack, path, **{HEADER: TOKEN})
    assert with_token.status_code == plain.status_code == 200
    assert with_token.content == plain.content
    assert with_token.headers["ETag"] == plain.headers["ETag"]
    assert with_token.headers["Cache-Status"].startswith("lakegate; hit")
    assert with_token.headers["Cache-Control"] == plain.headers["Cache-Control"]
    assert HEADER not in with_token.headers.get("Vary", "").lower()


def test_the_token_never_reaches_a_log_and_every_action_is_audited(
    stack: EmbeddedStack,
    lakegate_log: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    secrets = aws(stack, "secretsmanager")
    assert stack.admin is not None
    rotated = "e2e-admin-token-rotated-for-logs"
    wrong = "e2e-wrong-token-that-must-not-be-logged"
    headers = {"X-Forwarded-For": "192.0.2.1, 203.0.113.9"}
    try:
        secrets.put_secret_value(SecretId=stack.admin.secret_arn, SecretString=rotated)
        flow = [
            ("POST", "/admin/invalidate?dataset=drivers&state=Texas", rotated),
            ("POST", "/admin/invalidate?dataset=drivers", TOKEN),  # the previous version
            ("POST", "/admin/invalidate?all=true", wrong),
            ("GET", "/admin/cache", rotated),
            ("GET", "/admin/cache", None),
            ("POST", "/admin/invalidate?dataset=drivers&bogus=1", rotated),
        ]
        codes = []
        for method, path, token in flow:
            sent = {**headers, **({HEADER: token} if token else {})}
            codes.append(
                requests.request(method, f"{stack.url}{path}", headers=sent, timeout=30).status_code
            )
        get(stack, "/v1/drivers?state=Texas&year=2015", **{HEADER: rotated})
    finally:
        secrets.put_secret_value(SecretId=stack.admin.secret_arn, SecretString=TOKEN)
    assert codes == [202, 202, 401, 200, 401, 400]

    lines = [orjson.loads(line) for line in lakegate_log.getvalue().splitlines()]
    audits = [line["audit"] for line in lines if line.get("message") == "admin audit"]
    assert [(a["action"], a["outcome"]) for a in audits] == [
        ("invalidate", "ok"),
        ("invalidate", "ok"),
        ("invalidate", "unauthorized"),
        ("status", "ok"),
        ("status", "unauthorized"),
        ("invalidate", "bad_request"),
    ], "one line per admin request, none for the data request"
    first = audits[0]
    assert first["who"] == token_id(rotated, "current")
    assert audits[1]["who"] == token_id(TOKEN, "previous")
    assert audits[2]["who"] is None
    assert first["source_ip"] == "203.0.113.9" and first["peer_ip"] == "127.0.0.1"
    assert first["scope"] == "query" and first["datasets"] == ["drivers"]
    assert first["edge"] == "created" and first["invalidation_id"]
    assert first["at"] and first["request_id"]
    assert all(line.get("function_request_id") for line in lines if "audit" in line)

    everything = lakegate_log.getvalue() + "".join(capfd.readouterr()) + caplog.text
    for secret in (TOKEN, rotated, wrong):
        assert secret not in everything
