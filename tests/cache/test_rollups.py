"""Roll-ups (cache.rollups): one statement per roll-up per freshness window, held in memory.

The store here is the in-memory twin (tests/e2e/test_rollups.py runs moto and the
emulator); time is a fake clock that `sleep` advances, except in the threaded tests.
The value of a roll-up is opaque to the cache: here a string, with a stated size.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from cache import (
    CountingRecorder,
    Decoded,
    Fetched,
    FlightPolicy,
    Freshness,
    Held,
    OverStatementBudget,
    RollupOversize,
    RollupRequest,
    Rollups,
    metrics,
)
from cache.memory import MemoryCacheStore
from cache.rollups import OVERSIZE

DATASET = "crashes"
KEY = "r" * 64
FRESHNESS = Freshness(ttl_seconds=600, stale_seconds=3600)
START_MS = 1_800_000_000_000
SIZE = 40


class Budget:
    def remaining(self) -> float:
        return 10.0


@dataclass
class Warehouse:
    """The roll-up's statement: counts its runs, answers a new body each time."""

    rows: int = 10
    calls: int = 0
    pause: float = 0.0
    failure: Exception | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fetch(self, budget: object) -> Fetched[str]:
        with self.lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.pause)
        if self.failure is not None:
            raise self.failure
        if self.rows > 100:
            return Fetched(rows=self.rows)
        body = f"rollup {n}".encode()
        return Fetched(rows=self.rows, body=body, decoded=decode(body))


def decode(body: bytes) -> Decoded[str]:
    return Decoded(body.decode(), SIZE)


