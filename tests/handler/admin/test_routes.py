"""The admin routes in process, on the in-memory store and a fake CloudFront.

The same flows over real HTTP, moto and the emulator are in tests/e2e/test_admin.py;
here are the narrow rules: order of checks, parameter validation, throttle, edge
failure, and what the audit line says.
"""

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr

from cache.entry import Entry
from cache.memory import MemoryCacheStore
from handler.admin.auth import TokenVerifier, token_id
from handler.admin.edge import EdgeInvalidator
from handler.admin.routes import Admin as AdminWiring
from handler.admin.targets import query_keys
from handler.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from handler.consumers import EdgeAsserted
from handler.container import Wiring
from handler.routes import create_app
from handler.serving import Gate
from handler.settings import AdminSettings, Settings, WarehouseSettings
from local.function_url import LocalContext, build_event

TOKEN = "the-current-admin-token-3f9a"
OLD_TOKEN = "the-previous-admin-token-77c1"


class FakeCloudFront:
    def __init__(self) -> None:
        self.batches: list[dict[str, Any]] = []
        self.failure: str | None = None

    def create_invalidation(self, **request: Any) -> dict[str, Any]:
        if self.failure is not None:
            raise ClientError({"Error": {"Code": self.failure}}, "CreateInvalidation")
        self.batches.append(request)
        return {"Invalidation": {"Id": f"I{len(self.batches)}", "Status": "InProgress"}}


class Admin:
    """One in-process lakegate with admin routes, and handles on its collaborators."""

    def __init__(self, *, limit: int = 3, distribution: str | None = "E123", enabled: bool = True):
        self.catalogue: Catalogue = load_catalogue(DEFAULT_CATALOGUE)
        self.store = MemoryCacheStore()
        self.cloudfront = FakeCloudFront()
        versions = {"AWSCURRENT": TOKEN, "AWSPREVIOUS": OLD_TOKEN}
        # endpoint_url and region are their defaults (None), spelled out: the pydantic mypy
        # plugin does not see a default given inside Annotated[..., Field(default=None)].
        settings = AdminSettings(
            token_secret_arn="arn:local",
            invalidations_per_minute=limit,
        )
        admin = AdminWiring(
            settings,
            TokenVerifier(versions.get, cache_seconds=60),
            EdgeInvalidator(lambda: self.cloudfront, lambda: distribution),  # type: ignore[arg-type,return-value]
            self.store,
        )
        warehouse = WarehouseSettings(
            host="http://127.0.0.1:1", warehouse_id="w", token=SecretStr("t")
        )
        wiring = Wiring(
            Settings(warehouse=warehouse, admin=settings),
            warehouse=None,  # type: ignore[arg-type]
            results=None,  # type: ignore[arg-type]
            admin=admin if enabled else None,
            gate=Gate(EdgeAsserted(), require_keys=False, statements=None),
        )
        self.app = create_app(self.catalogue, wiring.surface(self.catalogue))

    def call(self, method: str, target: str, token: str | None = TOKEN, **headers: str) -> Any:
        sent = [(k, v) for k, v in headers.items()]
        if token is not None:
            sent.append(("X-Lakegate-Admin-Token", token))
        event = build_event(method, target, sent, b"", "198.51.100.7", "req-1")
        return Response(self.app.resolve(event, LocalContext("req-1", 30.0)))


class Response:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.status: int = raw["statusCode"]
        self.headers: dict[str, str] = raw.get("headers") or {}
        self.json: Any = orjson.loads(raw["body"]) if raw.get("body") else None


@pytest.fixture
def admin() -> Admin:
    return Admin()


@pytest.fixture
def audit_lines() -> Iterator[io.StringIO]:
    """Everything the lakegate logger writes, formatted exactly as in Lambda."""
    import handler.container  # noqa: F401  (sets up the "lakegate" logger and its formatter)

    lakegate = logging.getLogger("lakegate")
    captured = io.StringIO()
    stream = logging.StreamHandler(captured)  # not `handler`: the import above binds that name
    stream.setFormatter(lakegate.handlers[0].formatter)
    lakegate.addHandler(stream)
    yield captured
    lakegate.removeHandler(stream)


def audits(captured: io.StringIO) -> list[dict[str, Any]]:
    lines = [orjson.loads(line) for line in captured.getvalue().splitlines() if line]
    return [line["audit"] for line in lines if line.get("message") == "admin audit"]


