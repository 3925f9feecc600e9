"""Caching headers: what each outcome tells browsers, CloudFront and the person debugging.

Cache-Control gives fresh responses the dataset's freshness (`max-age` for browsers,
`s-maxage` for CloudFront, plus stale-while-revalidate / stale-if-error for the grace
period) and stale ones `max-age=0`. Age counts from the entry's creation. Cache-Status
(RFC 9211) names this cache's part; Server-Timing carries the measured phases; the ETag
is passed through and If-None-Match compares weakly.
"""

from __future__ import annotations

import pytest

from cache import (
    CacheRequest,
    CacheUnavailable,
    CountingRecorder,
    Entry,
    Freshness,
    Outcome,
    ResultCache,
    Served,
    build_entry,
)
from cache.memory import MemoryCacheStore
from handler.cache_headers import (
    cache_control,
    cache_status,
    caching_headers,
    matches,
    server_timing,
)
from handler.errors import (
    ShapingError,
    UpstreamError,
    WarehouseRejected,
    WarehouseTimeout,
    WarehouseUnavailable,
)
from handler.warehouse.deadline import Deadline

FRESHNESS = Freshness(ttl_seconds=300, stale_seconds=3600)
CREATED_MS = 1_800_000_000_000
ETAG = '"0123456789abcdef0123456789abcdef"'


class Page:
    body = b'{"rows": []}'
    content_type = "application/json"
    row_count = 7
    has_more = False


def entry() -> Entry:
    return build_entry("k" * 64, 0, FRESHNESS, Page(), CREATED_MS)


def served(
    outcome: Outcome,
    seconds_after_creation: float = 0,
    error: UpstreamError | None = None,
    timings: dict[str, float] | None = None,
) -> Served:
    e = entry()
    now = CREATED_MS + round(seconds_after_creation * 1000)
    assert e.gzip_body is not None
    stored = outcome.counter in ("CacheMiss", "CacheRefresh")  # the ones that store
    return Served(
        e, e.gzip_body, outcome, now, error=error, timings_ms=timings or {}, stored=stored
    )


FRESH_OUTCOMES = [Outcome.HIT, Outcome.MISS, Outcome.DERIVED, Outcome.COLLAPSED, Outcome.REFRESHED]
FRESH_OUTCOMES += [Outcome.REFRESHED_DERIVED, Outcome.BYPASS]
STALE_OUTCOMES = [Outcome.STALE, Outcome.STALE_IF_ERROR]


# ---------------------------------------------------------------------------- Cache-Control


@pytest.mark.parametrize("outcome", FRESH_OUTCOMES)
def test_a_fresh_response_carries_the_datasets_freshness_and_grace(outcome: Outcome) -> None:
    assert cache_control(FRESHNESS, served(outcome)) == (
        "public, max-age=300, s-maxage=300, stale-while-revalidate=3600, stale-if-error=3600"
    )


def test_without_a_grace_period_there_are_no_stale_directives() -> None:
    no_grace = Freshness(ttl_seconds=60)
    assert cache_control(no_grace, served(Outcome.HIT)) == "public, max-age=60, s-maxage=60"


@pytest.mark.parametrize("outcome", STALE_OUTCOMES)
def test_a_stale_response_is_not_fresh_for_anyone_downstream(outcome: Outcome) -> None:
    assert cache_control(FRESHNESS, served(outcome, 400)) == (
        "public, max-age=0, s-maxage=0, stale-if-error=3600"
    )


# ----------------------------------------------------------------------------- Cache-Status


