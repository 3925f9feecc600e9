"""The result cache: fresh hits, stale-while-revalidate, stale-if-error, single flight, fail open.

`ResultCache.serve` decides, for one request, where its response comes from:

    lookup ─┬─ fresh entry ─────────────────────────────────────────► hit
            ├─ stale entry ─┬─ someone refreshing / recent failure ─► stale
            │               └─ take lease ─► statement ─┬─ ok ──────► refreshed
            │                                           └─ fails ───► stale-if-error
            ├─ nothing ─► lead_or_join ─┬─ led ─► statement ────────► miss (stored)
            │                           └─ joined ──────────────────► collapsed
            └─ cache down ─► statement ─────────────────────────────► bypass
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from aws_lambda_powertools import Logger

from cache import metrics
from cache.entry import Entry, Lookup, Renderable
from cache.single_flight import FlightSettings, Led, lead_or_join, new_owner
from cache.store import CacheStore
from handler.catalogue import Freshness
from handler.errors import CacheUnavailable, UpstreamError
from handler.warehouse.deadline import Deadline

logger = Logger(child=True)

Outcome = Literal["hit", "miss", "collapsed", "stale", "refreshed", "stale-if-error", "bypass"]


@dataclass(frozen=True)
class Served:
    entry: Entry
    gzip_body: bytes
    outcome: Outcome
    now_ms: int
    error: UpstreamError | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def etag_for(body: bytes) -> str:
    """A strong validator over the uncompressed representation."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class ResultCache:
    def __init__(
        self,
        store: CacheStore,
        recorder: metrics.Recorder,
        flight: FlightSettings | None = None,
        *,
        now_ms: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._flight = flight or FlightSettings()
        self._now_ms = now_ms
        self._sleep = sleep

    def serve(
        self,
        dataset: str,
        key: str,
        freshness: Freshness,
        compute: Callable[[], Renderable],
        deadline: Deadline,
    ) -> Served:
        """The response for one request, from the cache or (at most once per key) the warehouse."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        try:
            served = self._serve(dataset, key, freshness, compute, deadline, timings)
        except CacheUnavailable as exc:
            logger.warning(
                "cache unavailable; serving from the warehouse",
                extra={"error_code": exc.error_code},
            )
            served = bypass(key, freshness, compute, timings, self._recorder, self._now_ms)
        total = (time.perf_counter() - started) * 1000
        timings["cache"] = max(0.0, total - timings.get("warehouse", 0.0))
        self._recorder.count(_METRIC[served.outcome])
        return served

    def _serve(
        self,
        dataset: str,
        key: str,
        freshness: Freshness,
        compute: Callable[[], Renderable],
        deadline: Deadline,
        timings: dict[str, float],
    ) -> Served:
        lookup = self._store.lookup(dataset, key)
        now = self._now_ms()
        entry = lookup.current_entry()
        if entry is not None and entry.is_fresh(now):
            return self._served(entry, "hit", now, timings)
        if entry is not None and entry.is_servable_stale(now):
            return self._stale(key, freshness, compute, lookup, entry, now, timings)
        flight = lead_or_join(
            self._store,
            dataset,
            key,
            lookup,
            deadline,
            self._flight,
            now_ms=self._now_ms,
            sleep=self._sleep,
            on_wait=lambda: self._recorder.count(metrics.LEASE_WAIT),
        )
        if not isinstance(flight, Led):
            return self._served(flight.entry, "collapsed", self._now_ms(), timings)
        fresh = self._compute_under_lease(key, flight.owner, compute, timings)
        # The generation read when the lease was taken, not before waiting: an invalidation
        # seen while waiting must not stamp our new result as already retired.
        generation = flight.lookup.generation
        return self._store_and_serve(key, generation, freshness, fresh, "miss", timings)

    def _stale(
        self,
        key: str,
        freshness: Freshness,
        compute: Callable[[], Renderable],
        lookup: Lookup,
        entry: Entry,
        now: int,
        timings: dict[str, float],
    ) -> Served:
        # Lambda cannot refresh after answering (the container freezes), so the one
        # invocation that wins the lease refreshes in line; the others answer stale at once.
        if lookup.failing(now) or lookup.lease_is_live(now):
            return self._served(entry, "stale", now, timings)
        owner = new_owner()
        if not self._store.try_lease(key, owner, now, self._flight.lease_ms):
            return self._served(entry, "stale", now, timings)
        try:
            fresh = self._compute_under_lease(key, owner, compute, timings)
        except UpstreamError as exc:
            return self._served(entry, "stale-if-error", self._now_ms(), timings, error=exc)
        return self._store_and_serve(key, lookup.generation, freshness, fresh, "refreshed", timings)

    def _compute_under_lease(
        self, key: str, owner: str, compute: Callable[[], Renderable], timings: dict[str, float]
    ) -> Renderable:
        try:
            return self._compute(compute, timings)
        except UpstreamError:
            with contextlib.suppress(CacheUnavailable):  # else the lease expires by itself
                self._store.release(key, owner, self._now_ms() + self._flight.error_hold_ms)
            raise

    def _compute(self, compute: Callable[[], Renderable], timings: dict[str, float]) -> Renderable:
        return timed_compute(compute, timings, self._recorder)

    def _store_and_serve(
        self,
        key: str,
        generation: int,
        freshness: Freshness,
        fresh: Renderable,
        outcome: Outcome,
        timings: dict[str, float],
    ) -> Served:
        entry = build_entry(key, generation, freshness, fresh, self._now_ms())
        try:
            entry = self._store.put(entry)
        except CacheUnavailable as exc:
            # A failed write never fails the request; the lease simply expires.
            logger.warning("cache write failed", extra={"error_code": exc.error_code})
            self._recorder.count(metrics.WRITE_FAILED)
        assert entry.gzip_body is not None
        return Served(entry, entry.gzip_body, outcome, entry.created_ms, timings_ms=timings)

    def _served(
        self,
        entry: Entry,
        outcome: Outcome,
        now: int,
        timings: dict[str, float],
        error: UpstreamError | None = None,
    ) -> Served:
        body = self._store.load_body(entry)
        return Served(entry, body, outcome, now, error=error, timings_ms=timings)


class UncachedResults:
    """What serves when no cache is configured: every request goes to the warehouse."""

    def __init__(
        self, recorder: metrics.Recorder, *, now_ms: Callable[[], int] = wall_clock_ms
    ) -> None:
        self._recorder = recorder
        self._now_ms = now_ms

    def serve(
        self,
        dataset: str,
        key: str,
        freshness: Freshness,
        compute: Callable[[], Renderable],
        deadline: Deadline,
    ) -> Served:
        served = bypass(key, freshness, compute, {}, self._recorder, self._now_ms)
        self._recorder.count(metrics.BYPASS)
        return served


def timed_compute(
    compute: Callable[[], Renderable], timings: dict[str, float], recorder: metrics.Recorder
) -> Renderable:
    started = time.perf_counter()
    try:
        return compute()
    finally:
        elapsed = (time.perf_counter() - started) * 1000
        timings["warehouse"] = elapsed
        recorder.count(metrics.STATEMENTS)
        recorder.milliseconds(metrics.WAREHOUSE_MS, elapsed)


def bypass(
    key: str,
    freshness: Freshness,
    compute: Callable[[], Renderable],
    timings: dict[str, float],
    recorder: metrics.Recorder,
    now_ms: Callable[[], int],
) -> Served:
    """Straight to the warehouse, nothing stored."""
    entry = build_entry(key, 0, freshness, timed_compute(compute, timings, recorder), now_ms())
    assert entry.gzip_body is not None
    return Served(entry, entry.gzip_body, "bypass", entry.created_ms, timings_ms=timings)


def build_entry(
    key: str, generation: int, freshness: Freshness, fresh: Renderable, now: int
) -> Entry:
    """Compress once and stamp validators and expiry: what every later hit serves as is."""
    fresh_until = now + freshness.ttl_seconds * 1000
    return Entry(
        key=key,
        generation=generation,
        gzip_body=gzip.compress(fresh.body, compresslevel=6, mtime=0),
        content_type=fresh.content_type,
        etag=etag_for(fresh.body),
        created_ms=now,
        fresh_until_ms=fresh_until,
        stale_until_ms=fresh_until + freshness.stale_seconds * 1000,
        row_count=fresh.row_count,
        has_more=fresh.has_more,
    )


_METRIC: dict[Outcome, str] = {
    "hit": metrics.HIT,
    "miss": metrics.MISS,
    "collapsed": metrics.COLLAPSED,
    "stale": metrics.STALE,
    "refreshed": metrics.REFRESH,
    "stale-if-error": metrics.STALE,
    "bypass": metrics.BYPASS,
}
