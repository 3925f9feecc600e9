"""The local edge: nginx's proxy cache configured like the CDK's CloudFront cache policy,
running the edge function (edge/gateway.js) in front of it.

Needs nginx and its njs module (`sudo apt-get install nginx libnginx-mod-http-js`).
Without them these tests are skipped with one line saying how to install them; under
CI=true or LAKEGATE_REQUIRE_EDGE=1 they fail instead. The configuration tests run either way.

Two edges: one in front of the embedded stack (the cache's behaviour on real responses),
one in front of a recording origin that answers everything, to see what reaches it.
"""

import hashlib
import json
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from handler.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from handler.cors import EXPOSE_HEADERS
from local.edge import Edge, EdgeError
from local.emulator import EmulatorConfig
from local.nginx_config import (
    KEYED_CACHE_CONTROL,
    ConfigError,
    EdgeConfig,
    EdgeTtls,
    load_edge_ttls,
    render_config,
    store_path,
    write_modules,
)
from local.stack import EmbeddedStack, StackConfig
from tests.edge.catalogues import ALLOWED_ORIGIN, gateway_document

TTL_SECONDS = 2


@pytest.fixture(scope="module")
def catalogue_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged catalogue with a 2 s freshness window, so staleness is testable."""
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    for dataset in document["datasets"]:
        dataset["freshness"] = {"ttl_seconds": TTL_SECONDS, "stale_seconds": 300}
    path = tmp_path_factory.mktemp("catalogue") / "catalogue.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def edge(nginx: str, catalogue_path: Path) -> Iterator[Edge]:
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=200),
        max_containers=32,
        catalogue_path=catalogue_path,
    )
    with (
        EmbeddedStack(config) as stack,
        Edge(EdgeConfig(origin_url=stack.url, catalogue=load_catalogue(catalogue_path))) as running,
    ):
        yield running


def get(edge: Edge, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{edge.url}{path}", headers=headers, timeout=30)


def edge_status(response: requests.Response) -> str:
    """This cache's member of Cache-Status (the last one, RFC 9211)."""
    return response.headers["Cache-Status"].rsplit(",", 1)[-1].strip()


# --- behaviour ---------------------------------------------------------------


def test_a_repeated_request_is_an_edge_hit(edge: Edge) -> None:
    first = get(edge, "/v1/drivers?state=Maine&year=2001")
    second = get(edge, "/v1/drivers?state=Maine&year=2001")
    assert first.status_code == second.status_code == 200
    assert (
        first.headers["Cache-Status"] == "lakegate; fwd=miss; stored; detail=rollup, edge; fwd=miss"
    )
    assert second.headers["Cache-Status"] == "lakegate; fwd=miss; stored; detail=rollup, edge; hit"
    assert second.headers["X-Cache-Status"] == "HIT"
    assert second.json() == first.json()
    # The origin answered once: the hit carries the first response's request id.
    assert second.headers["x-amzn-RequestId"] == first.headers["x-amzn-RequestId"]


def test_the_key_ignores_parameter_order_and_normalises_the_encoding(edge: Edge) -> None:
    get(edge, "/v1/drivers?state=Iowa&year=2003", **{"Accept-Encoding": "gzip"})
    reordered = get(edge, "/v1/drivers?year=2003&state=Iowa", **{"Accept-Encoding": "gzip, br"})
    identity = get(edge, "/v1/drivers?state=Iowa&year=2003", **{"Accept-Encoding": "identity"})
    assert edge_status(reordered) == "edge; hit"
    assert reordered.headers["Content-Encoding"] == "gzip"
    assert edge_status(identity) == "edge; fwd=miss"
    assert "Content-Encoding" not in identity.headers


def test_accept_is_part_of_the_key(edge: Edge) -> None:
    get(edge, "/v1/drivers?state=Ohio&year=2004")
    csv = get(edge, "/v1/drivers?state=Ohio&year=2004", Accept="text/csv")
    assert edge_status(csv) == "edge; fwd=miss"
    assert csv.headers["Content-Type"].startswith("text/csv")


