"""The edge function through the local edge: nginx's njs, not Node, judges as the origin does.

The same agreement as tests/edge/test_gateway.py (tests/edge/agreement.py), on the
generated catalogue with its 30-filter dataset, but each request goes over HTTP to the
local edge (`local.edge.Edge`: nginx running gateway.js in njs, reading the rules from
the key store file) in front of an origin that echoes the path it was asked for. njs is
another engine (its own regular expressions, its own JSON, an older language): what
holds under Node is proven here again where it runs.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.keys import FileKeyStore
from edge.rules import edge_rules
from handler.catalogue import Catalogue
from handler.consumers import KeyRecord, key_digest
from local.edge import Edge
from local.nginx_config import EdgeConfig
from tests.edge.agreement import judge, requests
from tests.edge.catalogues import ALLOWED_ORIGIN
from tools.bench.wide_catalogue import wide_catalogue

KEY = "njs-key"


class _Echo(BaseHTTPRequestHandler):
    """The origin: 200 with the path (and canonical query) it was asked for."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class LocalEdge:
    catalogue: Catalogue
    rules: dict[str, Any]
    edge: Edge


@pytest.fixture(scope="module")
def local_edge(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEdge]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    keys_file: Path = tmp_path_factory.mktemp("njs") / "keys.json"
    record = KeyRecord(consumer="njs", datasets=("*",), created_at="2026-01-01T00:00:00Z")
    FileKeyStore(keys_file).put(key_digest(KEY), record)
    catalogue = wide_catalogue()
    config = EdgeConfig(
        origin_url=f"http://127.0.0.1:{server.server_port}",
        catalogue=catalogue,
        cors_origins=(ALLOWED_ORIGIN,),
        keys_file=keys_file,
        nginx=nginx,
    )
    try:
        with Edge(config) as edge:
            yield LocalEdge(catalogue, edge_rules(catalogue, cors_origins=(ALLOWED_ORIGIN,)), edge)
    finally:
        server.shutdown()
        server.server_close()


def ask(edge: Edge, batch: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each request as sent (http.client keeps the raw query: a client library would
    re-encode it), answered as gateway_batch.mjs answers: the query sent on, or the error."""
    host, port = edge.url.removeprefix("http://").split(":")
    answers = []
    for route, raw in batch:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request(
                "GET", f"{route}?{raw}" if raw else route, headers={"x-api-key": KEY}
            )
            response = connection.getresponse()
            body = json.loads(response.read())
        finally:
            connection.close()
        if response.status == 200:
            answers.append({"query": body["path"].partition("?")[2]})
        else:
            answers.append({"status": response.status, "error": body["error"]})
    return answers


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_what_the_local_edge_sends_on_the_origin_parses_as_the_request_it_came_from(
    data: st.DataObject, local_edge: LocalEdge
) -> None:
    catalogue, rules = local_edge.catalogue, local_edge.rules
    batch = data.draw(st.lists(requests(rules, catalogue), min_size=15, max_size=15))
    sent_on = judge(catalogue, rules, batch, ask(local_edge.edge, batch))
    for (route, query), again in zip(sent_on, ask(local_edge.edge, sent_on), strict=True):
        assert again == {"query": query}, f"{route}?{query}"
