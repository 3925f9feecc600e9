"""HTTP caching headers for what the cache served: Cache-Control, ETag, Age, Cache-Status, Server-Timing.

Cache-Control carries the dataset's freshness for browsers (`max-age`) and for
CloudFront (`s-maxage`, `stale-while-revalidate`, `stale-if-error`); `Age` says how
much of it is used up, so every cache downstream counts from the entry's creation.
"""

from __future__ import annotations

from cache import Freshness, Outcome, Served
from handler.responses import status_of

CACHE_NAME = "lakegate"


def cache_control(freshness: Freshness, served: Served) -> str:
    # An answer derived from a stale roll-up is as stale as the roll-up (its entry's times).
    stale = served.outcome in (Outcome.STALE, Outcome.STALE_IF_ERROR)
    if stale or not served.entry.is_fresh(served.now_ms):
        # Already past its freshness: let downstream caches keep it only as a fallback.
        return f"public, max-age=0, s-maxage=0, stale-if-error={freshness.stale_seconds}"
    ttl = freshness.ttl_seconds
    directives = [f"public, max-age={ttl}, s-maxage={ttl}"]
    if freshness.stale_seconds:
        directives.append(f"stale-while-revalidate={freshness.stale_seconds}")
        directives.append(f"stale-if-error={freshness.stale_seconds}")
    return ", ".join(directives)


def cache_status(served: Served) -> str:
    """RFC 9211 Cache-Status for this cache's part in the response, from its outcome."""
    failed = status_of(served.error) if served.error is not None else None
    parameters = served.outcome.cache_status(
        ttl=served.entry.ttl_seconds(served.now_ms), stored=served.stored, fwd_status=failed
    )
    return f"{CACHE_NAME}; {parameters}"


def server_timing(served: Served, extra: dict[str, float] | None = None) -> str:
    timings = {**served.timings_ms, **(extra or {})}
    return ", ".join(f"{name};dur={value:.1f}" for name, value in timings.items())


def etag(served: Served, gzipped: bool) -> str:
    """Strong validators differ between content codings (RFC 9110 §8.8.3)."""
    return served.entry.etag[:-1] + '-gzip"' if gzipped else served.entry.etag


def caching_headers(freshness: Freshness, served: Served, *, gzipped: bool) -> dict[str, str]:
    return {
        "Cache-Control": cache_control(freshness, served),
        "ETag": etag(served, gzipped),
        "Age": str(served.entry.age_seconds(served.now_ms)),
        "Cache-Status": cache_status(served),
        "Server-Timing": server_timing(served),
        "X-Row-Count": str(served.entry.row_count),
    }


def by_reference_headers(served: Served) -> dict[str, str]:
    """A 303 to the answer's object. Never stored by anyone: the presigned URL it names
    dies with the Lambda role's temporary credentials (within hours, and its own expiry
    is minutes), so a cached redirect could outlive its link; each request signs anew."""
    return {
        "Cache-Control": "no-store",
        "Cache-Status": cache_status(served),
        "Server-Timing": server_timing(served),
        "X-Row-Count": str(served.entry.row_count),
    }


def matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match evaluation: weak comparison (RFC 9110), either content coding.

    A client that got the gzip representation may revalidate without asking for gzip
    (or the reverse); the content is the same, so its validator matches too.
    """
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    base = _base(etag)
    return any(_base(tag) == base for tag in if_none_match.split(","))


def _base(tag: str) -> str:
    return tag.strip().removeprefix("W/").replace('-gzip"', '"')
