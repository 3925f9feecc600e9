"""The Function URL stand-in: HTTP in, a payload-2.0 event to a pooled handler, HTTP out."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from local.function_url import FunctionUrlServer

events: list[dict[str, Any]] = []


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    events.append(event)
    path = event["rawPath"]
    if path == "/crash":
        raise RuntimeError("the function crashed")
    if path == "/binary":
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": base64.b64encode(b"\x00\xff").decode(),
            "isBase64Encoded": True,
        }
    return {
        "statusCode": 200,
        "headers": {"content-type": "text/plain", "content-length": "999"},
        "multiValueHeaders": {"x-many": ["a", "b"]},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": f"{event['requestContext']['http']['method']} {path}",
    }


@pytest.fixture(scope="module")
def server() -> Iterator[FunctionUrlServer]:
    running = FunctionUrlServer(("127.0.0.1", 0), max_containers=2).deploy(lambda: handler)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    events.clear()
    with requests.Session() as kept_alive:
        yield kept_alive


def test_a_request_becomes_an_event_and_its_result_a_response(
    server: FunctionUrlServer, session: requests.Session
) -> None:
    response = session.get(f"{server.url}/v1/drivers?state=Maine&year=2001", timeout=10)
    assert response.text == "GET /v1/drivers"
    assert response.headers["Content-Length"] == str(len(response.content))
    assert response.headers["x-many"] == "a, b"
    assert response.cookies.get_dict() == {"a": "1", "b": "2"}
    (event,) = events
    assert event["queryStringParameters"] == {"state": "Maine", "year": "2001"}
    assert response.headers["x-amzn-RequestId"] == event["requestContext"]["requestId"]


def test_a_base64_body_is_decoded(server: FunctionUrlServer, session: requests.Session) -> None:
    assert session.get(f"{server.url}/binary", timeout=10).content == b"\x00\xff"


def test_head_reaches_the_function_and_no_body_comes_back(
    server: FunctionUrlServer, session: requests.Session
) -> None:
    response = session.head(f"{server.url}/page", timeout=10)
    assert response.content == b""
    assert response.headers["Content-Length"] == str(len("HEAD /page"))
    assert events[0]["requestContext"]["http"]["method"] == "HEAD"


def test_a_chunked_body_reaches_the_function(
    server: FunctionUrlServer, session: requests.Session
) -> None:
    session.post(f"{server.url}/admin/invalidate", data=iter([b"{", b"}"]), timeout=10)
    assert events[0]["body"] == "{}"


def test_a_crashing_function_is_a_502(server: FunctionUrlServer, session: requests.Session) -> None:
    response = session.get(f"{server.url}/crash", timeout=10)
    assert response.status_code == 502
    assert response.json() == {"message": "Internal Server Error"}
    # The connection stays usable, and the container went back to the pool.
    assert session.get(f"{server.url}/after", timeout=10).status_code == 200
    assert server.pool.started <= 2


@pytest.mark.parametrize(
    "line", [b"GET /v1/drivers?state=\xffOhio HTTP/1.1", b"GET /v1/drivers?state=O\x00hio HTTP/1.1"]
)
def test_a_request_refused_before_the_function_is_lakegate_s_json_error(
    server: FunctionUrlServer, line: bytes
) -> None:
    events.clear()
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=10) as sock:
        sock.sendall(line + b"\r\nHost: x\r\n\r\n")
        answer = sock.makefile("rb").read()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Type: application/json" in head and b"Cache-Control: no-store" in head
    assert json.loads(body)["error"]["code"] == "malformed_request"
    assert events == [], "no invocation"


def test_concurrent_invocations_each_run_on_a_container_of_their_own() -> None:
    """What Lambda gives each invocation: a container serving nothing else meanwhile."""
    all_inside = threading.Barrier(3, timeout=10)
    lock = threading.Lock()
    busy: set[int] = set()
    overlapped: list[int] = []

    def container() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        me = len(busy) + id(object())

        def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with lock:
                if me in busy:
                    overlapped.append(me)
                busy.add(me)
            all_inside.wait()  # three invocations at once
            with lock:
                busy.discard(me)
            return {"statusCode": 200, "body": str(me)}

        return handle

    running = FunctionUrlServer(("127.0.0.1", 0), max_containers=3).deploy(container)
    running.start()
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            bodies = list(pool.map(lambda _: requests.get(running.url, timeout=10).text, range(3)))
    finally:
        running.stop()
    assert len(set(bodies)) == 3 and running.pool.started == 3
    assert overlapped == []
