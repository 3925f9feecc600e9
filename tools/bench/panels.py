"""Dashboard panels: one aggregate request against raw paging, and a mixed dashboard's statements.

- "A map of 2016" (licensed drivers per state) asked the old way, as raw rows the
  browser sums (`fields=state,drivers&year=2016`, two pages of 1000), and the new way, one
  aggregate (`group_by=state&measures=total_drivers&year=2016`, 51 rows): bytes on the
  wire, gzipped as browsers take them, and handler time for a miss and for a hit, on the
  handler in-process over real moto and the emulator (latency 0, so a miss is
  lakegate's own work plus DuckDB's).
- Warehouse statements per 1000 requests of a dashboard mixing raw tables, aggregate
  maps and trends, a KPI and a monthly crash series (Zipf over states and years), on the
  embedded stack with 16 concurrent clients: the goal is one per distinct query.
"""

from __future__ import annotations

import base64
import gzip
import random
import statistics
from urllib.parse import quote

from cache import cache_key
from handler.catalogue import load_catalogue
from handler.query import parse_query
from tools.bench import Table
from tools.bench.cache import _timed, handler_on_local_parts, run_mix

RAW_MAP = "/v1/drivers?fields=state,drivers&year=2016&limit=1000"
AGGREGATE_MAP = "/v1/drivers?group_by=state&measures=total_drivers&year=2016"
CATALOGUE = load_catalogue()
STATES = ("California", "Texas", "Florida", "New York", "Ohio", "Utah", "Iowa", "Maine")
YEARS = tuple(range(2010, 2019))


def map_section(rounds: int = 15) -> Table:
    accept = [("accept-encoding", "gzip")]
    rows = []
    with handler_on_local_parts() as handler:
        for name, pages in (
            ("raw rows, paged", [RAW_MAP, RAW_MAP + "&offset=1000"]),
            ("one aggregate", [AGGREGATE_MAP]),
        ):
            # A miss per round: each round asks an equal question the cache has not seen
            # (another limit), so every round runs the statement again.
            misses: list[float] = []
            for round_ in range(rounds):
                total = 0.0
                for page in pages:
                    total += _timed(handler, _variant(page, round_), accept)[0]
                misses.append(total)
            bodies = [_timed(handler, page, accept)[1] for page in pages]
            hits = [sum(_timed(handler, page, accept)[0] for page in pages) for _ in range(100)]
            wire = sum(len(_body(b)) for b in bodies)
            plain = sum(len(gzip.decompress(_body(b))) for b in bodies)
            rows.append(
                (
                    name,
                    str(len(pages)),
                    f"{plain:,}",
                    f"{wire:,}",
                    f"{statistics.median(misses):.1f}",
                    f"{statistics.median(hits):.2f}",
                )
            )
    return Table(
        title="A map of 2016: raw rows the browser sums, or one aggregate (in-process handler)",
        header=(
            "asked as",
            "requests",
            "JSON bytes",
            "gzip bytes on the wire",
            "miss ms (all pages)",
            "hit ms (all pages)",
        ),
        rows=rows,
        note="Emulator latency 0 ms: a real warehouse adds its own time to every miss, "
        "once per page for raw paging.",
    )


def mixed_section(requests_total: int = 1000, workers: int = 16) -> Table:
    rng = random.Random(11)
    ranks = [1.0 / (rank**1.1) for rank in range(1, len(STATES) + 1)]
    years = [1.0 / (rank**1.2) for rank in range(1, len(YEARS) + 1)]

    def panel() -> str:
        state = rng.choices(STATES, weights=ranks)[0]
        other = rng.choices(STATES, weights=ranks)[0]
        year = rng.choices(YEARS[::-1], weights=years)[0]
        s = quote(state)
        return rng.choice(
            [
                f"/v1/drivers?state={s}&year={year}",
                f"/v1/drivers?group_by=state&measures=total_drivers&year={year}",
                f"/v1/drivers?state%5Bin%5D={s},{quote(other)}&year%5Bgte%5D=2010"
                "&group_by=state,year&measures=total_drivers",
                f"/v1/drivers?measures=total_drivers&year={year}",
                f"/v1/crashes?state={s}&date%5Bgte%5D={year}-01-01&date%5Blte%5D={year}-12-31"
                "&group_by=date:month&measures=total_crashes,average_fatality_rate",
            ]
        )

    mix = [panel() for _ in range(requests_total)]
    # Counting statements, not refusing them: the budget stays out of the way.
    generous = {"LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": "10000", "LAKEGATE_FAIR_SHARES": "1"}
    derived_statuses, derived = run_mix(mix, workers, generous)
    direct_statuses, direct = run_mix(mix, workers, {**generous, "LAKEGATE_ROLLUPS": "0"})
    # Equivalent spellings share a key (state[in]=Ohio,Utah is state[in]=Utah,Ohio): without
    # roll-ups the goal is one statement per distinct canonical query, not per distinct URL.
    drawn = len({_canonical(path) for path in mix})
    rollups = sum(len(d.rollups) for d in CATALOGUE.datasets)
    return Table(
        title=f"Warehouse statements per {requests_total} requests of a mixed dashboard "
        f"(raw table, map, trend, KPI, crash series; {workers} concurrent clients)",
        header=("", "requests", "errors", "distinct queries", "statements", "goal"),
        rows=[
            (
                "with roll-ups",
                str(len(derived_statuses)),
                str(sum(1 for s in derived_statuses if s != 200)),
                str(drawn),
                str(derived),
                f"= {rollups} (one per roll-up per freshness window)",
            ),
            (
                "without (LAKEGATE_ROLLUPS=0)",
                str(len(direct_statuses)),
                str(sum(1 for s in direct_statuses if s != 200)),
                str(drawn),
                str(direct),
                f"= {drawn} (one per distinct query)",
            ),
        ],
        note=f"{len(set(mix))} distinct URLs, {drawn} distinct queries once canonical. "
        "Emulator latency 100 ms.",
    )


def _canonical(path: str) -> str:
    route, _, raw = path.partition("?")
    dataset = CATALOGUE.get(route.removeprefix("/v1/"))
    assert dataset is not None
    return cache_key(parse_query(dataset, raw).canonical(dataset, CATALOGUE.version))


def _variant(path: str, round_: int) -> str:
    # limit=1000+r still returns every row of a 51-row aggregate or a 1000-row page's
    # worth; what changes is the cache key.
    if "limit=" in path:
        return path.replace("limit=1000", f"limit={1000 + round_}")
    return f"{path}&limit={100 + round_}"


def _body(response: dict[str, object]) -> bytes:
    body = response["body"]
    assert isinstance(body, str)
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
