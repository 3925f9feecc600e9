"""The edge function, cdk/edge/gateway.js: its rules under Node, its agreement with the origin.

- gateway.test.mjs, one test per rule, runs under `node --test` against the function
  generated here for tests/edge/catalogues.py's catalogue (the "node" target);
- for every parameter of every dataset, whatever the function sends on is accepted by the
  origin's parser (handler.query.parse_query) as the same Query as the request it was
  rewritten from, and what it refuses the origin refuses, with the same code and message;
- the code CloudFront deploys fits its function size quota.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.catalogue import Catalogue, load_catalogue
from handler.combinations import COMBINATION_CODES
from handler.errors import BadRequest
from handler.query import Query, parse_query
from local.edge_function import (
    MAX_CODE_BYTES,
    EdgeFunctionError,
    edge_rules,
    function_code,
    parameter_rule,
)
from tests.conftest import edge_required
from tests.edge.catalogues import ALLOWED_ORIGIN, gateway_catalogue

HERE = Path(__file__).resolve().parent
MODULE_VARIABLE = "LAKEGATE_GATEWAY_MODULE"
NODE = shutil.which("node")
# Without Node the function's tests skip, saying so, except where the edge is required
# (CI installs Node): there a missing Node fails them, as a broken machine should.
needs_node = pytest.mark.skipif(
    NODE is None and edge_required() is None,
    reason="node is not on PATH: the edge function's tests run under Node "
    "(apt-get install nodejs); under CI=true or LAKEGATE_REQUIRE_EDGE=1 they fail instead",
)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return gateway_catalogue()


@pytest.fixture(scope="module")
def rules(catalogue: Catalogue) -> dict[str, Any]:
    return edge_rules(catalogue, cors_origins=(ALLOWED_ORIGIN,))


@pytest.fixture(scope="module")
def module(rules: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gateway") / "gateway.mjs"
    path.write_text(function_code(rules, "node"), encoding="utf-8")
    return path


def node(module: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run(
        [NODE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, MODULE_VARIABLE: str(module)},
    )


# --- the rules, under Node -------------------------------------------------------


@needs_node
@pytest.mark.slow
def test_every_rule_holds_under_node(module: Path) -> None:
    result = node(module, "--test", str(HERE))
    if result.returncode != 0:
        pytest.fail(f"node --test {HERE} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)


# --- the size quota --------------------------------------------------------------


def test_the_code_cloudfront_deploys_fits_its_quota_for_each_dataset() -> None:
    catalogue = load_catalogue()
    for dataset in catalogue.datasets:
        for require_keys in (False, True):
            rules = edge_rules(
                catalogue,
                require_keys=require_keys,
                cors_origins=(ALLOWED_ORIGIN,),
                datasets=[dataset.name],
            )
            code = function_code(rules, "cloudfront")
            assert len(code.encode()) <= MAX_CODE_BYTES, dataset.name
            assert "import cf from'cloudfront';" in code
            assert "\n//" not in code  # comments are dropped, to leave room for rules


def test_a_function_too_big_for_the_quota_is_refused_naming_it() -> None:
    with pytest.raises(EdgeFunctionError, match="over CloudFront's 10240-byte quota"):
        function_code(edge_rules(gateway_catalogue()), "cloudfront")


def test_parameters_of_one_schema_share_one_rule_and_lists_compose_their_hint() -> None:
    rules = edge_rules(load_catalogue(), datasets=["drivers"])
    params = rules["routes"]["/v1/drivers"]["params"]
    assert len({params[n] for n in ("year", "year[gt]", "year[gte]", "year[lt]", "year[lte]")}) == 1
    listed = rules["schemas"][params["state[in]"]]
    assert "hint" not in listed and listed["items"] == params["state"]
    drivers = load_catalogue().get("drivers")
    assert drivers is not None
    for name, hint in drivers.parameters.hints.items():
        assert parameter_rule(rules, "/v1/drivers", name)["hint"] == hint, name
    measures = parameter_rule(rules, "/v1/drivers", "measures")
    assert measures["items"]["enum"] == ["total_drivers"]  # a lone `const`, as an enum


def test_every_target_runs_the_same_text() -> None:
    rules = edge_rules(load_catalogue(), datasets=["drivers"])
    body = function_code(rules, "cloudfront").split("\n", 1)[1]
    assert function_code(rules, "njs").startswith("import cf from'edge_kvs.js';\n" + body)
    assert function_code(rules, "node").startswith("const cf=globalThis.cloudfront;\n" + body)


def test_integer_bounds_beyond_2_to_the_53_travel_as_text(rules: dict[str, Any]) -> None:
    serial = parameter_rule(rules, "/v1/readings", "serial")
    assert (serial["minimum"], serial["maximum"]) == (str(-(2**59)), str(2**59))
    assert parameter_rule(rules, "/v1/drivers", "year")["maximum"] == 2100


# --- agreement with the origin's parser ------------------------------------------

UNKNOWN = ("STATE", "stat", "bogus", "", "Year", "x" * 70, "naïve", "it's")
# Printable in Python's sense (no C* or Z* but the space), so repr() quotes them as is.
PRINTABLE = st.characters(categories=["L", "M", "N", "P", "S"]) | st.sampled_from(" '\"\\\n\t\x00")
JUNK = st.text(PRINTABLE, max_size=8)
BAD_ESCAPES = ("%zz", "%", "%C3", "%C3%28", "%ED%A0%80", "%F4%90%80%80")


def integer_texts(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = int(schema.get("minimum", -(10**18))), int(schema.get("maximum", 10**18))
    near = st.integers(max(low - 3, -(10**19)), min(high + 3, 10**19))
    wide = st.integers(-(10**19), 10**19)

    def spelled(args: tuple[int, str, int]) -> str:
        number, sign, zeros = args
        return ("-" if number < 0 else sign) + "0" * zeros + str(abs(number))

    return st.tuples(near | wide, st.sampled_from(["", "", "+", "-"]), st.integers(0, 3)).map(
        spelled
    )


def number_texts(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    floats = st.floats(
        min_value=schema.get("minimum"), max_value=schema.get("maximum"), allow_nan=False
    ) | st.floats(allow_nan=False, allow_infinity=False)
    formats = st.sampled_from(["{!r}", "{:e}", "{:.3f}", "{:.17g}", "{:E}"])
    spelled = st.tuples(floats, formats).map(lambda a: a[1].format(a[0]))
    odd = st.sampled_from(
        [
            "1e999",
            "-1e999",
            "NaN",
            "inf",
            ".5",
            "1.",
            "+.5e-3",
            "1e1000",
            "0x10",
            " 1",
            "-0",
            "00.50",
        ]
    )
    return spelled | odd | st.integers(-(10**6), 10**7).map(str)


def string_texts(name: str, schema: dict[str, Any], columns: list[str]) -> st.SearchStrategy[str]:
    if "enum" in schema:
        return st.sampled_from([*schema["enum"], "JSON", "xml", ""])
    if schema.get("format") == "date":
        return st.dates().map(str) | st.sampled_from(
            ["2016-02-30", "2015-02-29", "0000-01-01", "2016-1-01"]
        )
    texts = st.text(PRINTABLE, max_size=schema.get("maxLength", 8) + 2)
    if "pattern" in schema:
        texts = texts | st.from_regex(schema["pattern"])
    return texts


def value_texts(name: str, schema: dict[str, Any], columns: list[str]) -> st.SearchStrategy[str]:
    kind = schema["type"]
    if kind == "array":
        # Comma-separated; now and then longer than allowed, empty, or with a bad item.
        items = value_texts("", schema["items"], columns)
        most = schema.get("maxItems", 6)
        return st.lists(items, max_size=most + 2).map(",".join)
    if kind == "integer":
        typed = integer_texts(schema)
    elif kind == "number":
        typed = number_texts(schema)
    else:
        typed = string_texts(name, schema, columns)
    return typed | JUNK


def encoded(text: str, rng: random.Random, faults: bool = True) -> str:
    """`text` as a client might spell it in a query string; now and then a bad escape."""
    out = []
    for char in text:
        must = char in "&=+%#" or not (char.isascii() and char.isprintable()) or char == " "
        if char == " " and rng.random() < 0.5:
            out.append("+")
        elif must or rng.random() < 0.1:
            hexed = "".join(f"%{b:02X}" for b in char.encode("utf-8"))
            out.append(hexed.lower() if rng.random() < 0.3 else hexed)
        else:
            out.append(char)
    if faults and rng.random() < 0.03:
        out.insert(rng.randrange(len(out) + 1), rng.choice(BAD_ESCAPES))
    return "".join(out)


@st.composite
def requests(draw: st.DrawFn, rules: dict[str, Any], catalogue: Catalogue) -> tuple[str, str]:
    route = draw(st.sampled_from(sorted(rules["routes"])))
    params = {n: parameter_rule(rules, route, n) for n in rules["routes"][route]["params"]}
    dataset = catalogue.get(rules["routes"][route]["dataset"])
    assert dataset is not None
    columns = list(dataset.column_names)
    # Spelling choices from a seeded Random: Hypothesis's own would drift to the extremes.
    rng = random.Random(draw(st.integers(0, 2**32)))
    # Mostly declared names, each once; now and then an unknown one, or one given twice.
    names = draw(
        st.lists(st.sampled_from(sorted(params) * 8 + list(UNKNOWN)), max_size=5, unique=True)
    )
    if names and rng.random() < 0.1:
        names.insert(rng.randrange(len(names) + 1), rng.choice(names))
    pairs = []
    for name in names:
        schema = params.get(name, {"type": "string"})
        value = draw(value_texts(name, schema, columns))
        pairs.append(f"{encoded(name, rng)}={encoded(value, rng)}")
    return route, "&".join(pairs)


def run_batch(module: Path, batch: list[tuple[str, str]]) -> list[dict[str, Any]]:
    result = node(module, str(HERE / "gateway_batch.mjs"), stdin=json.dumps(batch))
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def origin(catalogue: Catalogue, rules: dict[str, Any], route: str, raw: str) -> Query | BadRequest:
    dataset = catalogue.get(rules["routes"][route]["dataset"])
    assert dataset is not None
    try:
        return parse_query(dataset, raw)
    except BadRequest as refusal:
        return refusal


def repeats_a_name(raw: str) -> bool:
    # CloudFront groups a repeated name's values, so the function meets the pairs in
    # another order than the origin: which of two faults is named first may differ.
    names = [unquote_plus(pair.partition("=")[0]) for pair in raw.split("&") if pair]
    return len(set(names)) != len(names)


@needs_node
@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_what_the_function_sends_on_the_origin_parses_as_the_request_it_came_from(
    data: st.DataObject, module: Path, rules: dict[str, Any], catalogue: Catalogue
) -> None:
    batch = data.draw(st.lists(requests(rules, catalogue), min_size=15, max_size=15))
    sent_on: list[tuple[str, str]] = []
    for (route, raw), edge in zip(batch, run_batch(module, batch), strict=True):
        parsed = origin(catalogue, rules, route, raw)
        where = f"{route}?{raw} -> {edge}"
        if "query" in edge and isinstance(parsed, BadRequest):
            # How valid values combine is the origin's to judge: it must judge the
            # rewritten request as it judges the original.
            assert parsed.code in COMBINATION_CODES, (
                f"the origin refuses what the edge sent on: {where}"
            )
            again = origin(catalogue, rules, route, edge["query"])
            assert isinstance(again, BadRequest), where
            assert (again.code, again.message, again.parameter) == (
                parsed.code,
                parsed.message,
                parsed.parameter,
            ), where
        elif "query" in edge:
            assert origin(catalogue, rules, route, edge["query"]) == parsed, where
            sent_on.append((route, edge["query"]))
        elif isinstance(parsed, Query):
            raise AssertionError(f"the edge refuses what the origin accepts: {where}")
        elif not repeats_a_name(raw):
            assert edge == {
                "status": 400,
                "error": {
                    "code": parsed.code,
                    "message": parsed.message,
                    **({} if parsed.parameter is None else {"parameter": parsed.parameter}),
                },
            }, where
        else:
            assert edge["status"] == 400, where
    # The canonical form is a fixed point: one edge entry per query.
    for (route, query), edge_again in zip(sent_on, run_batch(module, sent_on), strict=True):
        assert edge_again == {"query": query}, f"{route}?{query}"


@needs_node
@pytest.mark.slow
def test_every_parameter_of_every_dataset_is_rewritten_to_what_the_origin_reads_alike(
    module: Path, rules: dict[str, Any], catalogue: Catalogue
) -> None:
    rng = random.Random(0)
    batch = []
    for route, rule in rules["routes"].items():
        for name in rule["params"]:
            schema = parameter_rule(rules, route, name)
            value = unusual_value(name, schema, catalogue, rule["dataset"])
            default = "limit=1000" if name == "offset" else "offset=0"  # dropped
            batch.append((route, f"{name}={encoded(value, rng, faults=False)}&{default}"))
    for (route, raw), edge in zip(batch, run_batch(module, batch), strict=True):
        parsed = origin(catalogue, rules, route, raw)
        assert isinstance(parsed, Query), f"{route}?{raw}: {parsed}"
        assert "query" in edge, f"{route}?{raw}: {edge}"
        assert edge["query"] != raw, f"{route}?{raw} was already canonical"
        assert origin(catalogue, rules, route, edge["query"]) == parsed


def unusual_value(name: str, schema: dict[str, Any], catalogue: Catalogue, dataset: str) -> str:
    """A valid value of the parameter, in a spelling the canonical form changes."""
    if schema["type"] == "array":
        # Two items, one repeated, in an order the canonical form changes when unordered.
        items = schema["items"]
        if "enum" in items:
            # Items that combine: not two periods of one date, not a measure to sort raw rows.
            enum = items["enum"]
            first, second = enum[0], enum[2] if name == "sort" else enum[-1]
        else:
            first = second = unusual_value("", items, catalogue, dataset)
            second = {"integer": "+0" + str(abs(int(items.get("minimum", 0))) + 8)}.get(
                items["type"], "Ohio" if items["type"] == "string" else second
            )
        return f"{second},{first},{second}"
    if schema["type"] == "integer":
        number = max(int(schema.get("minimum", 0)), 0) + 7
        return f"0{number}" if "x-spelling" in schema else f"+0{number}"
    if schema["type"] == "number":
        return "1.50"
    if "enum" in schema:
        return str(schema["enum"][-1])
    if schema.get("format") == "date":
        return "2016-02-29"
    if "pattern" in schema:
        return "AB12" if schema["pattern"].startswith("^") else "x 1"
    return "New York"