def test_order_case_and_defaults_make_one_edge_entry(edge: Edge) -> None:
    first = get(edge, "/v1/drivers?year=2007&state=Nevada")
    for variant in ("state=NEVADA&year=2007", "year=2007&limit=1000&state=nevada&offset=0"):
        again = get(edge, f"/v1/drivers?{variant}")
        assert edge_status(again) == "edge; hit", variant
        assert again.headers["x-amzn-RequestId"] == first.headers["x-amzn-RequestId"]
        assert again.json() == first.json()


def test_a_4xx_from_the_origin_is_never_stored(edge: Edge) -> None:
    # The function cannot judge Accept; the origin refuses it with a 406, every time.
    first = get(edge, "/v1/drivers?year=2008", Accept="image/png")
    second = get(edge, "/v1/drivers?year=2008", Accept="image/png")
    assert first.status_code == second.status_code == 406
    assert edge_status(second) == "edge; fwd=miss"
    assert first.headers["x-amzn-RequestId"] != second.headers["x-amzn-RequestId"]


def test_concurrent_misses_collapse_into_one_origin_request(edge: Edge) -> None:
    path = "/v1/drivers?state=Texas&year=2010"
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: get(edge, path), range(20)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.headers["x-amzn-RequestId"] for r in responses}) == 1
    assert sorted(edge_status(r) for r in responses) == ["edge; fwd=miss"] + ["edge; hit"] * 19


def test_if_none_match_is_answered_by_the_edge(edge: Edge) -> None:
    first = get(edge, "/v1/drivers?state=Utah&year=2005")
    revalidated = get(
        edge, "/v1/drivers?state=Utah&year=2005", **{"If-None-Match": first.headers["ETag"]}
    )
    assert revalidated.status_code == 304
    assert edge_status(revalidated) == "edge; hit"


def test_s_maxage_then_stale_while_revalidate(edge: Edge) -> None:
    path = "/v1/drivers?state=Idaho&year=2006"
    assert edge_status(get(edge, path)) == "edge; fwd=miss"
    assert edge_status(get(edge, path)) == "edge; hit"
    time.sleep(TTL_SECONDS + 1.2)  # nginx stores expiry in whole seconds
    stale = get(edge, path)
    assert stale.status_code == 200
    assert edge_status(stale).startswith("edge; hit; detail=stale")
    # The edge's background refresh reached the origin, whose entry was stale too: the
    # origin derived it again from its roll-up (refreshing that in its own background
    # first if it was stale as well), so soon the edge holds a copy the origin made anew.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        refreshed = get(edge, path)
        anew = r"lakegate; (hit; ttl=[0-9]+|fwd=stale; stored; detail=rollup), edge; "
        if re.match(anew, refreshed.headers["Cache-Status"]):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"no refreshed copy; last Cache-Status: {refreshed.headers['Cache-Status']}")


def test_admin_routes_are_never_cached(edge: Edge) -> None:
    first = requests.get(f"{edge.url}/admin/status", timeout=10)
    second = requests.get(f"{edge.url}/admin/status", timeout=10)
    for response in (first, second):
        assert edge_status(response) == "edge; fwd=bypass"
        assert "X-Cache-Status" not in response.headers
    assert first.headers["x-amzn-RequestId"] != second.headers["x-amzn-RequestId"]


# --- the edge function, in front of a recording origin ---------------------------


@dataclass
class RecordingOrigin:
    """Answers every GET with a cacheable 200 (with a CORS header of its own, which the
    edge must replace, and a Cache-Status the edge extends), and remembers each request's
    path and headers."""

    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.seen]

    def last(self) -> tuple[str, dict[str, str]]:
        with self.lock:
            return self.seen[-1]


def recording_server(origin: RecordingOrigin) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with origin.lock:
                origin.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            body = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=0, s-maxage=60")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Status", "recording-origin; fwd=miss")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@dataclass
