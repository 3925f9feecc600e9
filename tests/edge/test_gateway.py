"""The edge function, edge/gateway.js: its rules under Node, its agreement with the origin.

- gateway.test.mjs, one test per rule, runs under `node --test` against the function
  generated here for tests/edge/catalogues.py's catalogue (the "node" target), reading
  that catalogue's rules from a key store file as the local edge does;
- for every parameter of every dataset, of that catalogue and of a generated one with a
  30-filter dataset, what the function sends on the origin (handler.query.parse_query)
  parses as the same Query as the request it was rewritten from, and what it refuses the
  origin refuses, with the same code and message (tests/edge/agreement.py);
- the code CloudFront deploys is one size whatever the catalogue, within its quota.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.function import MAX_CODE_BYTES, EdgeFunctionError, function_code
from edge.keys import FileKeyStore
from edge.rules import edge_rules, parameter_rule
from edge.store import RuleEntries, publish_local, rule_entries
from handler.catalogue import Catalogue, load_catalogue
from handler.consumers import KeyRecord, key_digest
from handler.parameters import parameters_of
from handler.query import Query
from tests.conftest import edge_required
from tests.edge.agreement import encoded, judge, origin, requests, unusual_value
from tests.edge.catalogues import ALLOWED_ORIGIN, gateway_catalogue
from tools.bench.wide_catalogue import WIDE_ROUTE, wide_catalogue

HERE = Path(__file__).resolve().parent
MODULE_VARIABLE = "LAKEGATE_GATEWAY_MODULE"
STORE_VARIABLE = "LAKEGATE_KEYS_FILE"
BATCH_KEY = "batch-key"  # gateway_batch.mjs sends it: it may read every dataset
NODE = shutil.which("node")
# Without Node the function's tests skip, saying so, except where the edge is required
# (CI installs Node): there a missing Node fails them, as a broken machine should.
needs_node = pytest.mark.skipif(
    NODE is None and edge_required() is None,
    reason="node is not on PATH: the edge function's tests run under Node "
    "(apt-get install nodejs); under CI=true or LAKEGATE_REQUIRE_EDGE=1 they fail instead",
)


@dataclass(frozen=True)
class Gateway:
    """A catalogue's rules in a key store file, and the function reading them, for Node."""

    catalogue: Catalogue
    rules: dict[str, Any]
    entries: RuleEntries
    module: Path
    store: Path


def build_gateway(catalogue: Catalogue, directory: Path) -> Gateway:
    rules = edge_rules(catalogue, cors_origins=(ALLOWED_ORIGIN,))
    entries = rule_entries(rules, catalogue.version)
    store = directory / "keys.json"
    publish_local(store, entries)
    record = KeyRecord(consumer="batch", datasets=("*",), created_at="2026-01-01T00:00:00Z")
    FileKeyStore(store).put(key_digest(BATCH_KEY), record)
    module = directory / "gateway.mjs"
    module.write_text(function_code(entries.tag, "node"), encoding="utf-8")
    return Gateway(catalogue, rules, entries, module, store)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    return build_gateway(gateway_catalogue(), tmp_path_factory.mktemp("gateway"))


