"""The edge function: its size, its cost per request under Node, and the edge hit ratio it buys.

- Size: the code CloudFront deploys (edge/gateway.js with its rules' tag), for the
  packaged catalogue and for the generated one with a 30-filter dataset
  (tools.bench.wide_catalogue): one size, whatever the catalogue; and what the rules take
  in the KeyValueStore instead.
- Cost: the function (the "node" target) timed in a node subprocess over a mix of
  requests: canonical, reordered and re-cased, with defaults spelled out, keyed, typos,
  invalid values, preflights; on the packaged datasets, then on the 30-filter one with
  3, 12 and 30 filters. Its store is the rules and a key held in memory, and each request
  kind's store reads are counted: CloudFront's read latency cannot be measured here.
  Node's JIT is not CloudFront's runtime, so read the figures against each other;
  CloudFront bills compute utilization, which grows with the same work.
- Hit ratio: through the local edge in front of the embedded stack, one client asks a set
  of queries always in canonical form, another asks another such set (its own cache
  entries) varying parameter order, case and defaults. Equal ratios: every spelling of a
  query is one edge entry.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests

from edge.function import MAX_CODE_BYTES, function_code
from edge.rules import edge_rules
from edge.store import RuleEntries, rule_entries
from handler.catalogue import Catalogue, load_catalogue
from local.edge import Edge, nginx_path
from local.emulator import EmulatorConfig
from local.nginx_config import EdgeConfig
from local.stack import EmbeddedStack, StackConfig
from tools.bench import Table
from tools.bench.wide_catalogue import WIDE_FILTERS, WIDE_ROUTE, wide_catalogue

COST_SCRIPT = Path(__file__).with_name("edge_cost.mjs")
KEY = "bench-key"
RECORD = {"consumer": "bench", "datasets": ["*"], "tier": "standard", "created_at": "x"}
ORIGIN = "https://dashboards.example.com"
STATES = ("California", "New York", "Texas", "Ohio", "Maine", "Utah")
NONE = "—"
# A valid value for each of the 30-filter dataset's six kinds of filter, in its order.
_WIDE_VALUES = ("2016", "ohio", "2016-02-29", "1.5", "AB12", "7")

_Request = dict[str, object]


def _request(kind: str, uri: str, raw: str, headers: dict[str, str] | None = None) -> _Request:
    method = "OPTIONS" if kind.startswith("preflight") else "GET"
    return {"kind": kind, "method": method, "uri": uri, "raw": raw, "headers": headers or {}}


def request_mix() -> list[_Request]:
    """One of each kind of request the function meets, across the packaged catalogue's routes."""
    kinds: list[tuple[str, str, dict[str, str]]] = [
        ("canonical", "state=ohio&year=2016", {}),
        ("reordered, re-cased", "year=2016&state=OHIO", {}),
        ("defaults spelled out", "year=2016&limit=1000&offset=0&fields=year,state,year", {}),
        ("with a key", "state=texas&year=2010", {"x-api-key": KEY}),
        ("typo (400)", "year=2016&stat=California", {}),
        ("invalid value (400)", "year=20x6", {}),
        ("unknown key (401)", "year=2016", {"x-api-key": "nope"}),
        ("preflight (204)", "", {"origin": ORIGIN}),
    ]
    return [
        _request(kind, dataset.route, raw, headers)
        for dataset in load_catalogue().datasets
        for kind, raw, headers in kinds
    ]


def _filters(count: int, spelled: bool = False) -> str:
    """`count` of the 30-filter dataset's filters with valid values (re-spelled: reversed,
    upper-cased, integers with a sign and zeros, so the canonical form differs)."""
    pairs = []
    for i in range(count):
        value = _WIDE_VALUES[i % len(_WIDE_VALUES)]
        if spelled:
            value = "%2B0" + value if value.isdigit() else value.upper()
        pairs.append(f"f{i:02d}={value}")
    return "&".join(reversed(pairs) if spelled else pairs)


def wide_request_mix() -> list[_Request]:
    """The same kinds on the 30-filter dataset, with 3, 12 and all 30 filters."""
    return [
        _request("3 filters, canonical", WIDE_ROUTE, _filters(3)),
        _request("3 filters, reordered, re-cased", WIDE_ROUTE, _filters(3, spelled=True)),
        _request("12 filters", WIDE_ROUTE, _filters(12)),
        _request("30 filters, re-spelled", WIDE_ROUTE, _filters(WIDE_FILTERS, spelled=True)),
        _request("lists", WIDE_ROUTE, "f00[in]=2002,2001,2002&f01[in]=Ohio,iowa"),
        _request("with a key", WIDE_ROUTE, _filters(3), {"x-api-key": KEY}),
        _request("typo (400)", WIDE_ROUTE, "f00=2016&f99=1"),
        _request("invalid value (400)", WIDE_ROUTE, "f00=20x6"),
        _request("preflight (204)", WIDE_ROUTE, "", {"origin": ORIGIN}),
    ]


def _rules(catalogue: Catalogue) -> RuleEntries:
    return rule_entries(edge_rules(catalogue, cors_origins=(ORIGIN,)), catalogue.version)