def test_a_dataset_invalidation_bumps_the_generation_and_purges_the_edge(admin: Admin) -> None:
    answer = admin.call("POST", "/admin/invalidate?dataset=drivers")
    assert answer.status == 202 and answer.headers["Cache-Control"] == "no-store"
    assert answer.json["datasets"] == [{"dataset": "drivers", "generation": 1}]
    assert answer.json["edge"] == {
        "status": "created",
        "paths": ["/v1/drivers*"],
        "distribution_id": "E123",
        "invalidation_id": "I1",
    }
    info = admin.store.generation("drivers")
    assert info.invalidated_by == token_id(TOKEN, "current")
    (batch,) = admin.cloudfront.batches
    assert batch["DistributionId"] == "E123"
    assert batch["InvalidationBatch"]["Paths"] == {"Quantity": 1, "Items": ["/v1/drivers*"]}


def test_a_cloudfront_failure_still_answers_202_because_the_origin_is_fresh(
    admin: Admin,
) -> None:
    admin.cloudfront.failure = "TooManyInvalidationsInProgress"
    answer = admin.call("POST", "/admin/invalidate?dataset=drivers")
    assert answer.status == 202
    assert answer.json["edge"]["status"] == "failed"
    assert "TooManyInvalidationsInProgress" in answer.json["edge"]["reason"]
    assert admin.store.generation("drivers").generation == 1


def test_without_a_distribution_the_edge_is_skipped_and_says_why() -> None:
    answer = Admin(distribution=None).call("POST", "/admin/invalidate?all=true")
    assert answer.status == 202
    assert answer.json["edge"] == {
        "status": "skipped",
        "paths": ["/v1/drivers*", "/v1/crashes*"],
        "reason": "no distribution configured",
    }


def entry(key: str) -> Entry:
    return Entry(key, 0, b"x", "application/json", '"e"', 0, 10**15, 10**15, 1, False)


def test_a_single_query_drops_both_formats_of_that_query_only(admin: Admin) -> None:
    drivers = admin.catalogue.datasets[0]
    _, (json_key, csv_key) = query_keys(drivers, [("state", "Maine"), ("year", "2001")], 1)
    _, (other_key, _) = query_keys(drivers, [("state", "Maine"), ("year", "2002")], 1)
    for key in (json_key, csv_key, other_key):
        admin.store.put(entry(key))
    answer = admin.call("POST", "/admin/invalidate?dataset=drivers&year=2001&state=MAINE")
    assert answer.status == 202
    assert answer.json["scope"] == "query"
    assert answer.json["query"]["filters"] == {"state": "maine", "year": 2001}
    assert answer.json["keys"] == [json_key, csv_key]
    assert set(admin.store.slots) == {other_key}
    assert admin.store.generation("drivers").generation == 0, "the dataset stays cached"
    assert "single query string" in answer.json["note"]


def test_a_single_query_with_a_format_drops_that_format_only(admin: Admin) -> None:
    answer = admin.call("POST", "/admin/invalidate?dataset=drivers&state=Maine&format=csv")
    assert answer.json["query"]["formats"] == ["csv"] and len(answer.json["keys"]) == 1


@pytest.mark.parametrize(
    ("target", "status", "parameter"),
    [
        ("/admin/invalidate", 400, "dataset"),
        ("/admin/invalidate?dataset=", 400, "dataset"),
        ("/admin/invalidate?all=yes", 400, "all"),
        ("/admin/invalidate?all=true&dataset=drivers", 400, "all"),
        ("/admin/invalidate?all=true&state=Maine", 400, "state"),
        ("/admin/invalidate?dataset=drivers&dataset=drivers", 400, "dataset"),
        ("/admin/invalidate?dataset=drivers&bogus=1", 400, "bogus"),
        ("/admin/invalidate?dataset=drivers&year=16", 400, "year"),
        ("/admin/invalidate?dataset=drivers&state=", 400, "state"),
        ("/admin/invalidate?dataset=nope", 404, None),
    ],
)
def test_invalid_requests_are_refused_before_anything_is_dropped_or_counted(
    admin: Admin, target: str, status: int, parameter: str | None
) -> None:
    answer = admin.call("POST", target)
    assert answer.status == status
    assert answer.json["error"].get("parameter") == parameter
    assert admin.store.invalidations == {} and admin.store.generations == {}
    assert admin.cloudfront.batches == []


