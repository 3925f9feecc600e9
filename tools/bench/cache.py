"""Cache benchmarks: handler time for a hit (against its one bare BatchGetItem), a derived
miss, a warehouse miss and a 304; statements per 1000 dashboard requests.

Everything runs on real parts on 127.0.0.1: the warehouse emulator (latency 0, so a
miss measures lakegate's own work plus DuckDB), moto's DynamoDB/S3 in its own process,
and the handler called in-process exactly as Lambda calls it.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from typing import Any

import requests
from pydantic import SecretStr

from cache import CountingRecorder, Recorder, cache_key
from cache.items import entry_key, generation_key
from handler.catalogue import Catalogue, load_catalogue
from handler.container import LambdaHandler, build_store, new_container, wire
from handler.observability import EmfRecorder
from handler.query import parse_query
from handler.settings import (
    CacheSettings,
    GatewaySettings,
    RollupSettings,
    Settings,
    WarehouseSettings,
)
from local.aws import CACHE_BUCKET, CACHE_TABLE, REGION, MotoServer, create_cache_resources
from local.emulator import Emulator, EmulatorConfig
from local.function_url import LocalContext, build_event
from local.stack import EmbeddedStack, StackConfig
from tools.bench import Table

STATES = ("California", "Texas", "Florida", "New York", "Ohio", "Utah", "Iowa", "Maine")
YEARS = tuple(range(2009, 2019))
WARM_UP = 100  # hit and bare pairs before the measured ones


@dataclass(frozen=True)
class LocalParts:
    """One emulator and one moto; each `container` call builds another container on them."""

    emulator: Emulator
    moto: MotoServer
    catalogue: Catalogue

    def settings(self, rollups: RollupSettings) -> Settings:
        return Settings(
            warehouse=WarehouseSettings(
                host=self.emulator.url,
                warehouse_id=self.emulator.config.warehouse_id,
                token=SecretStr(self.emulator.config.token),
            ),
            cache=CacheSettings(
                table=CACHE_TABLE, bucket=CACHE_BUCKET, endpoint_url=self.moto.url, region=REGION
            ),
            rollups=rollups,
            # Budgets measured elsewhere (faults, load tests): here, every miss runs.
            gateway=GatewaySettings(statement_budget_per_minute=100_000),
        )

    def container(self, rollups: RollupSettings, recorder: Recorder | None = None) -> LambdaHandler:
        """A container; its metrics counted in memory, or written by `recorder`."""
        recorder = recorder or CountingRecorder()
        return new_container(self.catalogue, wire(self.settings(rollups), recorder), recorder)


@contextmanager
def local_parts() -> Iterator[LocalParts]:
    with Emulator(EmulatorConfig(port=0, latency_ms=0)) as emulator, MotoServer() as moto:
        create_cache_resources(moto.url)
        yield LocalParts(emulator, moto, load_catalogue())


@contextmanager
def handler_on_local_parts() -> Iterator[LambdaHandler]:
    with local_parts() as parts:
        yield parts.container(RollupSettings())


def _timed(
    handler: LambdaHandler, path: str, headers: list[tuple[str, str]], status: int = 200
) -> tuple[float, dict[str, object]]:
    event = build_event("GET", path, headers, b"", "127.0.0.1", "bench")
    started = time.perf_counter()
    response = handler(event, LocalContext("bench", 30.0))
    elapsed = (time.perf_counter() - started) * 1000
    # A refusal or an error is quick, and would pass for a fast answer.
    assert response["statusCode"] == status, (path, response["statusCode"], response["body"])
    return elapsed, response


def _row(name: str, samples: list[float], note: str) -> tuple[str, ...]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (name, str(len(samples)), f"{statistics.median(ordered):.2f}", f"{p95:.2f}", note)


def bare_lookup(parts: LocalParts, path: str) -> Callable[[], float]:
    """The hit's one round trip alone: the BatchGetItem of the same two items (entry and
    generation), strongly consistent, on a client built by the same code with the same
    settings as the store's (handler.container.build_store). Returns a timer of one call."""
    settings = parts.settings(RollupSettings())
    assert settings.cache is not None
    _, dynamodb = build_store(settings.cache, settings.pools.aws_connections)
    route, _, raw_query = path.partition("?")
    dataset = next(d for d in parts.catalogue.datasets if d.route == route)
    key = cache_key(
        parse_query(dataset, raw_query, None).canonical(dataset, parts.catalogue.version)
    )
    request: dict[str, Any] = {
        CACHE_TABLE: {
            "Keys": [entry_key(key), generation_key(dataset.name)],
            "ConsistentRead": True,
        }
    }

    def timed() -> float:
        started = time.perf_counter()
        answer = dynamodb.batch_get_item(RequestItems=request)
        elapsed = (time.perf_counter() - started) * 1000
        # The same items the hit reads, or the comparison means nothing.
        assert any(i["pk"]["S"] == f"q#{key}" for i in answer["Responses"][CACHE_TABLE])
        return elapsed

    return timed