@pytest.mark.parametrize(
    ("outcome", "seconds", "expected"),
    [
        (Outcome.HIT, 100, "lakegate; hit; ttl=200"),
        (Outcome.HIT, 299.5, "lakegate; hit; ttl=0"),
        (Outcome.MISS, 0, "lakegate; fwd=miss; stored"),
        (Outcome.DERIVED, 0, "lakegate; fwd=miss; stored; detail=rollup"),
        (Outcome.COLLAPSED, 2, "lakegate; fwd=miss; collapsed"),
        (Outcome.STALE, 305, "lakegate; hit; ttl=-5; detail=stale-while-revalidate"),
        (Outcome.STALE, 300.5, "lakegate; hit; ttl=-1; detail=stale-while-revalidate"),
        (Outcome.REFRESHED, 0, "lakegate; fwd=stale; stored"),
        (Outcome.REFRESHED_DERIVED, 0, "lakegate; fwd=stale; stored; detail=rollup"),
        (Outcome.STALE_IF_ERROR, 360, "lakegate; fwd=stale; ttl=-60; detail=stale-if-error"),
        (Outcome.BYPASS, 0, "lakegate; fwd=bypass; detail=cache-unavailable"),
        (Outcome.UNCACHED, 0, "lakegate; fwd=bypass; detail=cache-disabled"),
    ],
)
def test_cache_status_names_what_this_cache_did(
    outcome: Outcome, seconds: float, expected: str
) -> None:
    assert cache_status(served(outcome, seconds)) == expected


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (WarehouseUnavailable("down"), 503),
        (WarehouseTimeout("slow"), 504),
        (WarehouseRejected("failed"), 502),
        (ShapingError("bad value"), 502),
    ],
)
def test_stale_if_error_says_what_the_warehouse_answered(error: UpstreamError, status: int) -> None:
    assert cache_status(served(Outcome.STALE_IF_ERROR, 360, error=error)) == (
        f"lakegate; fwd=stale; ttl=-60; detail=stale-if-error; fwd-status={status}"
    )


def test_a_miss_whose_write_failed_does_not_claim_it_was_stored() -> None:
    store = MemoryCacheStore()

    def refuse(entry: Entry, **holder: object) -> Entry:
        raise CacheUnavailable("cache write failed")

    store.put = refuse  # type: ignore[method-assign]
    result = ResultCache(store, CountingRecorder()).serve(
        CacheRequest("drivers", "k" * 64, FRESHNESS, lambda _budget: Page(), Deadline.after(5))
    )
    assert result.outcome == "miss"
    assert "stored" not in cache_status(result)


# ------------------------------------------------------------------------- Age, ETag, rest


@pytest.mark.parametrize(("seconds", "age"), [(0, "0"), (0.999, "0"), (42.5, "42"), (-3, "0")])
def test_age_counts_whole_seconds_since_the_entry_was_created(seconds: float, age: str) -> None:
    assert caching_headers(FRESHNESS, served(Outcome.HIT, seconds), gzipped=True)["Age"] == age


def test_the_etag_and_row_count_are_passed_through() -> None:
    response = served(Outcome.HIT, 10)
    headers = caching_headers(FRESHNESS, response, gzipped=False)
    assert headers["ETag"] == response.entry.etag
    assert headers["X-Row-Count"] == "7"
    assert set(headers) == {
        "Cache-Control",
        "ETag",
        "Age",
        "Cache-Status",
        "Server-Timing",
        "X-Row-Count",
    }


def test_server_timing_lists_each_phase_with_one_decimal() -> None:
    response = served(Outcome.MISS, timings={"warehouse": 812.345, "cache": 3.0})
    assert server_timing(response) == "warehouse;dur=812.3, cache;dur=3.0"
    assert server_timing(response, {"shape": 0.04}) == (
        "warehouse;dur=812.3, cache;dur=3.0, shape;dur=0.0"
    )
    assert server_timing(served(Outcome.HIT)) == ""


def test_each_content_coding_has_its_own_strong_etag() -> None:
    response = served(Outcome.HIT, 10)
    plain = caching_headers(FRESHNESS, response, gzipped=False)["ETag"]
    packed = caching_headers(FRESHNESS, response, gzipped=True)["ETag"]
    assert plain == response.entry.etag and packed == plain[:-1] + '-gzip"'
    assert matches(packed, plain) and matches(plain, packed), "either revalidates the content"


# ---------------------------------------------------------------------------- If-None-Match


@pytest.mark.parametrize(
    "if_none_match",
    [
        ETAG,
        f'"other", {ETAG}',
        f'"a",{ETAG} , "b"',
        "*",
        " * ",
        f"W/{ETAG}",
        f'W/"other", W/{ETAG}',
    ],
)
def test_if_none_match_matches_the_etag_by_weak_comparison(if_none_match: str) -> None:
    assert matches(if_none_match, ETAG)
    assert matches(if_none_match, f"W/{ETAG}")


@pytest.mark.parametrize(
    "if_none_match",
    [None, "", '"other"', '"other", W/"another"', ETAG.strip('"'), ETAG[:-2] + '"'],
)
def test_if_none_match_does_not_match_absent_or_different_tags(if_none_match: str | None) -> None:
    assert not matches(if_none_match, ETAG)
