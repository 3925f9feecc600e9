"""The Emulator: sample data in DuckDB, the engine, and the API served over local.http_server."""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Self
from urllib.parse import urlsplit

import duckdb

from local import http_server
from local.emulator.api import Answer, Context, Request, handle
from local.emulator.config import EmulatorConfig, Faults
from local.emulator.distortions import broken
from local.emulator.engine import Engine
from local.emulator.storage import Download, Storage
from local.emulator.translate import register_functions
from local.running import Running
from local.sample_data import load_into

MAX_BODY_BYTES = 32 * 1024 * 1024


def respond(context: Context, request: http_server.Request) -> http_server.Response:
    """One HTTP exchange: the API's status, JSON body and headers."""
    # HEAD is GET without the body, which the server drops.
    method = "GET" if request.method == "HEAD" else request.method
    target = urlsplit(request.target)
    answer = handle(
        context,
        Request(
            method=method,
            path=target.path,
            headers={name.lower(): value for name, value in request.headers},
            body=request.body,
            base_url=f"http://{request.header('Host') or request.server_host}",
            query=target.query,
        ),
    )
    response = _response(answer)
    how = context.faults.take_broken_answer(answer.route)
    if how is None:
        return response
    return broken(response, how, context.faults.current().drip_ms)


def _response(answer: Answer) -> http_server.Response:
    status, payload, headers = answer.status, answer.body, answer.headers
    if isinstance(payload, Download):
        return http_server.Response(
            status, [("Content-Type", payload.content_type), *headers.items()], payload.body
        )
    if isinstance(payload, bytes):  # a fault's non-JSON body, as a proxy would send it
        return http_server.Response(
            status, [("Content-Type", "text/html"), *headers.items()], payload
        )
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return http_server.Response(
        status, [("Content-Type", "application/json"), *headers.items()], data
    )


class Emulator(Running):
    """A running emulator: Emulator(config).start() ... .stop(), or a `with` block."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.faults = Faults(self.config.faults, seed=self.config.seed)
        self._database: duckdb.DuckDBPyConnection | None = None
        self._engine: Engine | None = None
        self._server: http_server.HttpServer | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        """Load the sample data, bind the port and serve on a background thread."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        database = duckdb.connect()
        # Databricks sessions default to UTC; the setting is global so cursors inherit it.
        database.execute("SET GLOBAL TimeZone = 'UTC'")
        register_functions(database)
        load_into(database)
        engine = Engine(database, self.config, self.faults)
        context = Context(self.config, self.faults, engine, Storage(self.config.link_ttl_s))
        server = http_server.HttpServer(
            (self.config.host, self.config.port), partial(respond, context)
        )
        # Room for a statement just over the API's 16 MiB, so the API (400), not the
        # transport (413), is what refuses it.
        server.max_body_bytes = MAX_BODY_BYTES
        self._database, self._engine, self._server = database, engine, server
        server.start(name="emulator-http")
        return self

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (the port is known once started)."""
        return self._running_server().url

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
        self.faults.release()  # stalled executes answer, so their threads end
        self.engine.close()  # and so do executes waiting on a statement
        server.stop()
        self.engine.close()  # a statement submitted meanwhile lets go of the database too
        if self._database is not None:
            self._database.close()

    def _running_server(self) -> http_server.HttpServer:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server
