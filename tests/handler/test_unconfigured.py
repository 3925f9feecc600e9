"""A container whose settings failed still starts: health and the document answer, and
every data and admin route is the one 503 `not_configured`, naming no setting's value."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from cache import CountingRecorder
from handler.catalogue import load_catalogue
from handler.container import new_container
from handler.errors import ConfigurationError
from handler.refresh import RefreshOrder
from handler.unconfigured import Unconfigured
from local.function_url import LocalContext, build_event

SECRET_DETAIL = "databricks credentials secret holds its placeholder"
HANDLE = new_container(
    load_catalogue(), Unconfigured(ConfigurationError(SECRET_DETAIL)), CountingRecorder()
)


def call(method: str, target: str, *headers: tuple[str, str]) -> dict[str, Any]:
    event = build_event(method, target, list(headers), b"", "127.0.0.1", "req-1")
    return HANDLE(event, LocalContext("req-1", 30.0))


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/v1/drivers?state=Ohio&year=2016"),
        ("HEAD", "/v1/drivers"),
        ("GET", "/v1/crashes?group_by=state&measures=total_crashes"),
        ("GET", "/v1/drivers?no_such=parameter"),  # not even parsed: nothing to parse with
        ("POST", "/admin/invalidate?all=true"),
        ("GET", "/admin/cache"),
    ],
)
def test_every_data_and_admin_route_answers_503_not_configured(method: str, target: str) -> None:
    answer = call(method, target, ("x-lakegate-admin-token", "any"), ("x-api-key", "lk_any"))
    assert answer["statusCode"] == 503
    assert answer["headers"]["Cache-Control"] == "no-store"
    if method != "HEAD":
        error = orjson.loads(answer["body"])["error"]
        assert error["code"] == "not_configured" and error["request_id"] == "req-1"
        assert SECRET_DETAIL not in answer["body"]


@pytest.mark.parametrize("target", ["/healthz", "/swagger?format=json"])
def test_health_and_the_document_still_answer(target: str) -> None:
    assert call("GET", target)["statusCode"] == 200


def test_a_refresh_order_finds_nothing_to_refresh() -> None:
    order = RefreshOrder("/v1/drivers", "state=Ohio", None, "owner-1")
    assert HANDLE(order.event(), LocalContext("req-2", 30.0)) == {"refreshed": None}
