"""Requests HTTP does not allow, at the origin (the Function URL stand-in) as at the edge (nginx).

A request line with a byte outside visible ASCII (raw Latin-1 or UTF-8, DEL, NUL, a
control) is a JSON 400 and a method a route does not answer a JSON 405 naming the
ones it does: lakegate's error shape, never an HTML page, never a 200.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from local.edge import Edge
from local.emulator import EmulatorConfig
from local.nginx_config import EdgeConfig
from local.stack import EmbeddedStack, StackConfig


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> dict[str, str]:
        detail: dict[str, str] = json.loads(self.body)["error"]
        return detail


@pytest.fixture(scope="module")
def targets(nginx: str) -> Iterator[dict[str, str]]:
    config = StackConfig(port=0, emulator=EmulatorConfig(port=0, latency_ms=5), admin=False)
    with EmbeddedStack(config) as stack, Edge(EdgeConfig(origin_url=stack.url)) as edge:
        yield {"origin": stack.url, "edge": edge.url}


def raw(url: str, line: bytes) -> Answer:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(line + b"\r\nHost: lakegate.test\r\nConnection: close\r\n\r\n")
        answer = sock.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    headers = {n.strip().lower(): v.strip() for n, _, v in (f.partition(":") for f in fields)}
    return Answer(int(status_line.split()[1]), headers, body)


WHERE = ["origin", "edge"]


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize(
    "line",
    [
        b"GET /v1/drivers?state=Cal\x7fifornia&year=2016 HTTP/1.1",
        b"GET /v1/drivers?state=Cal\x00ifornia&year=2016 HTTP/1.1",
        b"GET /v1/drivers?state=\xffCalifornia&year=2016 HTTP/1.1",
        b"GET /v1/dri\xffvers?year=2016 HTTP/1.1",
        b"GET /healthz\x01 HTTP/1.1",
    ],
    ids=["DEL", "NUL", "latin-1-in-query", "latin-1-in-path", "control"],
)
def test_a_request_line_http_does_not_allow_is_a_json_400(
    targets: dict[str, str], where: str, line: bytes
) -> None:
    answer = raw(targets[where], line)
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "no-store"
    # The edge's gateway names the parameter whose value is not UTF-8; nginx and the
    # origin refuse the request line itself.
    assert answer.error()["code"] in ("malformed_request", "malformed_parameter")


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize(
    ("line", "allow"),
    [
        (b"FOO /v1/drivers?state=California&year=2016 HTTP/1.1", "GET, HEAD"),
        (b"DELETE /v1/drivers HTTP/1.1", "GET, HEAD"),
        (b"POST /healthz HTTP/1.1", "GET"),
    ],
)
def test_a_method_a_route_does_not_answer_is_a_json_405(
    targets: dict[str, str], where: str, line: bytes, allow: str
) -> None:
    answer = raw(targets[where], line + b"\r\nContent-Length: 0")
    assert answer.status == 405
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.error()["code"] == "method_not_allowed"
    # The edge also answers CORS preflights on data routes (CloudFront's allowed methods).
    assert answer.headers["allow"].startswith(allow)


@pytest.mark.parametrize("where", WHERE)
def test_an_admin_route_answers_its_own_methods_at_both(
    targets: dict[str, str], where: str
) -> None:
    answer = raw(targets[where], b"BREW /admin/cache HTTP/1.1")
    assert answer.status == 405 and answer.headers["allow"] == "GET"