@dataclass
class Rig:
    store: MemoryCacheStore = field(default_factory=MemoryCacheStore)
    recorder: CountingRecorder = field(default_factory=CountingRecorder)
    warehouse: Warehouse = field(default_factory=Warehouse)
    held: Held = field(default_factory=lambda: Held(1_000))
    now: int = START_MS
    admitted: int = 0
    refusal: Exception | None = None
    handed_off: list[str] = field(default_factory=list)
    hand_off: bool = False

    def now_ms(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += round(seconds * 1000)

    @property
    def rollups(self) -> Rollups:
        return Rollups(
            self.store,
            self.recorder,
            self.held,
            FlightPolicy(),
            now_ms=self.now_ms,
            sleep=self.sleep,
        )

    def admit(self) -> None:
        self.admitted += 1
        if self.refusal is not None:
            raise self.refusal

    def request(self) -> RollupRequest[str]:
        return RollupRequest(
            dataset=DATASET,
            key=KEY,
            freshness=FRESHNESS,
            fetch=self.warehouse.fetch,
            decode=decode,
            admit=self.admit,
            refresh_later=self.handed_off.append if self.hand_off else None,
        )

    def obtain(self, generation: int | None = 0, rollups: Rollups | None = None) -> str:
        obtained = (rollups or self.rollups).obtain(self.request(), generation, Budget())
        return obtained.value


def test_the_first_query_fetches_the_rollup_and_the_next_use_it_from_memory() -> None:
    rig = Rig()
    rollups = rig.rollups
    first = rollups.obtain(rig.request(), 0, Budget())
    assert (first.value, first.source) == ("rollup 1", "warehouse")
    lookups = rig.store.lookups
    again = rollups.obtain(rig.request(), 0, Budget())
    assert (again.value, again.source) == ("rollup 1", "memory")
    assert rig.store.lookups == lookups, "held in memory: no round trip"
    assert (rig.warehouse.calls, rig.admitted) == (1, 1)
    assert rig.recorder.counts[metrics.ROLLUP_FETCHED] == 1
    assert first.vintage.fresh_until_ms == START_MS + 600_000


def test_another_container_reads_the_stored_rollup_instead_of_running_it_again() -> None:
    rig = Rig()
    rig.obtain()
    other = Rig(store=rig.store, warehouse=rig.warehouse, now=rig.now)  # empty memory
    obtained = other.rollups.obtain(other.request(), 0, Budget())
    assert (obtained.value, obtained.source) == ("rollup 1", "store")
    assert rig.warehouse.calls == 1 and other.admitted == 0
    assert other.recorder.counts[metrics.ROLLUP_LOADED] == 1
    slot = rig.store.slots[KEY]
    assert slot.entry is not None and slot.entry.s3_key is not None, "the body is an object"


def test_a_stampede_of_queries_runs_the_rollups_statement_once() -> None:
    store = MemoryCacheStore()
    warehouse = Warehouse(pause=0.2)

    def one_container(_: int) -> str:
        rig = Rig(store=store, warehouse=warehouse, now=int(time.time() * 1000))
        rollups = Rollups(store, rig.recorder, rig.held, FlightPolicy())
        return rollups.obtain(rig.request(), 0, Budget()).value

    with ThreadPoolExecutor(max_workers=64) as pool:
        values = list(pool.map(one_container, range(64)))
    assert warehouse.calls == 1
    assert set(values) == {"rollup 1"}


def test_an_invalidation_retires_the_rollup_held_and_stored() -> None:
    rig = Rig()
    rollups = rig.rollups
    rig.obtain(rollups=rollups)
    generation = rig.store.bump_generation(DATASET, rig.now, "test")
    assert rig.obtain(generation, rollups) == "rollup 2"
    assert rig.warehouse.calls == 2


def test_a_stale_rollup_is_used_while_one_refresh_is_handed_off() -> None:
    rig = Rig(hand_off=True)
    rollups = rig.rollups
    rig.obtain(rollups=rollups)
    rig.now += 601_000
    assert rig.obtain(rollups=rollups) == "rollup 1"
    assert rig.obtain(rollups=rollups) == "rollup 1"
    assert len(rig.handed_off) == 1, "one refresh, whoever asks meanwhile"
    assert rollups.refresh(rig.request(), rig.handed_off[0], Budget())
    assert rig.warehouse.calls == 2
    assert rig.obtain(rollups=rollups) == "rollup 2"


def test_a_stale_rollup_is_refreshed_in_line_when_nothing_takes_the_refresh() -> None:
    rig = Rig()
    rollups = rig.rollups
    rig.obtain(rollups=rollups)
    rig.now += 601_000
    assert rig.obtain(rollups=rollups) == "rollup 1", "the stale copy answers this query"
    assert rig.warehouse.calls == 2
    assert rig.obtain(rollups=rollups) == "rollup 2"


def test_a_failed_refresh_keeps_the_stale_rollup() -> None:
    rig = Rig()
    rollups = rig.rollups
    rig.obtain(rollups=rollups)
    rig.now += 601_000
    rig.warehouse.failure = RuntimeError("the warehouse is down")
    assert rig.obtain(rollups=rollups) == "rollup 1"


def test_a_rollup_past_its_bound_is_never_used_and_not_fetched_again_this_window() -> None:
    rig = Rig(warehouse=Warehouse(rows=101))
    with pytest.raises(RollupOversize):
        rig.obtain()
    slot = rig.store.slots[KEY]
    assert slot.entry is not None and slot.entry.content_type == OVERSIZE
    other = Rig(store=rig.store, warehouse=rig.warehouse, now=rig.now)
    with pytest.raises(RollupOversize):
        other.obtain()
    assert rig.warehouse.calls == 1


def test_a_refused_fetch_is_the_refusal() -> None:
    rig = Rig(refusal=OverStatementBudget("spent", retry_after=7))
    with pytest.raises(OverStatementBudget):
        rig.obtain()
    assert rig.warehouse.calls == 0


def test_with_the_store_down_a_container_fetches_once_for_all_its_queries() -> None:
    rig = Rig(store=MemoryCacheStore(broken=True), warehouse=Warehouse(pause=0.1))
    rollups = rig.rollups
    with ThreadPoolExecutor(max_workers=8) as pool:
        values = list(pool.map(lambda _: rig.obtain(None, rollups), range(8)))
    assert set(values) == {"rollup 1"} and rig.warehouse.calls == 1


def test_without_a_store_the_rollup_is_held_in_the_container() -> None:
    rig = Rig()
    rollups = Rollups(None, rig.recorder, rig.held, now_ms=rig.now_ms)
    assert rollups.obtain(rig.request(), None, Budget()).source == "warehouse"
    assert rollups.obtain(rig.request(), None, Budget()).source == "memory"


# --------------------------------------------------------------------- memory, bounded


def keep(held: Held, key: str, size: int, fetch: Callable[[], Rig] = Rig) -> None:
    rig = fetch()
    rollups = Rollups(None, rig.recorder, held, now_ms=rig.now_ms)
    request = RollupRequest(
        dataset=DATASET,
        key=key,
        freshness=FRESHNESS,
        fetch=lambda _: Fetched(1, b"x", Decoded(key, size)),
        decode=decode,
        admit=lambda: None,
    )
    rollups.obtain(request, None, Budget())


def test_memory_holds_the_most_recently_used_rollups_within_its_bound() -> None:
    held = Held(100)
    keep(held, "a", 40)
    keep(held, "b", 40)
    assert held.get("a") is not None  # a is now the most recently used
    keep(held, "c", 40)
    assert set(held.keys()) == {"a", "c"} and held.size == 80


def test_a_rollup_larger_than_the_bound_is_used_but_not_held() -> None:
    held = Held(100)
    keep(held, "a", 40)
    keep(held, "huge", 101)
    assert held.keys() == ("a",)