@pytest.fixture(scope="module", params=["tests", "wide"])
def agreeing(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    """The tests' catalogue, then the generated one with its 30-filter dataset."""
    catalogue = gateway_catalogue() if request.param == "tests" else wide_catalogue()
    return build_gateway(catalogue, tmp_path_factory.mktemp(request.param))


def node(
    gateway: Gateway, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run(
        [NODE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            MODULE_VARIABLE: str(gateway.module),
            STORE_VARIABLE: str(gateway.store),
        },
    )


# --- the rules, under Node -------------------------------------------------------


@needs_node
@pytest.mark.slow
def test_every_rule_holds_under_node(gateway: Gateway) -> None:
    result = node(gateway, "--test", str(HERE))
    if result.returncode != 0:
        pytest.fail(f"node --test {HERE} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)


# --- the code: one size, within the quota ----------------------------------------


def test_the_code_is_one_size_whatever_the_catalogue_and_fits_the_quota() -> None:
    sizes = set()
    for catalogue in (load_catalogue(), gateway_catalogue(), wide_catalogue()):
        for require_keys in (False, True):
            rules = edge_rules(catalogue, require_keys=require_keys, cors_origins=(ALLOWED_ORIGIN,))
            entries = rule_entries(rules, catalogue.version)
            code = function_code(entries.tag, "cloudfront")
            sizes.add(len(code.encode()))
            assert "import cf from'cloudfront';" in code
            assert f"const TAG='{entries.tag}';" in code
            assert "\n//" not in code  # comments are dropped
            # No rule is in the code: not a dataset, a parameter or an origin.
            for name in ("drivers", "f29", "cohort", ALLOWED_ORIGIN):
                assert name not in code
    (size,) = sizes
    assert size <= MAX_CODE_BYTES == 10_240


def test_the_code_needs_a_tag() -> None:
    for tag in ("", "1", "1.abc", "x.0123456789ab", "1.0123456789AB"):
        with pytest.raises(EdgeFunctionError, match="not a rules tag"):
            function_code(tag)


def test_every_target_runs_the_same_text() -> None:
    tag = "1.0123456789ab"
    body = function_code(tag, "cloudfront").split("\n", 1)[1]
    assert function_code(tag, "njs").startswith("import cf from'edge_kvs.js';\n" + body)
    assert function_code(tag, "node").startswith("const cf=globalThis.cloudfront;\n" + body)


def test_parameters_of_one_schema_share_one_rule_and_lists_compose_their_hint() -> None:
    rules = edge_rules(load_catalogue())
    params = rules["routes"]["/v1/drivers"]["params"]
    assert len({params[n] for n in ("year", "year[gt]", "year[gte]", "year[lt]", "year[lte]")}) == 1
    listed = rules["schemas"][params["state[in]"]]
    assert "hint" not in listed and listed["items"] == params["state"]
    drivers = load_catalogue().get("drivers")
    assert drivers is not None
    for name, hint in parameters_of(drivers).hints.items():
        assert parameter_rule(rules, "/v1/drivers", name)["hint"] == hint, name
    measures = parameter_rule(rules, "/v1/drivers", "measures")
    assert measures["items"]["enum"] == ["total_drivers"]  # a lone `const`, as an enum


def test_integer_bounds_beyond_2_to_the_53_travel_as_text(gateway: Gateway) -> None:
    serial = parameter_rule(gateway.rules, "/v1/readings", "serial")
    assert (serial["minimum"], serial["maximum"]) == (str(-(2**59)), str(2**59))
    assert parameter_rule(gateway.rules, "/v1/drivers", "year")["maximum"] == 2100


def test_the_generated_dataset_has_30_filters_and_the_rules_of_each() -> None:
    catalogue = wide_catalogue()
    wide = catalogue.get("wide")
    assert wide is not None and len(wide.filters) == 30
    rules = edge_rules(catalogue)
    assert list(rules["routes"][WIDE_ROUTE]["params"]) == list(parameters_of(wide).names)


# --- agreement with the origin's parser ------------------------------------------


def run_batch(gateway: Gateway, batch: list[tuple[str, str]]) -> list[dict[str, Any]]:
    result = node(gateway, str(HERE / "gateway_batch.mjs"), stdin=json.dumps(batch))
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@needs_node
@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_what_the_function_sends_on_the_origin_parses_as_the_request_it_came_from(
    data: st.DataObject, agreeing: Gateway
) -> None:
    catalogue, rules = agreeing.catalogue, agreeing.rules
    batch = data.draw(st.lists(requests(rules, catalogue), min_size=15, max_size=15))
    sent_on = judge(catalogue, rules, batch, run_batch(agreeing, batch))
    # The canonical form is a fixed point: one edge entry per query.
    for (route, query), edge_again in zip(sent_on, run_batch(agreeing, sent_on), strict=True):
        assert edge_again == {"query": query}, f"{route}?{query}"


@needs_node
@pytest.mark.slow
def test_every_parameter_of_every_dataset_is_rewritten_to_what_the_origin_reads_alike(
    agreeing: Gateway,
) -> None:
    catalogue, rules = agreeing.catalogue, agreeing.rules
    rng = random.Random(0)
    batch = []
    for route, rule in rules["routes"].items():
        for name in rule["params"]:
            schema = parameter_rule(rules, route, name)
            value = unusual_value(name, schema, catalogue, rule["dataset"])
            default = "limit=1000" if name == "offset" else "offset=0"  # dropped
            batch.append((route, f"{name}={encoded(value, rng, faults=False)}&{default}"))
    for (route, raw), edge in zip(batch, run_batch(agreeing, batch), strict=True):
        parsed = origin(catalogue, rules, route, raw)
        assert isinstance(parsed, Query), f"{route}?{raw}: {parsed}"
        assert "query" in edge, f"{route}?{raw}: {edge}"
        assert edge["query"] != raw, f"{route}?{raw} was already canonical"
        assert origin(catalogue, rules, route, edge["query"]) == parsed
