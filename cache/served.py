"""What one request is served, and the pieces every path shares: entries, answers, bypass.

An answer is made one of two ways, tried in this order by `answer`: derived from a
cached roll-up (`CacheRequest.derive`, no statement: nothing is asked of the budget),
else computed by the request's own statement (`compute`, after `admit`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cache import metrics
from cache.entry import Entry, Renderable
from cache.errors import CacheUnavailable
from cache.outcomes import Outcome
from cache.policy import Budget, Freshness

# Runs the statement and renders the page, within the budget it is given.
Compute = Callable[[Budget], Renderable]


@dataclass(frozen=True, slots=True)
class Vintage:
    """When the data an answer is made of was fetched, and how long it stays fresh."""

    created_ms: int
    fresh_until_ms: int
    stale_until_ms: int


@dataclass(frozen=True, slots=True)
class Derived:
    """An answer made from a cached roll-up, with no statement of its own."""

    page: Renderable
    # The roll-up's: an answer is never fresher than what it is made of.
    vintage: Vintage
    timings_ms: Mapping[str, float] = field(default_factory=dict)


# Derives the answer from a roll-up, given the time left and the dataset generation the
# request saw (None: unknown, the cache is down); None when no roll-up answers it.
Derive = Callable[[Budget, int | None], Derived | None]


@dataclass(frozen=True, slots=True)
class Answer:
    """A freshly made answer, and where it came from."""

    page: Renderable
    vintage: Vintage | None = None  # None: made now, by a statement
    derived: bool = False


def _admitted() -> None:
    """No statement budget: every statement may start."""


@dataclass(frozen=True, slots=True)
class CacheRequest:
    """One request, as the cache sees it: whose result, under which key, and how to make it.

    `admit` is asked right before this request would start a statement (cache/budget.py);
    it raises a `Refused` error when a budget is spent."""

    dataset: str
    key: str
    freshness: Freshness
    compute: Compute
    budget: Budget
    admit: Callable[[], None] = _admitted
    # Hands a stale entry's refresh to another invocation (in Lambda: an asynchronous
    # self-invocation), given the lease owner it must refresh under. None: refresh in line.
    refresh_later: Callable[[str], None] | None = None
    # Bodies larger than this (before gzip) are answered by reference: stored as an
    # object, and served as a short-lived URL to it (`Served.location`). None: in line.
    inline_body_max: int | None = None
    # Tried before `compute`: the answer from a cached roll-up, without a statement.
    derive: Derive | None = None

    def by_reference(self, entry: Entry) -> bool:
        """Whether `entry` is too large to answer in line."""
        limit, size = self.inline_body_max, entry.body_bytes
        return limit is not None and size is not None and size > limit


@dataclass(frozen=True)
class Served:
    """The cache's outcome for one request; the handler renders it (headers, body)."""

    entry: Entry
    gzip_body: bytes
    outcome: Outcome
    now_ms: int
    error: Exception | None = None  # the refresh failure behind a stale-if-error answer
    timings_ms: dict[str, float] = field(default_factory=dict)
    stored: bool = False  # this request wrote the entry (Cache-Status `stored`)
    # A presigned URL of the entry's object when it is answered by reference (the body
    # is then not loaded: gzip_body is empty).
    location: str | None = None


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def etag_for(body: bytes) -> str:
    """A strong validator over the uncompressed representation."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def vintage_of(freshness: Freshness, now: int) -> Vintage:
    """The times of data fetched `now`."""
    fresh_until = now + freshness.ttl_seconds * 1000
    return Vintage(now, fresh_until, fresh_until + freshness.stale_seconds * 1000)


def build_entry(
    key: str,
    generation: int,
    freshness: Freshness,
    fresh: Renderable,
    now: int,
    *,
    vintage: Vintage | None = None,
    compresslevel: int = 6,
) -> Entry:
    """Compress once and stamp validators and expiry: what every later hit serves as is.

    `vintage`: the times of the data the answer is made of, when not made now."""
    times = vintage or vintage_of(freshness, now)
    return Entry(
        key=key,
        generation=generation,
        gzip_body=gzip.compress(fresh.body, compresslevel=compresslevel, mtime=0),
        content_type=fresh.content_type,
        etag=etag_for(fresh.body),
        created_ms=times.created_ms,
        fresh_until_ms=times.fresh_until_ms,
        stale_until_ms=times.stale_until_ms,
        row_count=fresh.row_count,
        has_more=fresh.has_more,
        body_bytes=len(fresh.body),
    )


def derived_answer(
    request: CacheRequest,
    budget: Budget,
    timings: dict[str, float],
    recorder: metrics.Recorder,
    generation: int | None,
) -> Answer | None:
    """The answer from a roll-up, if one answers the request (no statement of its own)."""
    if request.derive is None:
        return None
    started = time.perf_counter()
    derived = request.derive(budget, generation)
    if derived is None:
        return None
    timings.update(derived.timings_ms)
    timings["derive"] = (time.perf_counter() - started) * 1000 - sum(derived.timings_ms.values())
    recorder.count(metrics.ROLLUP_DERIVED)
    return Answer(derived.page, derived.vintage, derived=True)


def answer(
    request: CacheRequest,
    budget: Budget,
    timings: dict[str, float],
    recorder: metrics.Recorder,
    generation: int | None,
) -> Answer:
    """Derived from a roll-up if one answers, else the request's own statement (admitted)."""
    made = derived_answer(request, budget, timings, recorder, generation)
    if made is not None:
        return made
    with contextlib.suppress(CacheUnavailable):  # counters down with the cache: fail open
        request.admit()
    return Answer(timed_compute(request.compute, budget, timings, recorder))


def timed_compute(
    compute: Compute,
    budget: Budget,
    timings: dict[str, float],
    recorder: metrics.Recorder,
) -> Renderable:
    started = time.perf_counter()
    try:
        return compute(budget)
    finally:
        elapsed = (time.perf_counter() - started) * 1000
        timings["warehouse"] = elapsed
        recorder.count(metrics.STATEMENTS)
        recorder.milliseconds(metrics.WAREHOUSE_MS, elapsed)


def bypass(
    request: CacheRequest,
    timings: dict[str, float],
    recorder: metrics.Recorder,
    now_ms: Callable[[], int],
    outcome: Outcome = Outcome.BYPASS,
) -> Served:
    """Without the cache: derived or straight from the warehouse, nothing stored."""
    made = answer(request, request.budget, timings, recorder, None)
    entry = build_entry(
        request.key, 0, request.freshness, made.page, now_ms(), vintage=made.vintage
    )
    if request.by_reference(entry):
        # Too large to answer in line, and nowhere to put it: never a truncated body.
        raise CacheUnavailable("an answer too large to send in line has nowhere to go")
    assert entry.gzip_body is not None
    # A bypass's header already says where its answer came from: derived or not, the same.
    return Served(entry, entry.gzip_body, outcome, now_ms(), timings_ms=timings)


class UncachedResults:
    """What serves when no cache is configured: every request goes to the warehouse."""

    def __init__(
        self, recorder: metrics.Recorder, *, now_ms: Callable[[], int] = wall_clock_ms
    ) -> None:
        self._recorder = recorder
        self._now_ms = now_ms

    def serve(self, request: CacheRequest) -> Served:
        served = bypass(request, {}, self._recorder, self._now_ms, Outcome.UNCACHED)
        self._recorder.count(served.outcome.counter)
        return served
