"""Single flight: on a miss, one invocation runs the statement and the others wait for it.

Across containers the lease below elects the one; while the store is down there is no
lease to take, and `InProcessFlights` does the same within a container: identical
queries share one answer, kept for its freshness as an entry would be.

Why not Powertools' Idempotency utility? Its DynamoDB layer does the right conditional
in-progress write, but (1) a concurrent caller gets IdempotencyAlreadyInProgressError at
once instead of waiting for the result, (2) a record has one expiry, so there is no
stale-while-revalidate or stale-if-error, (3) it cannot retire a whole dataset in O(1)
(our generation counter) or read the generation in the same round trip, and (4) it
stores JSON in the item, with no S3 overflow for large gzip bodies. So the lease is
ours: a conditional UpdateItem on the entry's own item (`lease_until < now`), which a
dead holder's lease simply outlives.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cache.entry import Entry, Lookup
from cache.errors import CacheUnavailable, KeyFailing, LeaseWaitTimeout
from cache.policy import Budget, FlightPolicy
from cache.served import Served
from cache.store import CacheStore


@dataclass(frozen=True)
class Led:
    """This invocation took the lease: the caller runs the statement."""

    owner: str
    lookup: Lookup
    leased_at_ms: int


@dataclass(frozen=True)
class Joined:
    """Another invocation produced the entry while this one waited."""

    entry: Entry


def new_owner() -> str:
    return uuid.uuid4().hex


def lead_or_join(
    store: CacheStore,
    dataset: str,
    key: str,
    lookup: Lookup,
    budget: Budget,
    settings: FlightPolicy,
    *,
    now_ms: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[], None] = lambda: None,
) -> Led | Joined:
    """Take the lease, or wait (short backoff) until the holder stores the entry.

    A result stored after the first `lookup` is the one this request would compute: it
    is taken, however short its freshness, and never computed again."""
    first_seen = _made(lookup.entry)
    pauses = 0
    while True:
        now = now_ms()
        if lookup.failing(now):
            assert lookup.error_until_ms is not None
            raise KeyFailing(
                "a statement for this query failed moments ago",
                retry_after=max(1, math.ceil((lookup.error_until_ms - now) / 1000)),
            )
        if not lookup.lease_is_live(now):
            owner = new_owner()
            if store.try_lease(
                key, owner, now, settings.lease_ms, lookup.generation, as_seen=lookup
            ):
                return Led(owner=owner, lookup=lookup, leased_at_ms=now)
        pause = min(settings.max_pause_s, settings.first_pause_s * (2.0**pauses))
        if budget.remaining() <= pause:
            raise LeaseWaitTimeout(
                "gave up waiting for another invocation's result",
                retry_after=max(1, math.ceil(settings.lease_ms / 1000)),
            )
        if pauses == 0:
            on_wait()
        sleep(pause)
        pauses += 1
        lookup = store.lookup(dataset, key)
        entry = lookup.current_entry()
        if entry is not None and (entry.is_fresh(now_ms()) or entry.created_ms != first_seen):
            return Joined(entry)


def _made(entry: Entry | None) -> int | None:
    """When an entry was made: what tells one stored result from another."""
    return None if entry is None else entry.created_ms


class LeaseKeeper:
    """Keeps a lease alive while its holder computes, so a statement slower than the lease
    is never started a second time by a waiter who thought the holder dead. A holder that
    really dies stops renewing, and its lease runs out as before."""

    def __init__(
        self,
        store: CacheStore,
        key: str,
        owner: str,
        lease_ms: int,
        now_ms: Callable[[], int],
    ) -> None:
        self._store = store
        self._key = key
        self._owner = owner
        self._lease_ms = lease_ms
        self._now_ms = now_ms
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{key[:8]}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=2.0)

    def _renew(self) -> None:
        # Renew at a third of the lease: two renewals may fail before waiters take over.
        while not self._stopped.wait(self._lease_ms / 3000):
            try:
                if not self._store.renew_lease(
                    self._key, self._owner, self._now_ms() + self._lease_ms
                ):
                    return  # no longer ours (released, or stored by another): stop
            except CacheUnavailable:
                continue  # the lease may still expire; keep trying while we compute


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    served: Served | None = None
    error: BaseException | None = None


class InProcessFlights:
    """While the store is down: one answer per query at a time in this container, kept
    (least recently used first out, `max_bytes` of bodies in all) while it is fresh.

    A waiter gets the leader's answer, or its error: a failing warehouse meets one
    statement per query, not one per request. Deliberate per-container state."""

    def __init__(self, max_bytes: int, now_ms: Callable[[], int]) -> None:
        self._max_bytes = max_bytes
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._kept: OrderedDict[str, Served] = OrderedDict()

    def serve(self, key: str, budget: Budget, make: Callable[[], Served]) -> Served:
        with self._lock:
            now = self._now_ms()
            kept = self._kept.get(key)
            if kept is not None and kept.entry.is_fresh(now):
                self._kept.move_to_end(key)
                return replace(kept, now_ms=now, stored=False)
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            if not flight.done.wait(timeout=max(0.0, budget.remaining())):
                raise LeaseWaitTimeout("gave up waiting for this container's answer", retry_after=5)
            if flight.error is not None:
                raise flight.error
            assert flight.served is not None
            return replace(flight.served, now_ms=self._now_ms(), stored=False)
        try:
            flight.served = make()
            self._keep(key, flight.served)
            return flight.served
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    def _keep(self, key: str, served: Served) -> None:
        if served.location is not None or len(served.gzip_body) > self._max_bytes:
            return
        with self._lock:
            self._kept[key] = served
            total = sum(len(s.gzip_body) for s in self._kept.values())
            while total > self._max_bytes:
                _, dropped = self._kept.popitem(last=False)
                total -= len(dropped.gzip_body)
