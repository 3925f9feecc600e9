"""The HTTP plumbing (standard library only) and the Emulator that ties the parts together."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import duckdb

from local.emulator.api import Context, Request, handle
from local.emulator.config import EmulatorConfig, Faults
from local.emulator.engine import Engine
from local.sample_data import load_into


class EmulatorServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers open connections so stop() can close idle keep-alives."""

    request_queue_size = 128  # the load test opens many connections at once
    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: Context) -> None:
        super().__init__(address, Handler)
        self.context = context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

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
        # A client that hangs up mid-response (load test timeouts, stop()) is not a bug.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # Wakes handler threads blocked reading an idle keep-alive connection.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: lakegate reuses one session per process
    # Headers and body leave in separate writes; with Nagle on, the client's delayed ACK
    # adds ~40 ms to every response.
    disable_nagle_algorithm = True
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown test and load-test output

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_error(400, "Bad Content-Length")  # cannot frame the body: drop the connection
            return
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        request = Request(
            method=method,
            path=urlsplit(self.path).path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            base_url=f"http://{host}",
        )
        status, payload, headers = handle(self.server.context, request)
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class Emulator:
    """A running emulator: Emulator(config).start() ... .stop(), or a `with` block."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.faults = Faults(self.config.faults, seed=self.config.seed)
        self._database: duckdb.DuckDBPyConnection | None = None
        self._engine: Engine | None = None
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Emulator:
        """Load the sample data, bind the port and serve on a background thread."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        database = duckdb.connect()
        # Databricks sessions default to UTC; the setting is global so cursors inherit it.
        database.execute("SET GLOBAL TimeZone = 'UTC'")
        load_into(database)
        engine = Engine(database, self.config, self.faults)
        server = EmulatorServer(
            (self.config.host, self.config.port), Context(self.config, self.faults, engine)
        )
        self._database, self._engine, self._server = database, engine, server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="emulator-http",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (the port is known once started)."""
        host, port = self._running_server().server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("emulator not started")
        return self._engine

    def stats(self) -> dict[str, Any]:
        """Same JSON as GET /__emulator/stats, minus the faults."""
        return self.engine.stats()

    def reset(self) -> None:
        """Same as POST /__emulator/reset: forget statements, zero counters, clear faults."""
        self.engine.reset()
        self.faults.clear()

    def stop(self) -> None:
        """Cancel running statements, stop serving and free the port; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self.engine.close()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._database is not None:
            self._database.close()

    def __enter__(self) -> Emulator:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _running_server(self) -> EmulatorServer:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server
