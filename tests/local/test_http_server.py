"""The HTTP/1.1 server base, spoken to over a raw socket so that framing is what is tested."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from local.http_server import HttpServer, Request, Response


def echo(request: Request) -> Response:
    if request.target == "/crash":
        raise RuntimeError("a bug in the app")
    if request.target == "/page":
        return Response(200, [("Content-Type", "text/plain")], b"one page for GET and HEAD\n")
    if request.target == "/not-modified":
        return Response(304, [("ETag", '"v1"')], b"a body a 304 must not carry")
    described = {
        "method": request.method,
        "target": request.target,
        "body": request.body.decode(),
        "host": request.header("host"),
        "server_host": request.server_host,
        "x_repeat": [v for n, v in request.headers if n.lower() == "x-repeat"],
    }
    headers = [("Content-Type", "application/json"), ("Content-Length", "999")]
    return Response(200, headers, json.dumps(described).encode())


@pytest.fixture
def server() -> Iterator[HttpServer]:
    running = HttpServer(("127.0.0.1", 0), echo).start()
    yield running
    running.stop()


def address(server: HttpServer) -> tuple[str, int]:
    """Where the server listens (socketserver types the host as str or bytes; IPv4 gives str)."""
    host, port = server.server_address[:2]
    assert isinstance(host, str)
    return host, port


@pytest.fixture
def connection(server: HttpServer) -> Iterator[socket.socket]:
    with socket.create_connection(address(server), timeout=10) as sock:
        yield sock


def send(sock: socket.socket, method: str, target: str, *lines: str, body: bytes = b"") -> None:
    head = "\r\n".join([f"{method} {target} HTTP/1.1", "Host: test.invalid", *lines])
    sock.sendall(f"{head}\r\n\r\n".encode() + body)


def receive(reader: BinaryIO, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One response off the connection: status, headers (lower-cased names), body."""
    status_line = reader.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b"" if head else reader.read(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


def closed(reader: BinaryIO) -> bool:
    """True once the server closes; a connection left open fails on the socket timeout."""
    return reader.read() == b""


def test_requests_share_one_kept_alive_connection(connection: socket.socket) -> None:
    reader = connection.makefile("rb")
    for n in range(3):
        send(connection, "GET", f"/v1/drivers?n={n}")
        status, headers, body = receive(reader)
        assert status == 200
        assert json.loads(body)["target"] == f"/v1/drivers?n={n}"
        assert "connection" not in headers


def test_the_server_frames_the_response_itself(connection: socket.socket) -> None:
    send(connection, "GET", "/")
    _, headers, body = receive(connection.makefile("rb"))
    assert headers["content-length"] == str(len(body)) != "999"
    assert headers["content-type"] == "application/json"
    assert {"server", "date"} <= set(headers)


def test_head_has_the_get_headers_and_no_body(connection: socket.socket) -> None:
    reader = connection.makefile("rb")
    send(connection, "GET", "/page")
    _, get_headers, get_body = receive(reader)
    send(connection, "HEAD", "/page")
    status, head_headers, _ = receive(reader, head=True)
    assert status == 200
    assert head_headers["content-length"] == str(len(get_body))
    assert head_headers.keys() == get_headers.keys()
    # No byte of the body followed the headers: the next response starts right after them.
    send(connection, "GET", "/after")
    _, _, after = receive(reader)
    assert json.loads(after)["target"] == "/after"


def test_a_304_never_carries_a_body(connection: socket.socket) -> None:
    reader = connection.makefile("rb")
    send(connection, "GET", "/not-modified")
    status, headers, body = receive(reader)
    assert (status, headers["etag"], body) == (304, '"v1"', b"")
    send(connection, "GET", "/after")
    assert receive(reader)[0] == 200


def test_a_content_length_body(connection: socket.socket) -> None:
    send(connection, "POST", "/", "Content-Length: 11", body=b"hello world")
    _, _, body = receive(connection.makefile("rb"))
    assert json.loads(body)["body"] == "hello world"


def test_a_chunked_body_with_extensions_and_trailers(connection: socket.socket) -> None:
    reader = connection.makefile("rb")
    chunked = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: dropped\r\n\r\n"
    send(connection, "POST", "/", "Transfer-Encoding: chunked", body=chunked)
    status, _, body = receive(reader)
    assert status == 200
    assert json.loads(body)["body"] == "hello world"
    send(connection, "GET", "/after")  # the whole body was consumed
    assert json.loads(receive(reader)[2])["target"] == "/after"


def test_chunked_wins_over_content_length(connection: socket.socket) -> None:
    send(
        connection,
        "POST",
        "/",
        "Content-Length: 3",
        "Transfer-Encoding: chunked",
        body=b"2\r\nok\r\n0\r\n\r\n",
    )
    assert json.loads(receive(connection.makefile("rb"))[2])["body"] == "ok"


@pytest.mark.parametrize(
    "framing",
    [
        ["Content-Length: abc"],
        ["Content-Length: -1"],
        ["Content-Length: +4"],
        ["Content-Length: 1_0"],
        ["Content-Length: 4", "Content-Length: 5"],
        ["Transfer-Encoding: gzip"],
        ["Transfer-Encoding: gzip, chunked"],
    ],
)
def test_framing_it_cannot_trust_is_a_400_and_a_closed_connection(
    connection: socket.socket, framing: list[str]
) -> None:
    reader = connection.makefile("rb")
    send(connection, "POST", "/", *framing, body=b"body")
    status, headers, _ = receive(reader)
    assert status == 400
    assert headers["connection"] == "close"
    assert closed(reader)


def test_a_bad_chunk_size_is_a_400_and_a_closed_connection(connection: socket.socket) -> None:
    reader = connection.makefile("rb")
    send(connection, "POST", "/", "Transfer-Encoding: chunked", body=b"zz\r\nhello\r\n0\r\n\r\n")
    assert receive(reader)[0] == 400
    assert closed(reader)


@pytest.mark.parametrize(
    ("framing", "body"),
    [
        (["Content-Length: 9"], b"123456789"),
        (["Transfer-Encoding: chunked"], b"5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n"),
    ],
)
def test_a_body_over_the_limit_is_a_413_and_a_closed_connection(
    server: HttpServer, connection: socket.socket, framing: list[str], body: bytes
) -> None:
    server.max_body_bytes = 8
    reader = connection.makefile("rb")
    send(connection, "POST", "/", *framing, body=body)
    assert receive(reader)[0] == 413
    assert closed(reader)


def test_the_app_sees_repeated_headers_and_the_host(connection: socket.socket) -> None:
    send(connection, "GET", "/", "X-Repeat: a", "X-Repeat: b")
    described = json.loads(receive(connection.makefile("rb"))[2])
    assert described["x_repeat"] == ["a", "b"]
    assert described["host"] == "test.invalid"
    assert described["server_host"].startswith("127.0.0.1:")


def test_a_client_asking_to_close_is_answered_then_closed(connection: socket.socket) -> None:
    reader = connection.makefile("rb")
    send(connection, "GET", "/", "Connection: close")
    status, headers, _ = receive(reader)
    assert (status, headers["connection"]) == (200, "close")
    assert closed(reader)


def test_a_crashing_app_is_a_500_and_a_reported_error(
    connection: socket.socket, capsys: pytest.CaptureFixture[str]
) -> None:
    reader = connection.makefile("rb")
    send(connection, "GET", "/crash")
    assert receive(reader)[0] == 500
    assert closed(reader)
    # The traceback is printed before the connection closes.
    assert "RuntimeError: a bug in the app" in capsys.readouterr().err


def test_stop_closes_idle_kept_alive_connections(server: HttpServer) -> None:
    with socket.create_connection(address(server), timeout=10) as sock:
        reader = sock.makefile("rb")
        send(sock, "GET", "/")
        assert receive(reader)[0] == 200
        server.stop()
        assert closed(reader)


def test_a_client_hanging_up_is_not_reported(
    server: HttpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        raise ConnectionResetError("the client went away")
    except ConnectionResetError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""


def test_a_real_error_is_reported(server: HttpServer, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        raise ValueError("a bug")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert "ValueError: a bug" in capsys.readouterr().err


def test_the_url_names_the_bound_port(server: HttpServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("method", ["BREW", "PROPFIND", "purge"])
def test_any_method_reaches_the_app(connection: socket.socket, method: str) -> None:
    send(connection, method, "/anything")
    status, _, body = receive(connection.makefile("rb"))
    assert status == 200 and json.loads(body)["method"] == method


@pytest.mark.parametrize(
    "line",
    [
        b"GET /v1/drivers?state=\xffOhio HTTP/1.1",  # Latin-1, not UTF-8
        b"GET /v1/drivers?state=Qu\xc3\xa9bec HTTP/1.1",  # raw UTF-8: never percent-encoded
        b"GET /v1/drivers?state=Oh\x7fio HTTP/1.1",  # DEL
        b"GET /v1/drivers?state=Oh\x00io HTTP/1.1",  # NUL
        b"GET /health\x01z HTTP/1.1",
        b"G(E)T / HTTP/1.1",  # a method is a token
        b"GET / HTTP/9.9",
    ],
)
def test_a_request_line_http_does_not_allow_is_the_servers_refusal(
    connection: socket.socket, line: bytes
) -> None:
    connection.sendall(line + b"\r\nHost: test.invalid\r\n\r\n")
    reader = connection.makefile("rb")
    status, headers, body = receive(reader)
    assert status in (400, 505)
    assert headers["content-type"] == "text/plain" and body.endswith(b"\n")
    assert b"<html" not in body.lower()
    assert closed(reader)


def test_a_server_says_how_it_refuses(connection: socket.socket, server: HttpServer) -> None:
    server.refusal = lambda status, reason: Response(status, [("X-Refused", reason)], b"no")  # type: ignore[method-assign]
    connection.sendall(b"GET /a\x00b HTTP/1.1\r\nHost: test.invalid\r\n\r\n")
    status, headers, body = receive(connection.makefile("rb"))
    assert (status, body) == (400, b"no")
    assert "HTTP does not allow" in headers["x-refused"]
