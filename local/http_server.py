"""The HTTP/1.1 server under the local stand-ins: the Function URL and the Statement API emulator.

Standard library only (http.server). An app is a function from Request to Response;
this module owns the framing, so each stand-in only says what it answers:

- keep-alive without a stall: http.server writes the headers and the body in two
  sends, and with Nagle's algorithm on, the second waits for the client's delayed
  ACK of the first, ~40 ms on every kept-alive request. A response here leaves in
  one write, on a TCP_NODELAY socket;
- any method reaches the app (the app says which it answers), and HEAD is the app's
  GET answer, its Content-Length, no body;
- a request line HTTP does not allow (a method that is not a token, a target with a
  byte outside visible ASCII: raw UTF-8 or Latin-1, DEL, NUL, controls) is a 400 and a
  closed connection, as every refusal before the app is: its body is the server's
  `refusal` (plain text here; the Function URL stand-in answers lakegate's JSON error);
- request bodies framed by Content-Length or chunked; framing it cannot trust (a
  bad Content-Length, an unknown transfer coding) is a 400 and a closed connection,
  as RFC 9112 section 6.3 asks, and a body over Lambda's 6 MB quota a 413;
- a deep accept backlog (the load tests open many connections at once, and the
  default 5 costs 1 s SYN retries), daemon threads, no per-request log lines, and a
  client hanging up is not an error;
- server_close() also closes idle keep-alive connections, whose threads would
  otherwise wait on them for ever.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The server frames every response itself; an app's own framing headers would lie.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_CONTENT_LENGTH = re.compile(r"[0-9]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(;.*)?\r?\n", re.DOTALL)
_MAX_LINE = 65_536
_MAX_TRAILERS = 100
# RFC 9110 section 5.6.2 (a method is a token); RFC 9112 section 3.2 (a target is visible ASCII).
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TARGET = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query string, as sent
    headers: tuple[tuple[str, str], ...]  # as received: order and repeats kept
    body: bytes
    client_ip: str
    server_host: str  # host:port the server listens on, for requests without a Host

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    # How a stand-in misbehaves in transit (the emulator's fault switches): the body sent
    # one byte at a time, this many seconds apart; or only its first `cut_after` bytes,
    # then the connection reset.
    pace_seconds: float = 0.0
    cut_after: int | None = None


App = Callable[[Request], Response]


class UnreadableBody(Exception):
    """The request body cannot be read safely: answer `status` and close the connection."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class HttpServer(ThreadingHTTPServer):
    """Serves `app` over HTTP/1.1 keep-alive; start() and stop(), or serve_forever()."""

    daemon_threads = True
    request_queue_size = 1024
    # Lambda's request payload quota; also bounds what one request can make us allocate.
    max_body_bytes = 6 * 1024 * 1024

    def __init__(self, address: tuple[str, int], app: App) -> None:
        # Before binding: a port in use makes socketserver call server_close() at once.
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self, poll_interval: float = 0.05) -> None:
        # A short poll makes shutdown() return promptly: stacks stop between tests.
        super().serve_forever(poll_interval)

    def refusal(self, status: int, reason: str) -> Response:
        """The answer to a request refused before the app sees it (framing, request line)."""
        return Response(status, [("Content-Type", "text/plain")], f"{reason}\n".encode())

    def start(self, name: str = "http-server") -> HttpServer:
        """Serve on a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (started with start()), close every connection and free the port."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def server_close(self) -> None:
        super().server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # Wakes the handler threads blocked reading an idle keep-alive connection.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (load-test timeouts, a stopped stack) is not a server bug.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: HttpServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per request would drown test and load-test output

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if not _METHOD.fullmatch(self.command) or not _TARGET.fullmatch(self.path):
            self.send_error(400, "request line holds characters HTTP does not allow")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own refusals (a bad request line or version, headers too long),
        # answered as the app's server answers them rather than as an HTML page.
        self.close_connection = True
        self._send(self.server.refusal(code, message or self.responses.get(code, ("",))[0]))

    def __getattr__(self, name: str) -> Any:
        # http.server looks for do_<METHOD> and answers an HTML 501 when it is missing:
        # every method goes to the app instead.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except UnreadableBody as error:
            self.close_connection = True
            self._send(self.server.refusal(error.status, str(error)))
            return
        host, port = self.server.server_address[:2]
        request = Request(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            client_ip=self.client_address[0],
            server_host=f"{host!s}:{port}",
        )
        try:
            response = self.server.app(request)
        except Exception:
            self.close_connection = True
            self._send(Response(500, [("Content-Type", "text/plain")], b"Internal Server Error\n"))
            raise  # handle_error prints the traceback
        self._send(response)

    def _read_body(self) -> bytes:
        codings = self.headers.get("Transfer-Encoding")
        if codings is not None:
            # Chunked wins over any Content-Length (RFC 9112 section 6.3).
            if [c.strip().lower() for c in codings.split(",")] != ["chunked"]:
                raise UnreadableBody(f"unsupported Transfer-Encoding: {codings}")
            return self._read_chunked()
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not lengths:
            return b""
        length = lengths.pop()
        if lengths or not _CONTENT_LENGTH.fullmatch(length):
            raise UnreadableBody("bad Content-Length")
        return self._read_exactly(int(length), 0)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        received = 0
        while True:
            match = _CHUNK_SIZE.fullmatch(self._read_line())
            if match is None:
                raise UnreadableBody("bad chunk size")
            size = int(match.group(1), 16)
            if size == 0:
                break
            chunks.append(self._read_exactly(size, received))
            received += size
            if self._read_line() not in (b"\r\n", b"\n"):
                raise UnreadableBody("chunk longer than its size")
        for _ in range(_MAX_TRAILERS):  # trailer fields are read and dropped
            if self._read_line() in (b"\r\n", b"\n"):
                return b"".join(chunks)
        raise UnreadableBody("too many trailer fields")

    def _read_line(self) -> bytes:
        line = self.rfile.readline(_MAX_LINE)
        if not line:
            raise ConnectionAbortedError("client hung up mid-body")
        if not line.endswith(b"\n"):
            raise UnreadableBody("line too long in a chunked body")
        return line

    def _read_exactly(self, size: int, received: int) -> bytes:
        """`size` more bytes of a body of which `received` are already read."""
        if received + size > self.server.max_body_bytes:
            raise UnreadableBody(f"body over {self.server.max_body_bytes} bytes", status=413)
        data = self.rfile.read(size)
        if len(data) < size:
            raise ConnectionAbortedError("client hung up mid-body")
        return data

    def _send(self, response: Response) -> None:
        """Status line, headers and body in one write (see the module docstring)."""
        # 1xx, 204 and 304 never carry a body; one sent anyway would desync keep-alive.
        bodiless = response.status < 200 or response.status in (204, 304)
        body = b"" if bodiless else response.body
        reason = self.responses.get(response.status, ("",))[0]
        lines = [
            f"{self.protocol_version} {response.status} {reason}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
        ]
        lines += [f"{n}: {v}" for n, v in response.headers if n.lower() not in FRAMING_HEADERS]
        lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.command == "HEAD":
            self.wfile.write(head)
        elif response.cut_after is not None:
            self.wfile.write(head + body[: response.cut_after])
            self._reset()
        elif response.pace_seconds > 0:
            self.wfile.write(head)
            for offset in range(len(body)):
                time.sleep(response.pace_seconds)
                self.wfile.write(body[offset : offset + 1])
        else:
            self.wfile.write(head + body)

    def _reset(self) -> None:
        """Abort the connection: an RST, as a proxy dying mid-answer sends, not a clean close."""
        self.close_connection = True
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
