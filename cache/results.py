"""The result cache: fresh hits, stale-while-revalidate, stale-if-error, single flight, fail open.

`ResultCache.serve` decides, for one request, where its response comes from (a
"statement" below is `served.answer`: derived from a roll-up when one answers, else
the request's own statement; a derived miss or refresh is `derived` or
`refreshed-derived`, cache.outcomes):

    lookup ─┬─ fresh entry ─────────────────────────────────────────► hit
            ├─ a roll-up answers ─► derived, stored (no lease: no statement) ► miss/refreshed
            ├─ stale entry ─┬─ someone refreshing ──────────────────► stale
            │               ├─ key failing moments ago ─────────────► stale-if-error
            │               └─ take lease ─► statement ─┬─ ok ──────► refreshed
            │                                           └─ fails ───► stale-if-error
            │   (a body too large to answer in line is linked to, never loaded)
            ├─ nothing ─► lead_or_join ─┬─ led ─► statement ────────► miss (stored)
            │                           └─ joined ──────────────────► collapsed
            └─ cache down ─► in-process flight ─► statement ────────► bypass
                (identical queries in this container share one answer, kept while fresh)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger

from cache import metrics
from cache.entry import Entry, Lookup
from cache.errors import CacheUnavailable, NoResultInTime, Refused, Superseded
from cache.outcomes import Outcome
from cache.policy import Budget, CappedBudget, FlightPolicy
from cache.served import (
    Answer,
    CacheRequest,
    Served,
    answer,
    build_entry,
    bypass,
    derived_answer,
    wall_clock_ms,
)
from cache.single_flight import InProcessFlights, LeaseKeeper, Led, lead_or_join, new_owner
from cache.store import CacheStore

logger = Logger(service="lakegate", child=True)


# Answers a container keeps while the store is down (cache.single_flight.InProcessFlights).
_IN_PROCESS_BYTES = 32 * 1024 * 1024
_UNLEASED = "~unleased"  # the owner a put without a lease names: never a lease owner (hex)


class _Undeliverable(Exception):
    """A computed answer too large to send in line could not be stored as an object."""

    def __init__(self, cause: CacheUnavailable) -> None:
        super().__init__(str(cause))
        self.cause = cause


class ResultCache:
    def __init__(
        self,
        store: CacheStore,
        recorder: metrics.Recorder,
        flight: FlightPolicy | None = None,
        *,
        now_ms: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._recorder = recorder
        self._flight = flight or FlightPolicy()
        self._now_ms = now_ms
        self._sleep = sleep
        self._in_process = InProcessFlights(_IN_PROCESS_BYTES, now_ms)

    def serve(self, request: CacheRequest) -> Served:
        """The response for one request, from the cache or (at most once per key) the warehouse."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        try:
            served = self._serve(request, timings)
        except _Undeliverable as exc:
            raise exc.cause from None  # the statement ran: running it again would not help
        except CacheUnavailable as exc:
            logger.warning(
                "cache unavailable; serving from the warehouse",
                extra={"error_code": exc.error_code},
            )
            served = self._in_process.serve(
                request.key,
                request.budget,
                lambda: bypass(request, timings, self._recorder, self._now_ms),
            )
        total = (time.perf_counter() - started) * 1000
        timings["cache"] = max(0.0, total - timings.get("warehouse", 0.0))
        self._recorder.count(served.outcome.counter)
        return served

    def _serve(self, request: CacheRequest, timings: dict[str, float]) -> Served:
        lookup = self._store.lookup(request.dataset, request.key)
        now = self._now_ms()
        entry = lookup.current_entry()
        if entry is not None and entry.is_fresh(now):
            return self._served(request, entry, Outcome.HIT, now, timings)
        derived = self._derived(request, lookup, now, timings)
        if derived is not None:
            return derived
        if entry is not None and entry.is_servable_stale(now):
            return self._stale(request, lookup, entry, now, timings)
        try:
            flight = lead_or_join(
                self._store,
                request.dataset,
                request.key,
                lookup,
                request.budget,
                self._flight,
                now_ms=self._now_ms,
                sleep=self._sleep,
                on_wait=lambda: self._recorder.count(metrics.LEASE_WAIT),
            )
        except NoResultInTime:
            self._recorder.count(metrics.GAVE_UP)
            raise
        if not isinstance(flight, Led):
            return self._served(request, flight.entry, Outcome.COLLAPSED, self._now_ms(), timings)
        # The generation read when the lease was taken, not before waiting: an invalidation
        # seen while waiting must not stamp our new result as already retired.
        generation = flight.lookup.generation
        fresh = self._compute_under_lease(
            request, flight.owner, request.budget, timings, generation
        )
        return self._store_and_serve(
            request, flight.owner, generation, fresh, Outcome.MISS, timings, flight.leased_at_ms
        )

    def _derived(
        self, request: CacheRequest, lookup: Lookup, now: int, timings: dict[str, float]
    ) -> Served | None:
        """The answer from a roll-up, made and stored without taking the key's lease: it
        costs no statement, and the roll-up has a single flight of its own. None when no
        roll-up answers. With a stale entry in hand, a failure serves it (stale-if-error)."""
        if request.derive is None:
            return None
        entry = lookup.current_entry()
        stale = entry if entry is not None and entry.is_servable_stale(now) else None
        budget = request.budget if stale is None else self._stale_budget(request)
        try:
            made = derived_answer(request, budget, timings, self._recorder, lookup.generation)
        except CacheUnavailable:
            raise
        except Exception as exc:
            if stale is None:
                raise
            return self._served(
                request, stale, Outcome.STALE_IF_ERROR, self._now_ms(), timings, error=exc
            )
        if made is None:
            return None
        assert made.vintage is not None
        outcome = Outcome.MISS if stale is None else Outcome.REFRESHED
        # Unleased: stored unless an entry made from newer data is there already.
        newer_than = made.vintage.created_ms + 1
        return self._store_and_serve(
            request, None, lookup.generation, made, outcome, timings, newer_than
        )

    def _stale_budget(self, request: CacheRequest) -> Budget:
        # A stale copy is in hand: a sick warehouse gets a short try, not the whole budget.
        return CappedBudget(request.budget, self._flight.stale_refresh_s)

    def _stale(
        self,
        request: CacheRequest,
        lookup: Lookup,
        entry: Entry,
        now: int,
        timings: dict[str, float],
    ) -> Served:
        # The one invocation that wins the lease refreshes; everyone answers stale at once.
        # Lambda cannot work after answering (the container freezes), so the refresh goes to
        # an asynchronous invocation when the handler offers one, else it runs in line.
        if lookup.failing(now):
            return self._served(request, entry, Outcome.STALE_IF_ERROR, now, timings)
        if lookup.lease_is_live(now):
            return self._served(request, entry, Outcome.STALE, now, timings)
        owner = new_owner()
        if not self._store.try_lease(
            request.key, owner, now, self._flight.lease_ms, lookup.generation, as_seen=lookup
        ):
            return self._served(request, entry, Outcome.STALE, now, timings)
        if request.refresh_later is not None:
            try:
                request.refresh_later(owner)
            except Exception as exc:  # could not hand it off: free the key, answer stale
                logger.warning("refresh hand-off failed", extra={"error": type(exc).__name__})
                self._release(request.key, owner, None)
            return self._served(request, entry, Outcome.STALE, now, timings)
        budget = self._stale_budget(request)
        try:
            fresh = self._compute_under_lease(request, owner, budget, timings, lookup.generation)
        except Exception as exc:  # any failure or refusal: the stale copy is the better answer
            return self._served(
                request, entry, Outcome.STALE_IF_ERROR, self._now_ms(), timings, error=exc
            )
        return self._store_and_serve(
            request, owner, lookup.generation, fresh, Outcome.REFRESHED, timings, now
        )

    def refresh(self, request: CacheRequest, owner: str) -> Outcome | None:
        """Run a refresh handed off by `refresh_later`, under the lease it took for us.

        None when there was nothing to do: the lease is no longer ours (it ran out and
        another invocation took the key), or its refresh was refused or failed (the
        stale copy stays, and a failure holds the key failing, as in line)."""
        timings: dict[str, float] = {}
        try:
            renewed_at = self._now_ms()
            if not self._store.renew_lease(request.key, owner, renewed_at + self._flight.lease_ms):
                return None
            generation = self._store.lookup(request.dataset, request.key).generation
            fresh = self._compute_under_lease(request, owner, request.budget, timings, generation)
            self._store_and_serve(
                request, owner, generation, fresh, Outcome.REFRESHED, timings, renewed_at
            )
        except Exception as exc:  # nobody waits for this answer: log it, keep the stale copy
            logger.warning("asynchronous refresh failed", extra={"error": type(exc).__name__})
            return None
        self._recorder.count(Outcome.REFRESHED.counter)
        return Outcome.REFRESHED

    def _compute_under_lease(
        self,
        request: CacheRequest,
        owner: str,
        budget: Budget,
        timings: dict[str, float],
        generation: int,
    ) -> Answer:
        try:
            with LeaseKeeper(self._store, request.key, owner, self._flight.lease_ms, self._now_ms):
                return answer(request, budget, timings, self._recorder, generation)
        except Refused:
            # Not a failure of the key: the next request (another consumer's) may run it.
            self._release(request.key, owner, None)
            self._recorder.count(metrics.REFUSED)
            raise
        except Exception:
            # Whatever went wrong, the lease must not outlive this request.
            self._release(request.key, owner, self._now_ms() + self._flight.error_hold_ms)
            raise

    def _release(self, key: str, owner: str, error_until_ms: int | None) -> None:
        with contextlib.suppress(CacheUnavailable):  # else the lease expires by itself
            self._store.release(key, owner, error_until_ms)

    def _store_and_serve(
        self,
        request: CacheRequest,
        owner: str | None,
        generation: int,
        fresh: Answer,
        outcome: Outcome,
        timings: dict[str, float],
        leased_at_ms: int,
    ) -> Served:
        entry = build_entry(
            request.key,
            generation,
            request.freshness,
            fresh.page,
            self._now_ms(),
            vintage=fresh.vintage,
        )
        if fresh.derived:  # made from a roll-up: the same miss or refresh, said so
            outcome = outcome.from_rollup()
        by_reference = request.by_reference(entry)
        try:
            # Without a lease (a derived answer) the same condition holds: nothing stored
            # since `leased_at_ms`, which no owner matches.
            put = self._store.put(
                entry, owner=owner or _UNLEASED, leased_at_ms=leased_at_ms, as_object=by_reference
            )
            entry, stored = put, True
        except Superseded:
            # Our lease lapsed and another invocation stored the key meanwhile: its result
            # stands, and it is what we answer, as any waiter would.
            theirs = self._store.lookup(request.dataset, request.key).current_entry()
            if theirs is not None:
                return self._served(request, theirs, Outcome.COLLAPSED, self._now_ms(), timings)
            stored = False
        except CacheUnavailable as exc:
            # A failed write never fails the request. Free the waiters if we still can.
            logger.warning("cache write failed", extra={"error_code": exc.error_code})
            self._recorder.count(metrics.WRITE_FAILED)
            if owner is not None:
                self._release(request.key, owner, None)
            if by_reference:
                # Without its object the answer cannot be sent whole: 503, come back.
                raise _Undeliverable(exc) from exc
            stored = False
        if by_reference:
            try:
                link = self._store.presigned_url(entry, request.dataset)
            except CacheUnavailable as exc:
                raise _Undeliverable(exc) from exc
            return Served(
                entry,
                b"",
                outcome,
                self._now_ms(),
                timings_ms=timings,
                stored=stored,
                location=link,
            )
        assert entry.gzip_body is not None
        return Served(
            entry,
            entry.gzip_body,
            outcome,
            self._now_ms(),
            timings_ms=timings,
            stored=stored,
        )

    def _served(
        self,
        request: CacheRequest,
        entry: Entry,
        outcome: Outcome,
        now: int,
        timings: dict[str, float],
        error: Exception | None = None,
    ) -> Served:
        if entry.s3_key is not None and request.by_reference(entry):
            # Answered by reference: the object is never read here, only linked to.
            link = self._store.presigned_url(entry, request.dataset)
            return Served(entry, b"", outcome, now, error=error, timings_ms=timings, location=link)
        body = self._store.load_body(entry)
        return Served(entry, body, outcome, now, error=error, timings_ms=timings)
