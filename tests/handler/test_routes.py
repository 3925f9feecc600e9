"""Routes: a path that is a route, asked with a method it does not answer, is a JSON 405."""

from __future__ import annotations

import orjson
import pytest

from handler.catalogue import load_catalogue
from handler.errors import ConfigurationError
from handler.routes import create_app
from handler.unconfigured import Unconfigured
from local.function_url import LocalContext, build_event

CATALOGUE = load_catalogue()
APP = create_app(CATALOGUE, Unconfigured(ConfigurationError("routes only")).surface(CATALOGUE))


def ask(method: str, target: str) -> dict[str, object]:
    event = build_event(method, target, [], b"", "127.0.0.1", "req-1")
    return APP.resolve(event, LocalContext("req-1", 30.0))


@pytest.mark.parametrize(
    ("method", "target", "allow"),
    [
        ("DELETE", "/v1/drivers?state=Ohio", "GET, HEAD"),
        ("POST", "/v1/crashes", "GET, HEAD"),
        ("BREW", "/v1/drivers", "GET, HEAD"),
        ("PUT", "/healthz", "GET"),
        ("GET", "/admin/invalidate", "POST"),
    ],
)
def test_another_method_on_a_route_is_a_405_naming_the_route_s_methods(
    method: str, target: str, allow: str
) -> None:
    answer = ask(method, target)
    assert answer["statusCode"] == 405
    headers = answer["headers"]
    assert isinstance(headers, dict)
    assert headers["Allow"] == allow and headers["Cache-Control"] == "no-store"
    error = orjson.loads(str(answer["body"]))["error"]
    assert error["code"] == "method_not_allowed" and error["request_id"] == "req-1"
    assert allow in error["message"]


@pytest.mark.parametrize("method", ["GET", "BREW"])
def test_a_path_that_is_no_route_is_still_a_404(method: str) -> None:
    answer = ask(method, "/v1/nowhere")
    assert answer["statusCode"] == 404
    assert orjson.loads(str(answer["body"]))["error"]["code"] == "not_found"
