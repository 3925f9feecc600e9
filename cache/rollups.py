"""Roll-ups: intermediate results fetched once per freshness window, shared by every container.

A roll-up is one statement's answer that many queries are derived from (the handler
says which, and how). It is kept as an entry is: under its own key in the cache table,
stamped with the dataset's generation (an invalidation retires it with everything
else), its body an S3 object, fetched under single flight, so one statement per
roll-up per freshness window runs across all containers however many queries arrive
at once. Each container also holds the decoded value in memory (`Held`, bounded in
bytes), so a warm container derives an answer without reading S3:

    held, fresh, this generation ───────────────────────────────────────► memory
    lookup ─┬─ fresh entry ─► object ─► decode ────────────────────────► store
            ├─ stale entry ─► object ─► decode (+ one refresh, as entries) ► store
            ├─ oversize marker ─► RollupOversize: the query runs its own statement
            ├─ nothing ─► lead_or_join ─┬─ led ─► statement ─► object + entry ► warehouse
            │                           └─ joined ─► object ─► decode ───────► store
            └─ cache down ─► in-process single flight: one statement per container ► warehouse

A fetch that finds more rows than the roll-up's bound stores an oversize marker for
the freshness window instead, so queries go to their own statements at once rather
than each fetching the roll-up again.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from aws_lambda_powertools import Logger

from cache import metrics
from cache.entry import Entry, Lookup
from cache.errors import CacheError, CacheUnavailable, Superseded
from cache.held import Held, Kept
from cache.policy import Budget, CappedBudget, FlightPolicy, Freshness
from cache.served import Vintage, build_entry, vintage_of, wall_clock_ms
from cache.single_flight import LeaseKeeper, Led, lead_or_join, new_owner
from cache.store import CacheStore

logger = Logger(service="lakegate", child=True)

T = TypeVar("T")
OVERSIZE = "application/x.lakegate.rollup-oversize"  # the content type of the marker
Source = Literal["memory", "store", "warehouse"]


class RollupOversize(CacheError):
    """The roll-up holds more rows than its bound this freshness window: not used."""


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    """A roll-up's value as a container holds it, and the bytes it takes there."""

    value: T
    size: int


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """What the roll-up's statement gave: its body and value, or None past its bound."""

    rows: int
    body: bytes | None = None
    decoded: Decoded[T] | None = None


@dataclass(frozen=True, slots=True)
class RollupRequest(Generic[T]):
    """One roll-up, as the cache sees it: where it lives and how to make and read it."""

    dataset: str
    key: str
    freshness: Freshness
    fetch: Callable[[Budget], Fetched[T]]  # runs its statement, within the budget
    decode: Callable[[bytes], Decoded[T]]  # its stored body back into a value
    admit: Callable[[], None]  # asked right before its statement starts
    # Hands a stale roll-up's refresh to another invocation (handler.refresh), given the
    # lease owner it must refresh under. None: refresh in line, briefly.
    refresh_later: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True)
class Obtained(Generic[T]):
    value: T
    vintage: Vintage
    source: Source
    timings_ms: dict[str, float] = field(default_factory=dict)