def handler_section(rounds: int = 60, hits: int = 1000) -> Table:
    gzip = [("accept-encoding", "gzip")]
    page = "/v1/drivers?state=Texas&limit=50&offset={n}"
    # Metrics as the function writes them (handler.app): one EMF line per invocation,
    # here to /dev/null rather than to CloudWatch Logs through Lambda's stdout.
    with (
        local_parts() as parts,
        open(os.devnull, "w", encoding="utf-8") as sink,
        redirect_stdout(sink),
    ):
        derived = parts.container(RollupSettings(), EmfRecorder("Lakegate", "lakegate"))
        _timed(derived, "/v1/drivers?year=2016", gzip)  # its roll-up fetched, then held
        in_memory = [_timed(derived, page.format(n=n), gzip)[0] for n in range(rounds)]
        unheld = parts.container(RollupSettings(memory_bytes=0))  # reads the roll-up from S3
        from_s3 = [_timed(unheld, page.format(n=n + rounds), gzip)[0] for n in range(rounds)]
        statements = parts.container(RollupSettings(enabled=False))
        misses = [_timed(statements, page.format(n=n + 2 * rounds), gzip)[0] for n in range(rounds)]
        hit_path = "/v1/drivers?state=California&year=2016"
        _, first = _timed(derived, hit_path, gzip)
        bare = bare_lookup(parts, hit_path)
        # Interleaved, so both see the same moments of a shared, noisy machine; after a
        # warm-up of each (the first calls after the misses above fill caches anew).
        for _ in range(WARM_UP):
            _timed(derived, hit_path, gzip)
            bare()
        served: list[float] = []
        alone: list[float] = []
        for _ in range(hits):
            served.append(_timed(derived, hit_path, gzip)[0])
            alone.append(bare())
        etag = str(first["headers"]["ETag"])  # type: ignore[index]
        not_modified = [
            _timed(derived, hit_path, [*gzip, ("if-none-match", etag)], 304)[0] for _ in range(300)
        ]
    ratio = statistics.median(in_memory) / statistics.median(served)
    overhead = statistics.median(served) - statistics.median(alone)
    paired = statistics.median(s - a for s, a in zip(served, alone, strict=True))
    return Table(
        title="Handler time per request (in-process, real moto + emulator over loopback)",
        header=("path", "requests", "median ms", "p95 ms", "what it includes"),
        rows=[
            _row("hit", served, "one BatchGetItem, stored gzip served as is"),
            _row("bare BatchGetItem", alone, "the hit's two items alone, same client settings"),
            (
                "hit overhead",
                str(hits),
                f"{overhead:.2f}",
                "",
                "hit - bare (goal: <= 0.5, then 0.2)",
            ),
            _row("derived miss, roll-up in memory", in_memory, "lookup + polars + put (no lease)"),
            _row("derived miss, roll-up from S3", from_s3, "the same + roll-up read and decoded"),
            _row("warehouse miss", misses, "lookup + lease + budget + statement + polars + put"),
            _row("304", not_modified, "one BatchGetItem, no body"),
        ],
        note=f"Hit overhead: the difference of the medians ({overhead:.2f} ms; the median of "
        f"the {hits} paired differences is {paired:.2f} ms): everything a hit does besides its "
        f"round trip. A derived miss (roll-up in memory) takes {ratio:.1f}x a hit (goal: within "
        "3x). Emulator latency is 0 ms here; a real warehouse adds its own seconds to every "
        "warehouse miss, and nothing to a derived one.",
    )


def run_mix(
    paths: list[str], workers: int, environment: Mapping[str, str] | None = None
) -> tuple[list[int], int]:
    """Ask every path of `paths` of a fresh embedded stack, `workers` at a time (emulator
    latency 100 ms): each answer's status, and the statements the warehouse ran."""
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=100),
        max_containers=workers,
        environment=environment or {},
    )
    with EmbeddedStack(config) as stack, requests.Session() as session:
        assert stack.emulator is not None
        with ThreadPoolExecutor(max_workers=workers) as pool:
            statuses = list(
                pool.map(lambda p: session.get(f"{stack.url}{p}", timeout=60).status_code, paths)
            )
        stats = requests.get(f"{stack.emulator.url}/__emulator/stats", timeout=5).json()
    return statuses, int(stats["statements_executed"])


def dashboard_section(distinct: int = 60, requests_total: int = 1000, workers: int = 16) -> Table:
    queries = [f"/v1/drivers?state={s}&year={y}" for s in STATES for y in YEARS][:distinct]
    # Zipf: the k-th most popular query is asked 1/k^s as often as the first.
    weights = [1.0 / (rank**1.1) for rank in range(1, len(queries) + 1)]
    mix = random.Random(7).choices(queries, weights=weights, k=requests_total)
    statuses, statements = run_mix(mix, workers)
    return statements_table(
        f"Warehouse statements per {requests_total} requests (Zipf s=1.1 over {distinct} "
        f"queries, {workers} concurrent clients)",
        statuses,
        len(set(mix)),
        statements,
        "= 1 (drivers' roll-up: every query is derived from it)",
        "Without the cache every request would be a statement: 1000 per 1000; without "
        f"roll-ups, one per distinct query ({len(set(mix))}).",
    )


def statements_table(
    title: str, statuses: list[int], distinct: int, statements: int, goal: str, note: str
) -> Table:
    """Statements against their goal."""
    return Table(
        title=title,
        header=("requests", "errors", "distinct queries", "statements", "per 1000", "goal"),
        rows=[
            (
                str(len(statuses)),
                str(sum(1 for s in statuses if s != 200)),
                str(distinct),
                str(statements),
                f"{statements * 1000 / len(statuses):.1f}",
                goal,
            )
        ],
        note=note,
    )
