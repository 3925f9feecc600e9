"""The local edge: nginx's proxy cache configured like the CDK's CloudFront cache policy.

Needs nginx (`sudo apt-get install nginx`, `brew install nginx`). Without it these tests
are skipped with one line saying how to install it; under CI=true or
LAKEGATE_REQUIRE_EDGE=1 they fail instead. The configuration tests run either way.
"""

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from handler.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from local.edge import (
    Edge,
    EdgeConfig,
    EdgeError,
    EdgeTtls,
    load_edge_ttls,
    render_config,
)
from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig

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
    assert first.headers["Cache-Status"] == "lakegate; fwd=miss; stored, edge; fwd=miss"
    assert second.headers["Cache-Status"] == "lakegate; fwd=miss; stored, edge; hit"
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


def test_a_400_is_never_cached(edge: Edge) -> None:
    bogus = get(edge, "/v1/drivers?state=Vermont&year=2002&bogus=1")
    clean = get(edge, "/v1/drivers?state=Vermont&year=2002")
    assert bogus.status_code == 400
    assert clean.status_code == 200
    assert edge_status(clean) == "edge; fwd=miss"
    # Like CloudFront, the key holds only allow-listed parameters: once the clean
    # response is stored, the bogus variant is answered from it, never rejected.
    assert get(edge, "/v1/drivers?state=Vermont&year=2002&bogus=1").status_code == 200


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
    # The background refresh reached the origin, whose entry was stale too.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        refreshed = get(edge, path)
        if refreshed.headers["Cache-Status"] == "lakegate; fwd=stale; stored, edge; hit":
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


# --- configuration -----------------------------------------------------------


def test_the_cache_key_allow_list_is_the_catalogues_as_the_cdks_is() -> None:
    names = load_catalogue().query_parameter_names()
    conf = render_config(EdgeConfig(origin_url="http://127.0.0.1:9"), Path("/p"), 8081)
    args = "&".join(f"{n}=$arg_{n}" for n in names)
    assert f'proxy_cache_key "$uri?{args}|$edge_encoding|$http_accept";' in conf


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
    with pytest.raises(EdgeError, match="outside the edge TTL bounds"):
        render_config(
            EdgeConfig(origin_url="http://127.0.0.1:9", catalogue=catalogue, ttls=ttls),
            tmp_path,
            8081,
        )


def test_nginx_accepts_the_generated_configuration(nginx: str, tmp_path: Path) -> None:
    for directory in ("cache", "tmp"):
        (tmp_path / directory).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_config(EdgeConfig(origin_url="http://127.0.0.1:9"), tmp_path, 8081))
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