class Rollups:
    """Obtains roll-ups for the handler: from memory, the store or (once) the warehouse."""

    def __init__(
        self,
        store: CacheStore | None,
        recorder: metrics.Recorder,
        held: Held,
        flight: FlightPolicy | None = None,
        *,
        now_ms: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._held = held
        self._flight = flight or FlightPolicy()
        self._now_ms = now_ms
        self._sleep = sleep
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def obtain(
        self, request: RollupRequest[T], generation: int | None, budget: Budget
    ) -> Obtained[T]:
        """The roll-up's value; raises RollupOversize, a warehouse error or NoResultInTime.

        `generation`: the dataset's, as the asking request saw it (None: unknown)."""
        started = time.perf_counter()
        kept = self._held.get(request.key)
        fresh = kept is not None and kept.vintage.fresh_until_ms > self._now_ms()
        if kept is not None and fresh and generation in (None, kept.generation):
            return self._obtained(kept, "memory", started)
        if self._store is None:
            return self._in_process(request, budget, started)
        try:
            return self._from_store(request, self._store, budget, started)
        except CacheUnavailable as exc:
            logger.warning(
                "cache unavailable; roll-up fetched in process",
                extra={"error_code": exc.error_code},
            )
            return self._in_process(request, budget, started)

    def refresh(self, request: RollupRequest[T], owner: str, budget: Budget) -> bool:
        """Run a stale roll-up's refresh handed off by `refresh_later`, under its lease."""
        store = self._store
        if store is None:
            return False
        try:
            renewed_at = self._now_ms()
            if not store.renew_lease(request.key, owner, renewed_at + self._flight.lease_ms):
                return False
            generation = store.lookup(request.dataset, request.key).generation
            self._fetch_under_lease(request, store, owner, generation, renewed_at, budget)
        except Exception as exc:  # nobody waits for it: the stale copy stays
            logger.warning("roll-up refresh failed", extra={"error": type(exc).__name__})
            return False
        return True

    # -- the paths ---------------------------------------------------------------------

    def _from_store(
        self, request: RollupRequest[T], store: CacheStore, budget: Budget, started: float
    ) -> Obtained[T]:
        lookup = store.lookup(request.dataset, request.key)
        now = self._now_ms()
        entry = lookup.current_entry()
        if entry is not None and entry.is_fresh(now):
            return self._loaded(request, store, entry, lookup.generation, started)
        if entry is not None and entry.is_servable_stale(now):
            self._refresh_stale(request, store, lookup, now, budget)
            return self._loaded(request, store, entry, lookup.generation, started)
        flight = lead_or_join(
            store,
            request.dataset,
            request.key,
            lookup,
            budget,
            self._flight,
            now_ms=self._now_ms,
            sleep=self._sleep,
        )
        if not isinstance(flight, Led):
            return self._loaded(request, store, flight.entry, flight.entry.generation, started)
        kept = self._fetch_under_lease(
            request, store, flight.owner, flight.lookup.generation, flight.leased_at_ms, budget
        )
        return self._obtained(kept, "warehouse", started)

    def _refresh_stale(
        self,
        request: RollupRequest[T],
        store: CacheStore,
        lookup: Lookup,
        now: int,
        budget: Budget,
    ) -> None:
        """One refresh for a stale roll-up: handed off, or in line with a short budget."""
        if lookup.failing(now) or lookup.lease_is_live(now):
            return
        owner = new_owner()
        if not store.try_lease(
            request.key, owner, now, self._flight.lease_ms, lookup.generation, as_seen=lookup
        ):
            return
        try:
            if request.refresh_later is not None:
                request.refresh_later(owner)
                return
            capped = CappedBudget(budget, self._flight.stale_refresh_s)
            self._fetch_under_lease(request, store, owner, lookup.generation, now, capped)
        except Exception as exc:  # the stale copy is the better answer
            logger.warning("roll-up refresh failed", extra={"error": type(exc).__name__})
            self._release(store, request.key, owner)

    def _fetch_under_lease(
        self,
        request: RollupRequest[T],
        store: CacheStore,
        owner: str,
        generation: int,
        leased_at_ms: int,
        budget: Budget,
    ) -> Kept:
        try:
            with LeaseKeeper(store, request.key, owner, self._flight.lease_ms, self._now_ms):
                fetched = self._fetch(request, budget)
        except Exception:
            self._release(store, request.key, owner, self._now_ms() + self._flight.error_hold_ms)
            raise
        now = self._now_ms()
        entry = build_entry(
            request.key, generation, request.freshness, _Body(fetched), now, compresslevel=1
        )
        try:
            # The body is an object; the oversize marker (no body) stays in the item.
            as_object = fetched.body is not None
            store.put(entry, owner=owner, leased_at_ms=leased_at_ms, as_object=as_object)
        except Superseded:
            pass  # another invocation stored it meanwhile: ours is as good
        except CacheUnavailable as exc:
            logger.warning("roll-up write failed", extra={"error_code": exc.error_code})
            self._recorder.count(metrics.WRITE_FAILED)
            self._release(store, request.key, owner)
        return self._keep(request.key, generation, _vintage(entry), fetched.decoded)

    def _in_process(self, request: RollupRequest[T], budget: Budget, started: float) -> Obtained[T]:
        """Without the store: one fetch per roll-up at a time in this container."""
        with self._lock_of(request.key):
            kept = self._held.get(request.key)
            if kept is not None and kept.vintage.fresh_until_ms > self._now_ms():
                return self._obtained(kept, "memory", started)
            fetched = self._fetch(request, budget)
            vintage = vintage_of(request.freshness, self._now_ms())
            kept = self._keep(request.key, None, vintage, fetched.decoded)
        return self._obtained(kept, "warehouse", started)

    # -- steps -------------------------------------------------------------------------

    def _fetch(self, request: RollupRequest[T], budget: Budget) -> Fetched[T]:
        with contextlib.suppress(CacheUnavailable):  # counters down with the cache: fail open
            request.admit()
        started = time.perf_counter()
        try:
            return request.fetch(budget)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self._recorder.count(metrics.STATEMENTS)
            self._recorder.count(metrics.ROLLUP_FETCHED)
            self._recorder.milliseconds(metrics.WAREHOUSE_MS, elapsed)

    def _loaded(
        self,
        request: RollupRequest[T],
        store: CacheStore,
        entry: Entry,
        generation: int,
        started: float,
    ) -> Obtained[T]:
        kept = self._held.get(request.key)
        same = kept is not None and kept.vintage.created_ms == entry.created_ms
        if kept is not None and same and kept.generation == generation:
            return self._obtained(kept, "memory", started)
        if entry.content_type == OVERSIZE:
            decoded: Decoded[T] | None = None
        else:
            decoded = request.decode(gzip.decompress(store.load_body(entry)))
            self._recorder.count(metrics.ROLLUP_LOADED)
        kept = self._keep(request.key, generation, _vintage(entry), decoded)
        return self._obtained(kept, "store", started)

    def _keep(
        self, key: str, generation: int | None, vintage: Vintage, decoded: Decoded[T] | None
    ) -> Kept:
        """Held in memory; an oversize roll-up as a marker (nothing to hold, nothing to refetch)."""
        if decoded is None:
            kept = Kept(generation, vintage, _OVER_BOUND, 0)
        else:
            kept = Kept(generation, vintage, decoded.value, decoded.size)
        self._held.put(key, kept)
        return kept

    def _obtained(self, kept: Kept, source: Source, started: float) -> Obtained[T]:
        if kept.value is _OVER_BOUND:
            raise RollupOversize("the roll-up holds more rows than its bound")
        elapsed = (time.perf_counter() - started) * 1000
        return Obtained(kept.value, kept.vintage, source, {"rollup": elapsed})  # type: ignore[arg-type]

    def _release(
        self, store: CacheStore, key: str, owner: str, error_until_ms: int | None = None
    ) -> None:
        with contextlib.suppress(CacheUnavailable):  # else the lease expires by itself
            store.release(key, owner, error_until_ms)

    def _lock_of(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())


_OVER_BOUND = object()  # what a container holds for an oversize roll-up


def _vintage(entry: Entry) -> Vintage:
    return Vintage(entry.created_ms, entry.fresh_until_ms, entry.stale_until_ms)


@dataclass(frozen=True, slots=True)
class _Body:
    """A fetched roll-up as an entry's body; past its bound, the oversize marker."""

    fetched: Fetched[Any]

    @property
    def body(self) -> bytes:
        return self.fetched.body or b""

    @property
    def content_type(self) -> str:
        return "application/vnd.apache.parquet" if self.fetched.body else OVERSIZE

    @property
    def row_count(self) -> int:
        return self.fetched.rows

    @property
    def has_more(self) -> bool:
        return False