class Gateway:
    edge: Edge
    origin: RecordingOrigin
    keys_file: Path

    def add_key(self, datasets: list[str], consumer: str = "acme-analytics") -> str:
        key = secrets.token_urlsafe(32)
        store = json.loads(self.keys_file.read_text())
        store[hashlib.sha256(key.encode()).hexdigest()] = {
            "consumer": consumer,
            "datasets": datasets,
            "tier": "standard",
            "created_at": "2026-01-01T00:00:00Z",
        }
        self.write(store)
        return key

    def revoke(self, key: str) -> None:
        store = json.loads(self.keys_file.read_text())
        del store[hashlib.sha256(key.encode()).hexdigest()]
        self.write(store)

    def write(self, store: dict[str, object]) -> None:
        # Replaced whole, as `lakegate keys` does: never a half-written file.
        partial = self.keys_file.with_suffix(".partial")
        partial.write_text(json.dumps(store))
        partial.replace(self.keys_file)


@pytest.fixture(scope="module")
def gateway(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    origin = RecordingOrigin()
    server = recording_server(origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    keys_file = tmp_path_factory.mktemp("keys") / "keys.json"
    keys_file.write_text("{}")
    catalogue = Catalogue.model_validate(gateway_document(ttl_seconds=60))
    config = EdgeConfig(
        origin_url=f"http://127.0.0.1:{server.server_port}",
        catalogue=catalogue,
        cors_origins=(ALLOWED_ORIGIN,),
        keys_file=keys_file,
    )
    try:
        with Edge(config) as running:
            yield Gateway(running, origin, keys_file)
    finally:
        server.shutdown()
        server.server_close()


def test_a_typo_is_refused_at_the_edge_without_reaching_the_origin(gateway: Gateway) -> None:
    before = len(gateway.origin.paths())
    refused = get(gateway.edge, "/v1/drivers?year=2016&stat=California")
    assert refused.status_code == 400
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.json()["error"]["code"] == "unknown_parameter"
    assert refused.json()["error"]["parameter"] == "stat"
    assert len(gateway.origin.paths()) == before


def test_the_origin_gets_the_canonical_query_and_no_viewer_x_lakegate_header(
    gateway: Gateway,
) -> None:
    first = get(gateway.edge, "/v1/drivers?year=2016&state=NEW+YORK&limit=1000")
    path, headers = gateway.origin.last()
    assert path == "/v1/drivers?state=new%20york&year=2016"
    assert first.json() == {"path": path}
    again = get(
        gateway.edge, "/v1/drivers?state=new%20York&year=02016", **{"x-lakegate-consumer": "x"}
    )
    assert edge_status(again) == "edge; hit"
    assert not [name for name in headers if name.startswith("x-lakegate-")]


def test_a_preflight_is_answered_by_the_edge(gateway: Gateway) -> None:
    before = len(gateway.origin.paths())
    preflight = requests.options(
        f"{gateway.edge.url}/v1/permits",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert preflight.headers["Access-Control-Allow-Headers"] == "x-api-key, if-none-match, accept"
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    assert len(gateway.origin.paths()) == before


def test_a_simple_request_from_an_allowed_origin_is_allowed_per_request(gateway: Gateway) -> None:
    allowed = get(gateway.edge, "/v1/drivers?year=2015", Origin=ALLOWED_ORIGIN)
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    exposed = allowed.headers["Access-Control-Expose-Headers"]
    assert exposed == ", ".join(EXPOSE_HEADERS), "the origin's declaration, once"
    assert "origin" in allowed.headers["Vary"].lower()
    # The same cached response, for another origin: the origin's own "*" is hidden.
    other = get(gateway.edge, "/v1/drivers?year=2015", Origin="https://evil.example")
    assert edge_status(other) == "edge; hit"
    assert "Access-Control-Allow-Origin" not in other.headers
    # One Cache-Status, the origin's members then the edge's (RFC 9211), not two headers.
    assert other.raw.headers.getlist("Cache-Status") == ["recording-origin; fwd=miss, edge; hit"]


def test_the_datasets_are_cached_on_the_path_alone_with_cors(gateway: Gateway) -> None:
    first = get(gateway.edge, "/v1?anything=1", Origin=ALLOWED_ORIGIN)
    assert first.status_code == 200
    assert gateway.origin.last()[0] == "/v1", "no query string reaches the origin"
    assert first.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert first.headers["Access-Control-Expose-Headers"] == ", ".join(EXPOSE_HEADERS)
    again = get(gateway.edge, "/v1?other=2", Origin=ALLOWED_ORIGIN)
    assert edge_status(again) == "edge; hit"


def test_admin_routes_are_untouched_by_the_function(gateway: Gateway) -> None:
    get(gateway.edge, "/admin/status?STATE=1&stat=", **{"x-lakegate-consumer": "ops"})
    path, headers = gateway.origin.last()
    assert path == "/admin/status?STATE=1&stat="
    assert headers["x-lakegate-consumer"] == "ops"


def test_a_key_only_dataset_refuses_a_missing_unknown_or_unallowed_key(gateway: Gateway) -> None:
    before = len(gateway.origin.paths())
    drivers_only = gateway.add_key(["drivers"])
    missing = get(gateway.edge, "/v1/permits?year=2016")
    unknown = get(gateway.edge, "/v1/permits?year=2016", **{"x-api-key": secrets.token_urlsafe(32)})
    unallowed = get(gateway.edge, "/v1/permits?year=2016", **{"x-api-key": drivers_only})
    assert (missing.status_code, unknown.status_code, unallowed.status_code) == (401, 401, 403)
    assert missing.json()["error"]["code"] == unknown.json()["error"]["code"] == "unauthorized"
    assert unallowed.json()["error"]["message"] == "This API key may not read dataset 'permits'."
    assert len(gateway.origin.paths()) == before


def test_an_allowed_key_names_its_consumer_to_the_origin_until_revoked(gateway: Gateway) -> None:
    key = gateway.add_key(["permits"], consumer="acme-analytics")
    allowed = get(gateway.edge, "/v1/permits?year=2017", **{"x-api-key": key})
    assert allowed.status_code == 200
    _, headers = gateway.origin.last()
    assert headers["x-lakegate-consumer"] == "acme-analytics"
    assert headers["x-lakegate-tier"] == "standard"
    gateway.revoke(key)
    deadline = time.monotonic() + 5
    while (
        status := get(gateway.edge, "/v1/permits?year=2017", **{"x-api-key": key}).status_code
    ) != 401:
        assert status == 200
        assert time.monotonic() < deadline, "a revoked key is still accepted after 5 s"
        time.sleep(0.1)


def test_a_keyed_answer_is_cached_at_the_edge_and_private_to_viewers(gateway: Gateway) -> None:
    key = gateway.add_key(["permits"])
    before = len(gateway.origin.paths())
    first = get(gateway.edge, "/v1/permits?year=2015", **{"x-api-key": key})
    again = get(gateway.edge, "/v1/permits?year=2015", **{"x-api-key": key})
    assert (first.status_code, again.status_code) == (200, 200)
    assert edge_status(again) == "edge; hit", "the edge keeps it, as the origin says"
    assert len(gateway.origin.paths()) == before + 1
    for answer in (first, again):
        # No shared cache in front of the edge may keep it: only the consumer's browser.
        assert answer.headers["Cache-Control"] == KEYED_CACHE_CONTROL
    public = get(gateway.edge, "/v1/drivers?year=2015")
    again = get(gateway.edge, "/v1/drivers?year=2015")
    assert edge_status(again) == "edge; hit"
    assert (
        public.headers["Cache-Control"]
        == again.headers["Cache-Control"]
        == ("public, max-age=0, s-maxage=60")
    ), "a public dataset's answers say what the origin says, from the cache too"


def test_keyed_routes_are_private_to_viewers_when_keys_are_required() -> None:
    catalogue = Catalogue.model_validate(gateway_document(ttl_seconds=60))
    open_conf = render_config(
        EdgeConfig(origin_url="http://127.0.0.1:9", catalogue=catalogue), Path("/p"), 8081
    )
    assert f'"/v1/permits" "{KEYED_CACHE_CONTROL}";' in open_conf
    assert f'"/v1/drivers" "{KEYED_CACHE_CONTROL}";' not in open_conf
    keyed_conf = render_config(
        EdgeConfig(origin_url="http://127.0.0.1:9", catalogue=catalogue, require_keys=True),
        Path("/p"),
        8081,
    )
    for dataset in catalogue.datasets:
        assert f'"{dataset.route}" "{KEYED_CACHE_CONTROL}";' in keyed_conf


def test_without_its_rules_in_the_store_a_route_is_refused_with_a_503(gateway: Gateway) -> None:
    store = json.loads(gateway.keys_file.read_text())
    before = len(gateway.origin.paths())
    gateway.write({k: v for k, v in store.items() if "/v1/permits" not in k})
    try:
        refused = get(gateway.edge, "/v1/permits?year=2016", **{"x-lakegate-consumer": "x"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "edge_rules_unavailable"
        assert refused.headers["Retry-After"] == "5"
        assert refused.headers["Cache-Control"] == "no-store"
        assert len(gateway.origin.paths()) == before
    finally:
        gateway.write(store)
    assert get(gateway.edge, "/v1/permits?year=2016").status_code == 401  # its rules again


# --- configuration -----------------------------------------------------------


def test_data_routes_run_the_function_and_the_key_is_its_canonical_query() -> None:
    conf = render_config(EdgeConfig(origin_url="http://127.0.0.1:9"), Path("/p"), 8081)
    for dataset in load_catalogue().datasets:
        assert f"location = {dataset.route} {{\n            js_content edge.handle;" in conf
    assert 'proxy_cache_key "$edge_path?$args|$edge_encoding|$http_accept";' in conf
    assert "js_import edge from edge_njs.js;" in conf
    assert "\nenv LAKEGATE_KEYS_FILE;\n" in conf


def test_cors_origins_become_a_map_computed_per_request() -> None:
    config = EdgeConfig(origin_url="http://127.0.0.1:9", cors_origins=(ALLOWED_ORIGIN,))
    conf = render_config(config, Path("/p"), 8081)
    assert f'"{ALLOWED_ORIGIN}" "{ALLOWED_ORIGIN}";' in conf
    assert "add_header Access-Control-Allow-Origin $edge_cors_origin always;" in conf
    assert "proxy_hide_header Access-Control-Allow-Origin;" in conf
    anyone = render_config(
        EdgeConfig(origin_url="http://127.0.0.1:9", cors_origins=("*",)), Path("/p"), 1
    )
    assert 'default "*";' in anyone
    without = render_config(EdgeConfig(origin_url="http://127.0.0.1:9"), Path("/p"), 8081)
    assert "$edge_cors_origin" not in without
    with pytest.raises(ConfigError, match="is not an origin"):
        render_config(EdgeConfig(origin_url="http://x:9", cors_origins=('a" b',)), Path("/p"), 1)


def test_a_configuration_that_cannot_be_rendered_fails_the_start(nginx: str) -> None:
    # Callers of Edge.start catch EdgeError alone, whatever stopped the edge.
    edge = Edge(EdgeConfig(origin_url="http://x:9", nginx=nginx, cors_origins=('a" b',)))
    with pytest.raises(EdgeError, match="is not an origin"):
        edge.start()
    assert edge.prefix is None


def test_the_function_is_written_for_njs_with_its_adapter_and_its_rules_in_the_store(
    tmp_path: Path,
) -> None:
    config = EdgeConfig(origin_url="http://127.0.0.1:9", require_keys=True)
    directory = write_modules(config, tmp_path)
    assert sorted(p.name for p in directory.iterdir()) == [
        "edge_kvs.js",
        "edge_njs.js",
        "gateway.js",
    ]
    gateway = (directory / "gateway.js").read_text()
    assert gateway.startswith("import cf from'edge_kvs.js';")
    # Without a key store of its own the edge has one, holding its rules alone.
    store = json.loads(store_path(config, tmp_path).read_text())
    (tag,) = re.findall(r"const TAG='([^']+)';", gateway)
    head = json.loads(store[f"rules/{tag}/v1/drivers"])
    assert (head["t"], head["a"]) == (tag, "key")
    assert not [k for k in store if not k.startswith("rules/")]


def test_the_rules_join_the_keys_in_a_shared_store_and_older_tags_go(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({"ab" * 32: {"consumer": "c"}}))
    tags: list[str] = []
    for require_keys in (False, True, False, True):
        config = EdgeConfig(
            origin_url="http://127.0.0.1:9", keys_file=keys_file, require_keys=require_keys
        )
        prefix = tmp_path / str(len(tags))
        prefix.mkdir()
        gateway = (write_modules(config, prefix) / "gateway.js").read_text()
        tags.append(re.findall(r"const TAG='([^']+)';", gateway)[0])
        assert store_path(config, tmp_path) == keys_file
    store = json.loads(keys_file.read_text())
    assert store["ab" * 32] == {"consumer": "c"}
    # The last tag and the one before it (another edge may still read it): both here.
    assert {k.split("/")[1] for k in store if k.startswith("rules/") and k != "rules/latest"} == {
        tags[-1],
        tags[-2],
    }


def test_the_template_is_filled_in() -> None:
    conf = render_config(
        EdgeConfig(origin_url="http://127.0.0.1:9", host="127.0.0.2"), Path("/p"), 8081, "nobody x"
    )
    assert "\nuser nobody x;\n" in conf
    assert "listen 127.0.0.2:8081 backlog=4096;" in conf
    assert "server 127.0.0.1:9;" in conf
    assert "pid /p/nginx.pid;" in conf
    # Every @{field} is filled in, and nginx's own $variables pass through.
    assert not [line for line in conf.splitlines() if "@" in line and not line.startswith("#")]
    assert "add_header X-Cache-Status $upstream_cache_status always;" in conf


def test_without_a_user_there_is_no_user_directive() -> None:
    conf = render_config(EdgeConfig(origin_url="http://127.0.0.1:9"), Path("/p"), 8081)
    assert not [line for line in conf.splitlines() if line.startswith("user")]


def test_ttls_come_from_the_cdk_config(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text("edge_cache:\n  default_ttl_seconds: 42\n  price_class: x\n")
    assert load_edge_ttls("dev", tmp_path) == EdgeTtls(default_ttl_seconds=42)
    assert load_edge_ttls("nope", tmp_path) == EdgeTtls()
    conf = render_config(
        EdgeConfig(origin_url="http://127.0.0.1:9", ttls=EdgeTtls(default_ttl_seconds=42)),
        tmp_path,
        8081,
    )
    assert "proxy_cache_valid 200 42s;" in conf


def test_a_ttl_outside_the_cdk_bounds_is_refused(tmp_path: Path) -> None:
    catalogue: Catalogue = load_catalogue()
    ttls = EdgeTtls(min_ttl_seconds=0, default_ttl_seconds=10, max_ttl_seconds=10)
    with pytest.raises(ConfigError, match="outside the edge TTL bounds"):
        render_config(
            EdgeConfig(origin_url="http://127.0.0.1:9", catalogue=catalogue, ttls=ttls),
            tmp_path,
            8081,
        )


def test_nginx_accepts_the_generated_configuration(nginx: str, tmp_path: Path) -> None:
    for directory in ("cache", "tmp"):
        (tmp_path / directory).mkdir()
    config = EdgeConfig(origin_url="http://127.0.0.1:9", cors_origins=(ALLOWED_ORIGIN,))
    write_modules(config, tmp_path)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_config(config, tmp_path, 8081))
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
