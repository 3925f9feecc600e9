"""ResultCache: where one request's response comes from.

Fresh entry → hit. Nothing → one invocation leads (miss, stored), the others wait and
collapse onto its result. Stale entry → served at once while one invocation refreshes,
or served with the error when the refresh fails. A failing key fails fast. A generation
bump retires every entry. A broken store is bypassed, and a failed write never fails the
request. Time here is a fake clock; `sleep` only advances it (and can act as the other
invocation), so nothing waits for real except the threaded single-flight test.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from cache import (
    CacheRequest,
    CacheUnavailable,
    CountingRecorder,
    Derived,
    Entry,
    FlightPolicy,
    Freshness,
    KeyFailing,
    LeaseWaitTimeout,
    Lookup,
    Outcome,
    OverConsumerBudget,
    OverStatementBudget,
    ResultCache,
    Served,
    UncachedResults,
    Vintage,
    build_entry,
    metrics,
)
from cache.memory import MemoryCacheStore

DATASET = "drivers"
KEY = "k" * 64
FRESHNESS = Freshness(ttl_seconds=300, stale_seconds=3600)
FLIGHT = FlightPolicy()  # lease 8 s, error hold 2 s, pauses 20 ms doubling to 250 ms
START_MS = 1_800_000_000_000
OUTCOME_METRICS = (
    metrics.HIT,
    metrics.MISS,
    metrics.COLLAPSED,
    metrics.STALE,
    metrics.REFRESH,
    metrics.BYPASS,
)


class WarehouseFailure(Exception):
    """What the computation raises; the cache treats any exception alike."""


class StatementFailed(WarehouseFailure):
    pass


@dataclass
class Deadline:
    """A Budget on a clock the test controls."""

    expires_at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.clock())


def request(
    key: str,
    compute: Callable[[Deadline], Page],
    budget: Deadline,
    admit: Callable[[], None] = lambda: None,
    refresh_later: Callable[[str], None] | None = None,
) -> CacheRequest:
    return CacheRequest(
        DATASET,
        key,
        FRESHNESS,
        compute,  # type: ignore[arg-type]
        budget,
        admit,
        refresh_later,
    )


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str = "application/json"
    row_count: int = 2
    has_more: bool = False


@dataclass
class Warehouse:
    """The compute function: counts statements, answers a new body each time, or fails."""

    failure: Exception | None = None
    calls: int = 0
    deadlines: list[Deadline] = field(default_factory=list)

    def __call__(self, deadline: Deadline) -> Page:
        self.deadlines.append(deadline)
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return Page(body=f'{{"statement": {self.calls}}}'.encode())


@dataclass
class Rig:
    store: MemoryCacheStore = field(default_factory=MemoryCacheStore)
    recorder: CountingRecorder = field(default_factory=CountingRecorder)
    warehouse: Warehouse = field(default_factory=Warehouse)
    now: int = START_MS
    pauses: list[float] = field(default_factory=list)
    # What "the other invocation" does while we sleep; called with the pause number
    # (whatever it returns is ignored).
    meanwhile: Callable[[int], object] = lambda pause: None
    admitted: int = 0
    refusal: Exception | None = None

    def now_ms(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += round(seconds * 1000)
        self.meanwhile(len(self.pauses))

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 1000)

    @property
    def cache(self) -> ResultCache:
        return ResultCache(self.store, self.recorder, FLIGHT, now_ms=self.now_ms, sleep=self.sleep)

    def deadline(self, seconds: float = 10.0) -> Deadline:
        return Deadline(self.now / 1000 + seconds, clock=lambda: self.now / 1000)

    def serve(self, key: str = KEY, budget: float = 10.0) -> Served:
        return self.cache.serve(request(key, self.warehouse, self.deadline(budget), self.admit))

    def admit(self) -> None:
        """The statement budget: counts askers, refuses with `refusal` when set."""
        self.admitted += 1
        if self.refusal is not None:
            raise self.refusal

    def stored(self, body: bytes = b'{"stored": true}', key: str = KEY) -> Entry:
        """An entry another invocation stored just now, at the current generation."""
        generation = self.store.generation(DATASET).generation
        return self.store.put(build_entry(key, generation, FRESHNESS, Page(body), self.now))

    def outcomes(self) -> dict[str, int]:
        return {name: n for name, n in self.recorder.counts.items() if name in OUTCOME_METRICS}


@pytest.fixture
def rig() -> Rig:
    return Rig()


def body_of(served: Served) -> bytes:
    return gzip.decompress(served.gzip_body)


# -------------------------------------------------------------------------------- fresh hits


def test_a_fresh_entry_is_a_hit_in_one_lookup_without_a_statement(rig: Rig) -> None:
    entry = rig.stored()
    rig.advance(299)
    served = rig.serve()
    assert served.outcome == "hit"
    assert served.entry == entry and served.gzip_body == entry.gzip_body
    assert rig.warehouse.calls == 0
    assert rig.store.lookups == 1
    assert rig.outcomes() == {metrics.HIT: 1}
    assert metrics.STATEMENTS not in rig.recorder.counts
    assert "cache" in served.timings_ms and "warehouse" not in served.timings_ms


def test_a_miss_runs_one_statement_stores_the_result_and_the_next_request_hits(
    rig: Rig,
) -> None:
    first = rig.serve()
    assert first.outcome == "miss"
    assert body_of(first) == b'{"statement": 1}'
    assert rig.store.slots[KEY].entry == first.entry
    assert rig.store.slots[KEY].lease_owner is None, "storing the entry releases the lease"
    rig.advance(10)
    second = rig.serve()
    assert second.outcome == "hit"
    assert second.entry.etag == first.entry.etag and second.gzip_body == first.gzip_body
    assert rig.warehouse.calls == 1
    assert rig.outcomes() == {metrics.MISS: 1, metrics.HIT: 1}
    assert rig.recorder.counts[metrics.STATEMENTS] == 1
    assert len(rig.recorder.timings[metrics.WAREHOUSE_MS]) == 1
    assert "warehouse" in first.timings_ms


def test_the_entry_carries_the_freshness_and_the_result_as_served(rig: Rig) -> None:
    entry = rig.serve().entry
    assert entry.created_ms == START_MS
    assert entry.fresh_until_ms == START_MS + 300_000
    assert entry.stale_until_ms == START_MS + 300_000 + 3_600_000
    assert (entry.content_type, entry.row_count, entry.has_more) == ("application/json", 2, False)
    assert entry.etag.startswith('"') and entry.etag.endswith('"')


# ------------------------------------------------------------------------------ single flight


def test_a_waiter_polls_with_backoff_and_collapses_onto_the_holders_result(rig: Rig) -> None:
    assert rig.store.try_lease(KEY, "other", rig.now, FLIGHT.lease_ms, 0)
    holders: list[Entry] = []

    def holder_finishes_on_third_pause(pause: int) -> None:
        if pause == 3:
            holders.append(rig.stored(b'{"holder": true}'))

    rig.meanwhile = holder_finishes_on_third_pause
    served = rig.serve()
    assert served.outcome == "collapsed"
    assert served.entry == holders[0] and body_of(served) == b'{"holder": true}'
    assert rig.pauses == [0.02, 0.04, 0.08]
    assert rig.warehouse.calls == 0
    assert rig.outcomes() == {metrics.COLLAPSED: 1}
    assert rig.recorder.counts[metrics.LEASE_WAIT] == 1, "counted once per wait, not per poll"


def test_a_waiter_gives_up_at_its_deadline_with_a_warehouse_timeout(rig: Rig) -> None:
    assert rig.store.try_lease(KEY, "other", rig.now, 60_000, 0)
    with pytest.raises(LeaseWaitTimeout):
        rig.serve(budget=1.0)
    assert rig.warehouse.calls == 0
    assert 0 < sum(rig.pauses) < 1.0, "it stops before the budget runs out, not after"
    assert max(rig.pauses) == FLIGHT.max_pause_s
    assert rig.recorder.counts[metrics.LEASE_WAIT] == 1


def test_a_dead_holders_lease_expires_and_a_waiter_takes_over(rig: Rig) -> None:
    assert rig.store.try_lease(KEY, "dead", rig.now, FLIGHT.lease_ms, 0)
    served = rig.serve(budget=20.0)
    assert served.outcome == "miss"
    assert rig.warehouse.calls == 1
    assert rig.now - START_MS >= FLIGHT.lease_ms


@pytest.mark.parametrize("stall_seconds", [0, FRESHNESS.ttl_seconds + 1])
def test_an_invocation_stalled_after_its_lookup_does_not_run_a_second_statement(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, stall_seconds: int
) -> None:
    # We looked up (nothing there), then stalled. Meanwhile another invocation took the
    # lease, ran the statement and stored the entry, which released its lease. Now we
    # ask for the lease: the entry we need is already there, fresh or, after a long
    # stall, already past its freshness: either way it is what we would compute.
    try_lease = rig.store.try_lease
    others: list[Entry] = []

    def after_the_other_invocation_finished(
        key: str, owner: str, now: int, ms: int, generation: int, **seen: Lookup | None
    ) -> bool:
        if not others:
            assert try_lease(key, "other", now, ms, generation)
            others.append(rig.stored(b'{"other": true}'))
            rig.advance(stall_seconds)
            now = rig.now
        return try_lease(key, owner, now, ms, generation, **seen)

    monkeypatch.setattr(rig.store, "try_lease", after_the_other_invocation_finished)
    served = rig.serve(budget=stall_seconds + 10.0)
    assert rig.warehouse.calls == 0
    assert served.entry == others[0]


def test_a_leader_that_waited_stamps_the_generation_it_saw_last(rig: Rig) -> None:
    # While we wait on a holder that died, an operator invalidates the dataset. We take
    # over after reading generation 1, so our statement's result belongs to generation 1.
    assert rig.store.try_lease(KEY, "dead", rig.now, FLIGHT.lease_ms, 0)

    def invalidate_on_first_pause(pause: int) -> None:
        if pause == 1:
            rig.store.bump_generation(DATASET, rig.now, "operator")

    rig.meanwhile = invalidate_on_first_pause
    assert rig.serve(budget=20.0).outcome == "miss"
    stored = rig.store.slots[KEY].entry
    assert stored is not None and stored.generation == 1
    assert rig.serve().outcome == "hit"
    assert rig.warehouse.calls == 1


# ------------------------------------------------------------------------------ stale serving


def test_a_stale_entry_is_served_at_once_while_another_invocation_refreshes(rig: Rig) -> None:
    entry = rig.stored()
    rig.advance(301)
    assert rig.store.try_lease(KEY, "refresher", rig.now, FLIGHT.lease_ms, 0)
    served = rig.serve()
    assert served.outcome == "stale"
    assert served.entry == entry and served.error is None
    assert served.entry.ttl_seconds(served.now_ms) < 0
    assert rig.warehouse.calls == 0 and rig.pauses == []
    assert rig.outcomes() == {metrics.STALE: 1}


def test_the_lease_winner_refreshes_a_stale_entry_in_line(rig: Rig) -> None:
    old = rig.stored()
    rig.advance(301)
    served = rig.serve()
    assert served.outcome == "refreshed"
    assert body_of(served) == b'{"statement": 1}'
    assert served.entry.created_ms == rig.now and served.entry.etag != old.etag
    assert rig.store.slots[KEY].entry == served.entry
    assert rig.store.slots[KEY].lease_owner is None
    assert rig.serve().outcome == "hit"
    assert rig.warehouse.calls == 1
    assert rig.outcomes() == {metrics.REFRESH: 1, metrics.HIT: 1}


def test_a_failed_refresh_serves_stale_with_the_error_and_holds_the_key_failing(
    rig: Rig,
) -> None:
    entry = rig.stored()
    rig.advance(301)
    failure = WarehouseFailure("warehouse down")
    rig.warehouse.failure = failure
    served = rig.serve()
    assert served.outcome == "stale-if-error"
    assert served.error is failure
    assert served.entry == entry and served.gzip_body == entry.gzip_body
    slot = rig.store.slots[KEY]
    assert slot.error_until_ms == rig.now + FLIGHT.error_hold_ms
    assert slot.lease_owner is None, "the lease is released, not left to expire"
    rig.advance(1)
    again = rig.serve()
    assert again.outcome == "stale-if-error" and again.error is None
    assert rig.warehouse.calls == 1, "inside the error hold nobody retries the statement"
    assert rig.outcomes() == {metrics.STALE: 2}


def test_a_stale_refresh_gets_a_short_budget(rig: Rig) -> None:
    rig.stored()
    rig.advance(301)
    rig.serve(budget=20.0)
    (given,) = rig.warehouse.deadlines
    assert given.remaining() <= FLIGHT.stale_refresh_s


def test_a_miss_gets_the_whole_budget(rig: Rig) -> None:
    rig.serve(budget=20.0)
    (given,) = rig.warehouse.deadlines
    assert given.remaining() == pytest.approx(20.0)


def test_an_entry_past_its_grace_period_is_a_miss(rig: Rig) -> None:
    rig.stored()
    rig.advance(300 + 3600)
    served = rig.serve()
    assert served.outcome == "miss"
    assert rig.warehouse.calls == 1


# ------------------------------------------------------------------------ failures and holds


def test_a_failed_miss_propagates_and_the_next_miss_fails_fast_without_a_statement(
    rig: Rig,
) -> None:
    rig.warehouse.failure = StatementFailed("statement FAILED")
    with pytest.raises(StatementFailed):
        rig.serve()
    assert rig.store.slots[KEY].error_until_ms == START_MS + FLIGHT.error_hold_ms
    assert rig.store.slots[KEY].lease_owner is None
    rig.advance(0.5)
    with pytest.raises(KeyFailing) as caught:
        rig.serve()
    assert caught.value.retry_after == 2  # 1.5 s of the hold left, rounded up
    assert rig.warehouse.calls == 1
    rig.advance(2)
    rig.warehouse.failure = None
    assert rig.serve().outcome == "miss", "once the hold is over the statement runs again"
    assert rig.warehouse.calls == 2


def test_a_broken_store_is_bypassed_and_the_warehouse_answers(rig: Rig) -> None:
    rig.store.broken = True
    served = rig.serve()
    assert served.outcome == "bypass"
    assert body_of(served) == b'{"statement": 1}'
    assert rig.warehouse.calls == 1
    assert rig.outcomes() == {metrics.BYPASS: 1}
    rig.store.broken = False
    assert rig.store.slots == {}


def test_with_the_store_down_a_container_runs_one_statement_per_query_while_fresh(
    rig: Rig,
) -> None:
    rig.store.broken = True
    cache = rig.cache
    first = cache.serve(request(KEY, rig.warehouse, rig.deadline()))
    again = cache.serve(request(KEY, rig.warehouse, rig.deadline()))
    assert (first.outcome, again.outcome) == ("bypass", "bypass")
    assert body_of(again) == body_of(first) and rig.warehouse.calls == 1
    rig.advance(FRESHNESS.ttl_seconds + 1)
    cache.serve(request(KEY, rig.warehouse, rig.deadline()))
    assert rig.warehouse.calls == 2, "kept only while fresh"
    cache.serve(request("other", rig.warehouse, rig.deadline()))
    assert rig.warehouse.calls == 3, "another query is another answer"


def test_with_the_store_down_identical_concurrent_queries_share_one_statement() -> None:
    store = MemoryCacheStore(broken=True)
    calls: list[int] = []
    started = threading.Event()

    def slow(budget: Deadline) -> Page:
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return Page(body=b'{"shared": true}')

    cache = ResultCache(store, CountingRecorder(), FLIGHT)
    with ThreadPoolExecutor(max_workers=20) as pool:
        served = list(
            pool.map(lambda _: cache.serve(request(KEY, slow, Deadline.after(5))), range(20))
        )
    assert len(calls) == 1
    assert {body_of(s) for s in served} == {b'{"shared": true}'}


def test_with_the_store_down_waiters_share_the_leaders_failure() -> None:
    store = MemoryCacheStore(broken=True)
    calls: list[int] = []

    def failing(budget: Deadline) -> Page:
        calls.append(1)
        time.sleep(0.2)
        raise StatementFailed("warehouse down")

    cache = ResultCache(store, CountingRecorder(), FLIGHT)

    def ask(_: int) -> str:
        try:
            cache.serve(request(KEY, failing, Deadline.after(5)))
        except StatementFailed:
            return "failed"
        return "answered"

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(ask, range(10))) == {"failed"}
    assert len(calls) == 1, "a failing warehouse meets one statement, not one per request"


def test_a_failed_write_still_serves_the_result_and_is_counted(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(entry: Entry, **holder: object) -> Entry:
        raise CacheUnavailable("cache write failed", error_code="ProvisionedThroughputExceeded")

    monkeypatch.setattr(rig.store, "put", refuse)
    served = rig.serve()
    assert served.outcome == "miss"
    assert body_of(served) == b'{"statement": 1}'
    assert rig.recorder.counts[metrics.WRITE_FAILED] == 1
    assert rig.outcomes() == {metrics.MISS: 1}
    assert rig.store.slots[KEY].entry is None


def test_a_failing_body_read_falls_back_to_the_warehouse(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.stored()

    def unreadable(entry: Entry) -> bytes:
        raise CacheUnavailable("s3 read failed", error_code="SlowDown")

    monkeypatch.setattr(rig.store, "load_body", unreadable)
    served = rig.serve()
    assert served.outcome == "bypass"
    assert rig.warehouse.calls == 1


# ------------------------------------------------------------------------------ invalidation


def test_bumping_the_generation_makes_every_entry_of_the_dataset_unreachable(rig: Rig) -> None:
    keys = ["a" * 64, "b" * 64]
    for key in keys:
        rig.stored(key=key)
    rig.store.bump_generation(DATASET, rig.now, "operator")
    for key in keys:
        served = rig.serve(key)
        assert served.outcome == "miss"
        assert served.entry.generation == 1
    assert [rig.serve(key).outcome for key in keys] == ["hit", "hit"]
    assert rig.warehouse.calls == 2


def test_another_datasets_generation_leaves_entries_alone(rig: Rig) -> None:
    rig.stored()
    rig.store.bump_generation("other_dataset", rig.now, "operator")
    assert rig.serve().outcome == "hit"


# ------------------------------------------------------------------------------- no cache


def test_uncached_results_always_run_the_statement() -> None:
    recorder = CountingRecorder()
    warehouse = Warehouse()
    results = UncachedResults(recorder, now_ms=lambda: START_MS)
    served = [results.serve(request(KEY, warehouse, Deadline.after(10))) for _ in range(3)]
    assert [s.outcome for s in served] == ["uncached"] * 3
    assert [body_of(s) for s in served] == [b'{"statement": %d}' % n for n in (1, 2, 3)]
    assert warehouse.calls == 3
    assert recorder.counts[metrics.BYPASS] == 3
    assert recorder.counts[metrics.STATEMENTS] == 3


# ------------------------------------------------------------------------ real concurrency


@pytest.fixture
def sixty_four_threads() -> Iterator[list[threading.Thread]]:
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads)


class RoundTripStore(MemoryCacheStore):
    """A lookup that takes a (short) round trip, as DynamoDB's does.

    Without it one thread can look up and take the lease before the others are scheduled,
    and the test would pass even if the lease were not exclusive.
    """

    def lookup(self, dataset: str, key: str) -> Lookup:
        found = super().lookup(dataset, key)
        time.sleep(0.002)
        return found


def test_sixty_four_concurrent_misses_run_one_statement_and_share_one_etag(
    sixty_four_threads: list[threading.Thread],
) -> None:
    store, recorder = RoundTripStore(), CountingRecorder()
    cache = ResultCache(store, recorder)  # real clock, real sleep
    calls, calls_lock = [0], threading.Lock()
    start = threading.Barrier(64)
    served: list[Served] = []
    errors: list[BaseException] = []

    def slow_statement(deadline: Deadline) -> Page:
        with calls_lock:
            calls[0] += 1
        time.sleep(0.05)
        return Page(body=b'{"rows": []}')

    def one_invocation() -> None:
        start.wait()
        try:
            served.append(cache.serve(request(KEY, slow_statement, Deadline.after(10))))
        except BaseException as exc:  # surfaced below, with the thread's count
            errors.append(exc)

    sixty_four_threads.extend(threading.Thread(target=one_invocation) for _ in range(64))
    for thread in sixty_four_threads:
        thread.start()
    for thread in sixty_four_threads:
        thread.join(timeout=10)
    assert errors == []
    assert calls[0] == 1
    assert len(served) == 64
    assert len({s.entry.etag for s in served}) == 1
    outcomes = [s.outcome for s in served]
    assert outcomes.count(Outcome.MISS) == 1
    assert set(outcomes) <= {"miss", "collapsed", "hit"}


def test_a_waiter_takes_the_result_stored_while_it_waited_even_past_a_short_ttl(rig: Rig) -> None:
    """A slow wake-up must not lead a second statement for a result that now exists."""
    assert rig.store.try_lease(KEY, "the-other-invocation", rig.now, FLIGHT.lease_ms, 0)

    def holder_stores_then_freshness_ends(pause: int) -> None:
        if pause == 1:
            rig.stored()
            rig.advance(FRESHNESS.ttl_seconds + 1)

    rig.meanwhile = holder_stores_then_freshness_ends
    served = rig.serve()
    assert served.outcome == "collapsed"
    assert rig.warehouse.calls == 0


# ------------------------------------------------------------------------ statement budgets


def test_only_a_request_about_to_start_a_statement_asks_the_budget(rig: Rig) -> None:
    assert rig.serve().outcome == "miss" and rig.admitted == 1
    assert rig.serve().outcome == "hit" and rig.admitted == 1, "a hit never asks"


def test_a_refused_miss_answers_the_refusal_and_frees_the_key_at_once(rig: Rig) -> None:
    rig.refusal = OverConsumerBudget("spent", retry_after=12)
    with pytest.raises(OverConsumerBudget):
        rig.serve()
    assert rig.warehouse.calls == 0
    slot = rig.store.slots[KEY]
    assert slot.lease_until_ms is None, "the lease is released"
    assert slot.error_until_ms is None, "a refusal is not the key failing"
    rig.refusal = None
    assert rig.serve().outcome == "miss", "another consumer's request runs it at once"
    assert rig.recorder.counts[metrics.REFUSED] == 1


def test_a_refused_refresh_serves_the_stale_copy(rig: Rig) -> None:
    entry = rig.stored()
    rig.advance(301)
    rig.refusal = OverStatementBudget("spent", retry_after=30)
    served = rig.serve()
    assert served.outcome == "stale-if-error" and served.entry == entry
    assert isinstance(served.error, OverStatementBudget)
    assert rig.warehouse.calls == 0


def test_a_waiter_that_collapses_never_asks(rig: Rig) -> None:
    assert rig.store.try_lease(KEY, "the-other-invocation", rig.now, FLIGHT.lease_ms, 0)
    rig.meanwhile = lambda pause: rig.stored() if pause == 1 else None
    assert rig.serve().outcome == "collapsed"
    assert rig.admitted == 0


def test_a_statement_slower_than_the_lease_is_never_started_twice() -> None:
    """The holder renews its lease while it computes; a waiter keeps waiting, then joins."""
    store = MemoryCacheStore()
    flight = FlightPolicy(lease_ms=300)  # renewed every 100 ms
    cache = ResultCache(store, CountingRecorder(), flight)
    calls: list[int] = []
    holder_started = threading.Event()

    def slow_statement(_budget: Deadline) -> Page:
        calls.append(1)
        holder_started.set()
        time.sleep(1.0)  # more than three leases
        return Page(body=b'{"slow": true}')

    served: list[Served] = []
    holder = threading.Thread(
        target=lambda: served.append(cache.serve(request(KEY, slow_statement, Deadline.after(10))))
    )
    holder.start()
    assert holder_started.wait(5)
    waiter = cache.serve(request(KEY, slow_statement, Deadline.after(10)))
    holder.join(10)
    assert len(calls) == 1
    assert waiter.outcome == "collapsed" and served[0].outcome == "miss"


# ---------------------------------------------------------------- refreshes in the background


def test_a_stale_hit_hands_its_refresh_off_and_answers_at_once(rig: Rig) -> None:
    entry = rig.stored()
    rig.advance(301)
    handed: list[str] = []
    stale = rig.cache.serve(
        request(KEY, rig.warehouse, rig.deadline(), refresh_later=handed.append)
    )
    assert stale.outcome == "stale" and stale.entry == entry
    assert rig.warehouse.calls == 0, "no statement in the request"
    assert len(handed) == 1 and rig.store.slots[KEY].lease_owner == handed[0]
    again = rig.cache.serve(
        request(KEY, rig.warehouse, rig.deadline(), refresh_later=handed.append)
    )
    assert again.outcome == "stale" and len(handed) == 1, "one refresh per key"


def test_the_handed_off_refresh_runs_under_the_lease_it_was_given(rig: Rig) -> None:
    rig.stored()
    rig.advance(301)
    handed: list[str] = []
    rig.cache.serve(request(KEY, rig.warehouse, rig.deadline(), refresh_later=handed.append))
    assert rig.cache.refresh(request(KEY, rig.warehouse, rig.deadline()), handed[0]) == "refreshed"
    assert rig.warehouse.calls == 1
    fresh = rig.serve()
    assert fresh.outcome == "hit" and body_of(fresh) == b'{"statement": 1}'


def test_a_refresh_whose_lease_is_gone_does_nothing(rig: Rig) -> None:
    rig.stored()
    rig.advance(301)
    assert rig.cache.refresh(request(KEY, rig.warehouse, rig.deadline()), "not-ours") is None
    assert rig.warehouse.calls == 0


def test_a_failed_background_refresh_keeps_the_stale_copy_and_holds_the_key(rig: Rig) -> None:
    entry = rig.stored()
    rig.advance(301)
    handed: list[str] = []
    rig.cache.serve(request(KEY, rig.warehouse, rig.deadline(), refresh_later=handed.append))
    rig.warehouse.failure = WarehouseFailure("down")
    assert rig.cache.refresh(request(KEY, rig.warehouse, rig.deadline()), handed[0]) is None
    served = rig.cache.serve(
        request(KEY, rig.warehouse, rig.deadline(), refresh_later=handed.append)
    )
    assert served.outcome == "stale-if-error" and served.entry == entry
    assert len(handed) == 1, "no new refresh while the key is failing"


def test_a_hand_off_that_fails_frees_the_key_and_still_answers_stale(rig: Rig) -> None:
    entry = rig.stored()
    rig.advance(301)

    def broken(owner: str) -> None:
        raise ConnectionError("lambda unreachable")

    served = rig.cache.serve(request(KEY, rig.warehouse, rig.deadline(), refresh_later=broken))
    assert served.outcome == "stale" and served.entry == entry
    assert rig.store.slots[KEY].lease_owner is None


def test_a_late_holder_serves_what_another_stored_instead_of_writing_over_it(rig: Rig) -> None:
    """Our lease lapsed mid-statement; another invocation took the key and stored first."""

    def lease_lapses_and_another_stores(_budget: Deadline) -> Page:
        rig.warehouse.calls += 1
        rig.advance(FLIGHT.lease_ms / 1000 + 1)
        assert rig.store.try_lease(KEY, "the-other-invocation", rig.now, FLIGHT.lease_ms, 0)
        rig.stored(b'{"the other": true}')
        return Page(body=b'{"ours, too late": true}')

    served = rig.cache.serve(request(KEY, lease_lapses_and_another_stores, rig.deadline(30)))
    assert served.outcome == "collapsed"
    assert body_of(served) == b'{"the other": true}'
    assert body_of(rig.serve()) == b'{"the other": true}', "the stored result stands"


def test_a_holder_whose_lease_lapsed_still_stores_when_nothing_newer_exists(rig: Rig) -> None:
    def lease_lapses(_budget: Deadline) -> Page:
        rig.advance(FLIGHT.lease_ms / 1000 + 1)
        return Page(body=b'{"late but alone": true}')

    served = rig.cache.serve(request(KEY, lease_lapses, rig.deadline(30)))
    assert served.outcome == "miss" and served.stored
    assert body_of(rig.serve()) == b'{"late but alone": true}'


# ------------------------------------------------------------------- answers from roll-ups


@dataclass
class Rollup:
    """What `derive` answers from: a roll-up made at `made_ms`, or nothing (None)."""

    made_ms: int | None
    failure: Exception | None = None
    calls: int = 0

    def __call__(self, budget: object, generation: int | None) -> Derived | None:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        if self.made_ms is None:
            return None
        vintage = Vintage(self.made_ms, self.made_ms + 300_000, self.made_ms + 3_900_000)
        return Derived(Page(body=f'{{"rollup": {self.made_ms}}}'.encode()), vintage)


def derived_request(rig: Rig, rollup: Rollup, key: str = KEY) -> CacheRequest:
    base = request(key, rig.warehouse, rig.deadline(), rig.admit)
    return replace(base, derive=rollup)


def test_a_derived_answer_takes_no_lease_asks_no_budget_and_is_stored(rig: Rig) -> None:
    taken: list[str] = []
    leases = rig.store.try_lease

    def counted(key: str, *args: Any, **kwargs: Any) -> bool:
        taken.append(key)
        return leases(key, *args, **kwargs)

    rig.store.try_lease = counted  # type: ignore[method-assign]
    served = rig.cache.serve(derived_request(rig, Rollup(rig.now)))
    assert (served.outcome, served.stored) == (Outcome.DERIVED, True)  # a miss, said so
    assert rig.outcomes() == {metrics.MISS: 1}
    assert (taken, rig.admitted, rig.warehouse.calls) == ([], 0, 0)
    assert rig.recorder.counts[metrics.ROLLUP_DERIVED] == 1
    again = rig.cache.serve(derived_request(rig, Rollup(rig.now)))
    assert again.outcome == "hit" and body_of(again) == body_of(served)


def test_a_derived_answer_carries_its_rollups_times(rig: Rig) -> None:
    made = rig.now - 120_000  # the roll-up was fetched two minutes ago
    served = rig.cache.serve(derived_request(rig, Rollup(made)))
    assert served.entry.created_ms == made and served.entry.fresh_until_ms == made + 300_000


def test_without_a_rollup_that_answers_the_statement_runs_under_the_lease(rig: Rig) -> None:
    served = rig.cache.serve(derived_request(rig, Rollup(None)))
    assert served.outcome is Outcome.MISS
    assert (rig.admitted, rig.warehouse.calls) == (1, 1)


def test_a_derived_answer_never_replaces_one_made_from_newer_data(rig: Rig) -> None:
    newer = rig.cache.serve(derived_request(rig, Rollup(rig.now)))
    rig.advance(301)  # stale now: a container holding an older roll-up answers again
    older = rig.cache.serve(derived_request(rig, Rollup(rig.now - 600_000)))
    assert older.stored is False
    assert body_of(older) == body_of(newer), "the newer answer stands"


def test_a_stale_entry_is_refreshed_from_the_rollup_at_once(rig: Rig) -> None:
    rig.cache.serve(derived_request(rig, Rollup(rig.now)))
    rig.advance(301)
    refreshed = rig.cache.serve(derived_request(rig, Rollup(rig.now)))
    assert refreshed.outcome is Outcome.REFRESHED_DERIVED  # a refresh, said so


def test_a_failing_rollup_serves_the_stale_copy(rig: Rig) -> None:
    stale = rig.cache.serve(derived_request(rig, Rollup(rig.now)))
    rig.advance(301)
    failing = Rollup(rig.now, failure=StatementFailed("the roll-up's statement failed"))
    served = rig.cache.serve(derived_request(rig, failing))
    assert served.outcome == "stale-if-error" and body_of(served) == body_of(stale)
    assert isinstance(served.error, StatementFailed)
    with pytest.raises(StatementFailed):  # and with nothing to fall back on, the failure
        rig.cache.serve(derived_request(rig, failing, key="another"))