@pytest.mark.parametrize(
    "target", ["/admin/invalidate?all=maybe", "/admin/invalidate?dataset=nope", "/admin/cache"]
)
@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + " "])
def test_the_token_is_checked_first_and_every_refusal_is_the_same(
    admin: Admin, target: str, token: str | None
) -> None:
    method = "GET" if target == "/admin/cache" else "POST"
    answer = admin.call(method, target, token=token)
    assert answer.status == 401
    assert answer.json == {
        "error": {
            "code": "unauthorized",
            "message": "Missing or invalid admin token.",
            "request_id": "req-1",
        }
    }
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_previous_token_works_during_a_rotation(admin: Admin) -> None:
    assert admin.call("GET", "/admin/cache", token=OLD_TOKEN).status == 200


def test_disabled_admin_routes_do_not_exist() -> None:
    answer = Admin(enabled=False).call("POST", "/admin/invalidate?dataset=drivers")
    assert answer.status == 404 and answer.json["error"]["message"] == "No such route."


@pytest.mark.parametrize(
    ("method", "target", "allow"),
    [("GET", "/admin/invalidate", "POST"), ("DELETE", "/admin/cache", "GET")],
)
def test_other_methods_are_405s_naming_the_route_s_own(
    admin: Admin, method: str, target: str, allow: str
) -> None:
    answer = admin.call(method, target)
    assert answer.status == 405 and answer.json["error"]["code"] == "method_not_allowed"
    assert allow in answer.json["error"]["message"]


def test_other_paths_are_404s(admin: Admin) -> None:
    assert admin.call("POST", "/admin/nothing").status == 404


def test_invalidations_are_throttled_per_dataset_and_minute() -> None:
    admin = Admin(limit=2)
    assert [admin.call("POST", "/admin/invalidate?dataset=drivers").status for _ in range(2)] == [
        202,
        202,
    ]
    refused = admin.call("POST", "/admin/invalidate?dataset=drivers")
    assert refused.status == 429 and refused.json["error"]["code"] == "throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert admin.call("POST", "/admin/invalidate?all=true").status == 429, "all counts too"
    assert admin.store.generation("drivers").generation == 2
    assert len(admin.cloudfront.batches) == 2


def test_the_status_route_reports_generations_and_freshness(admin: Admin) -> None:
    admin.call("POST", "/admin/invalidate?dataset=drivers")
    status = admin.call("GET", "/admin/cache")
    assert status.status == 200 and status.headers["Cache-Control"] == "no-store"
    drivers, crashes = status.json["datasets"]
    assert (drivers["dataset"], crashes["dataset"]) == ("drivers", "crashes")
    assert (drivers["generation"], crashes["generation"]) == (1, 0)
    assert drivers["invalidated_by"] == token_id(TOKEN, "current")
    assert drivers["invalidated_at"].endswith("+00:00")
    assert drivers["freshness"] == {"ttl_seconds": 300, "stale_seconds": 3600}
    assert status.json["invalidations_per_minute"] == 3


def test_every_admin_request_writes_one_audit_line(admin: Admin, audit_lines: io.StringIO) -> None:
    admin.call(
        "POST",
        "/admin/invalidate?dataset=drivers",
        **{"X-Forwarded-For": "10.0.0.1, 203.0.113.50"},
    )
    admin.call("POST", "/admin/invalidate?dataset=drivers", token="wrong")
    admin.call("POST", "/admin/invalidate?dataset=nope")
    accepted, refused, missing = audits(audit_lines)
    assert accepted["action"] == "invalidate" and accepted["outcome"] == "ok"
    assert accepted["who"] == token_id(TOKEN, "current")
    assert accepted["source_ip"] == "203.0.113.50", "the address CloudFront appended"
    assert accepted["peer_ip"] == "198.51.100.7"
    assert accepted["datasets"] == ["drivers"] and accepted["generations"] == {"drivers": 1}
    assert accepted["edge"] == "created" and accepted["invalidation_id"] == "I1"
    assert accepted["request_id"] == "req-1" and accepted["at"]
    assert refused["outcome"] == "unauthorized" and refused["who"] is None
    assert missing["outcome"] == "not_found" and missing["who"].endswith("/current")
    assert TOKEN not in audit_lines.getvalue()
