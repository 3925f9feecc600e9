"""Cache benchmarks: handler time for a hit, a derived miss, a warehouse miss and a 304;
statements per 1000 dashboard requests.

Everything runs on real parts on 127.0.0.1: the warehouse emulator (latency 0, so a
miss measures lakegate's own work plus DuckDB), moto's DynamoDB/S3 in its own process,
and the handler called in-process exactly as Lambda calls it.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import requests
from pydantic import SecretStr

from cache import CountingRecorder
from handler.catalogue import load_catalogue
from handler.container import LambdaHandler, new_container, wire
from handler.settings import CacheSettings, RollupSettings, Settings, WarehouseSettings
from local.aws import CACHE_BUCKET, CACHE_TABLE, REGION, MotoServer, create_cache_resources
from local.emulator import Emulator, EmulatorConfig
from local.function_url import LocalContext, build_event
from local.stack import EmbeddedStack, StackConfig
from tools.bench import Table

STATES = ("California", "Texas", "Florida", "New York", "Ohio", "Utah", "Iowa", "Maine")
YEARS = tuple(range(2009, 2019))


@contextmanager
def local_parts() -> Iterator[Callable[[RollupSettings], LambdaHandler]]:
    """Containers on one emulator and one moto: each call builds another container."""
    with Emulator(EmulatorConfig(port=0, latency_ms=0)) as emulator, MotoServer() as moto:
        create_cache_resources(moto.url)

        def container(rollups: RollupSettings) -> LambdaHandler:
            settings = Settings(
                warehouse=WarehouseSettings(
                    host=emulator.url,
                    warehouse_id=emulator.config.warehouse_id,
                    token=SecretStr(emulator.config.token),
                ),
                cache=CacheSettings(
                    table=CACHE_TABLE, bucket=CACHE_BUCKET, endpoint_url=moto.url, region=REGION
                ),
                rollups=rollups,
            )
            recorder = CountingRecorder()
            return new_container(load_catalogue(), wire(settings, recorder), recorder)

        yield container


@contextmanager
def handler_on_local_parts() -> Iterator[LambdaHandler]:
    with local_parts() as container:
        yield container(RollupSettings())


def _timed(
    handler: LambdaHandler, path: str, headers: list[tuple[str, str]]
) -> tuple[float, dict[str, object]]:
    event = build_event("GET", path, headers, b"", "127.0.0.1", "bench")
    started = time.perf_counter()
    response = handler(event, LocalContext("bench", 30.0))
    return (time.perf_counter() - started) * 1000, response


def _row(name: str, samples: list[float], note: str) -> tuple[str, ...]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (name, str(len(samples)), f"{statistics.median(ordered):.2f}", f"{p95:.2f}", note)


def handler_section(rounds: int = 60) -> Table:
    gzip = [("accept-encoding", "gzip")]
    page = "/v1/drivers?state=Texas&limit=50&offset={n}"
    with local_parts() as container:
        derived = container(RollupSettings())
        _timed(derived, "/v1/drivers?year=2016", gzip)  # its roll-up fetched, then held
        in_memory = [_timed(derived, page.format(n=n), gzip)[0] for n in range(rounds)]
        unheld = container(RollupSettings(memory_bytes=0))  # reads the roll-up from S3
        from_s3 = [_timed(unheld, page.format(n=n + rounds), gzip)[0] for n in range(rounds)]
        statements = container(RollupSettings(enabled=False))
        misses = [_timed(statements, page.format(n=n + 2 * rounds), gzip)[0] for n in range(rounds)]
        hit_path = "/v1/drivers?state=California&year=2016"
        _, first = _timed(derived, hit_path, gzip)
        hits = [_timed(derived, hit_path, gzip)[0] for _ in range(300)]
        etag = str(first["headers"]["ETag"])  # type: ignore[index]
        not_modified = [
            _timed(derived, hit_path, [*gzip, ("if-none-match", etag)])[0] for _ in range(300)
        ]
    ratio = statistics.median(in_memory) / statistics.median(hits)
    return Table(
        title="Handler time per request (in-process, real moto + emulator over loopback)",
        header=("path", "requests", "median ms", "p95 ms", "what it includes"),
        rows=[
            _row("hit", hits, "one BatchGetItem, stored gzip served as is"),
            _row("derived miss, roll-up in memory", in_memory, "lookup + polars + put (no lease)"),
            _row("derived miss, roll-up from S3", from_s3, "the same + roll-up read and decoded"),
            _row("warehouse miss", misses, "lookup + lease + budget + statement + polars + put"),
            _row("304", not_modified, "one BatchGetItem, no body"),
        ],
        note=f"A derived miss (roll-up in memory) takes {ratio:.1f}x a hit (goal: within 3x). "
        "Emulator latency is 0 ms here; a real warehouse adds its own seconds to every "
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
