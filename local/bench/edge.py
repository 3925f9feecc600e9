"""The edge function: its cost per request under Node, and the edge hit ratio it buys.

- Cost: cdk/edge/gateway.js with the packaged catalogue's rules (the "node" target),
  timed in a node subprocess over a mix of requests: canonical, reordered and re-cased,
  with defaults spelled out, keyed, typos, invalid values, preflights. Node's JIT is not
  CloudFront's runtime, so read the figures against each other; CloudFront bills
  compute utilization, which grows with the same work.
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

from handler.catalogue import load_catalogue
from local.bench import Table
from local.edge import Edge, nginx_path
from local.edge_function import edge_rules, function_code
from local.emulator import EmulatorConfig
from local.nginx_config import EdgeConfig
from local.stack import EmbeddedStack, StackConfig

COST_SCRIPT = Path(__file__).with_name("edge_cost.mjs")
KEY = "bench-key"
RECORD = {"consumer": "bench", "datasets": ["*"], "tier": "standard", "created_at": "x"}
STATES = ("California", "New York", "Texas", "Ohio", "Maine", "Utah")
NONE = "—"


def request_mix() -> list[dict[str, object]]:
    """One of each kind of request the function meets, across the packaged catalogue's routes."""
    mix: list[dict[str, object]] = []
    kinds: list[tuple[str, str, str, dict[str, str]]] = [
        ("canonical", "GET", "state=ohio&year=2016", {}),
        ("reordered, re-cased", "GET", "year=2016&state=OHIO", {}),
        ("defaults spelled out", "GET", "year=2016&limit=1000&offset=0&fields=year,state,year", {}),
        ("with a key", "GET", "state=texas&year=2010", {"x-api-key": KEY}),
        ("typo (400)", "GET", "year=2016&stat=California", {}),
        ("invalid value (400)", "GET", "year=20x6", {}),
        ("unknown key (401)", "GET", "year=2016", {"x-api-key": "nope"}),
        ("preflight (204)", "OPTIONS", "", {"origin": "https://dashboards.example.com"}),
    ]
    for dataset in load_catalogue().datasets:
        for kind, method, raw, headers in kinds:
            mix.append(
                {
                    "kind": kind,
                    "method": method,
                    "uri": dataset.route,
                    "raw": raw,
                    "headers": headers,
                }
            )
    return mix


def function_cost(iterations: int = 40_000) -> dict[str, dict[str, float]] | None:
    node = shutil.which("node")
    if node is None:
        return None
    rules = edge_rules(load_catalogue(), cors_origins=("https://dashboards.example.com",))
    with tempfile.TemporaryDirectory(prefix="lakegate-bench-") as directory:
        module = Path(directory) / "gateway.mjs"
        module.write_text(function_code(rules, "node"), encoding="utf-8")
        payload = {
            "module": str(module),
            "keys": {hashlib.sha256(KEY.encode()).hexdigest(): RECORD},
            "requests": request_mix(),
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


def section() -> Table:
    rows: list[tuple[str, ...]] = []
    notes = []
    costs = function_cost()
    if costs is None:
        notes.append("node is not on PATH: the function's cost was not measured.")
    else:
        # The mix's kinds in its order, then every request together.
        for kind, cost in sorted(costs.items(), key=lambda item: item[0] == "all"):
            name = "every request" if kind == "all" else kind
            rows.append(
                (
                    f"function: {name}",
                    str(int(cost["n"])),
                    f"{cost['p50_us']:.1f}",
                    f"{cost['p99_us']:.1f}",
                    NONE,
                )
            )
    ratios = hit_ratios()
    if ratios is None:
        notes.append(
            "nginx with its njs module is not installed: the edge hit ratios were not measured."
        )
    else:
        (n_canonical, canonical), (n_varied, varied) = ratios
        rows.append(("edge: canonical client", str(n_canonical), NONE, NONE, f"{canonical:.2f}"))
        rows.append(
            ("edge: order, case, defaults varied", str(n_varied), NONE, NONE, f"{varied:.2f}")
        )
        notes.append(
            "Goal: equal hit ratios, (rounds - 1) / rounds each: the function makes every "
            "spelling of a query one edge entry."
        )
    return Table(
        title="Edge function: cost per request under Node, edge hit ratio of canonical forms",
        header=("what", "requests", "p50 µs", "p99 µs", "edge hit ratio"),
        rows=rows,
        note=" ".join(notes),
    )