def function_cost(
    catalogue: Catalogue, mix: list[_Request], iterations: int = 40_000
) -> dict[str, dict[str, float]] | None:
    node = shutil.which("node")
    if node is None:
        return None
    rules = _rules(catalogue)
    with tempfile.TemporaryDirectory(prefix="lakegate-bench-") as directory:
        module = Path(directory) / "gateway.mjs"
        module.write_text(function_code(rules.tag, "node"), encoding="utf-8")
        payload = {
            "module": str(module),
            "store": {**rules.entries, hashlib.sha256(KEY.encode()).hexdigest(): RECORD},
            "requests": mix,
            "iterations": iterations,
        }
        result = subprocess.run(
            [node, str(COST_SCRIPT)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    costs: dict[str, dict[str, float]] = json.loads(result.stdout)
    return costs


def _variant(state: str, year: int, rng: random.Random) -> str:
    spelled = rng.choice([state.upper(), state.lower(), state]).replace(
        " ", rng.choice(["+", "%20"])
    )
    params = [f"state={spelled}", f"year={year}"]
    if rng.random() < 0.5:
        params.append("limit=1000")
    if rng.random() < 0.3:
        params.append("offset=0")
    rng.shuffle(params)
    return "&".join(params)


def hit_ratios(rounds: int = 5) -> tuple[tuple[int, float], tuple[int, float]] | None:
    """(requests, edge hit ratio) of the canonical client, then of the varying one."""
    if nginx_path() is None:
        return None
    rng = random.Random(11)
    canonical = [
        f"state={s.lower().replace(' ', '%20')}&year={y}" for s in STATES for y in (2001, 2002)
    ]
    varied = [(s, y) for s in STATES for y in (2011, 2012)]
    config = StackConfig(port=0, emulator=EmulatorConfig(port=0, latency_ms=0), cache="off")
    with (
        EmbeddedStack(config) as stack,
        Edge(EdgeConfig(origin_url=stack.url)) as edge,
        requests.Session() as session,
    ):

        def hit(query: str) -> bool:
            response = session.get(f"{edge.url}/v1/drivers?{query}", timeout=60)
            response.raise_for_status()
            return response.headers["Cache-Status"].rsplit(",", 1)[-1].strip() == "edge; hit"

        canonical_hits = [hit(q) for _ in range(rounds) for q in canonical]
        varied_hits = [hit(_variant(s, y, rng)) for _ in range(rounds) for s, y in varied]
    return (
        (len(canonical_hits), sum(canonical_hits) / len(canonical_hits)),
        (len(varied_hits), sum(varied_hits) / len(varied_hits)),
    )


def _cost_rows(label: str, costs: dict[str, dict[str, float]]) -> list[tuple[str, ...]]:
    # The mix's kinds in its order, then every request together.
    rows: list[tuple[str, ...]] = []
    for kind, cost in sorted(costs.items(), key=lambda item: item[0] == "all"):
        name = "every request" if kind == "all" else kind
        rows.append(
            (
                f"{label}: {name}",
                str(int(cost["n"])),
                f"{cost['p50_us']:.1f}",
                f"{cost['p99_us']:.1f}",
                f"{cost['reads']:.2g}",
                NONE,
            )
        )
    return rows


def sizes() -> str:
    """The code's size and the rules' share of the store, for both catalogues."""
    parts = []
    for label, catalogue in (("packaged", load_catalogue()), ("30 filters", wide_catalogue())):
        rules = _rules(catalogue)
        code = len(function_code(rules.tag, "cloudfront").encode())
        parts.append(
            f"{label} catalogue: code {code:,} bytes of {MAX_CODE_BYTES:,}, rules "
            f"{len(rules.entries)} keys, {rules.size:,} bytes of the store's 5 MB"
        )
    return "; ".join(parts) + "."


def section() -> Table:
    rows: list[tuple[str, ...]] = []
    notes = [f"Function size: {sizes()}"]
    packaged = function_cost(load_catalogue(), request_mix())
    wide = function_cost(wide_catalogue(), wide_request_mix())
    if packaged is None or wide is None:
        notes.append("node is not on PATH: the function's cost was not measured.")
    else:
        rows += _cost_rows("packaged", packaged)
        rows += _cost_rows(f"{WIDE_FILTERS} filters", wide)
        notes.append(
            "Store reads: a request reads one key per parameter family it names (the "
            "route's own key when it names none) and, with x-api-key, the key's; a refused "
            "unknown name reads the route and its names too. CloudFront's read latency is "
            "not published and not measured here."
        )
    ratios = hit_ratios()
    if ratios is None:
        notes.append(
            "nginx with its njs module is not installed: the edge hit ratios were not measured."
        )
    else:
        (n_canonical, canonical), (n_varied, varied) = ratios
        rows.append(
            ("edge: canonical client", str(n_canonical), NONE, NONE, NONE, f"{canonical:.2f}")
        )
        rows.append(
            ("edge: order, case, defaults varied", str(n_varied), NONE, NONE, NONE, f"{varied:.2f}")
        )
        notes.append(
            "Goal: equal hit ratios, (rounds - 1) / rounds each: the function makes every "
            "spelling of a query one edge entry."
        )
    return Table(
        title="Edge function: size, cost per request under Node, edge hit ratio of canonical forms",
        header=("what", "requests", "p50 µs", "p99 µs", "store reads", "edge hit ratio"),
        rows=rows,
        note=" ".join(notes),
    )
