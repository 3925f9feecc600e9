"""What the cache stores and what one lookup returns.

An entry is the response as served: gzip bytes, content type, ETag, times and row
count. Serving a hit never touches polars and never re-compresses. A body too large
to answer in line is an object (S3), answered by reference: a short-lived URL to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Renderable(Protocol):
    """A freshly computed page (handler.datasets.Page satisfies it)."""

    @property
    def body(self) -> bytes: ...

    @property
    def content_type(self) -> str: ...

    @property
    def row_count(self) -> int: ...

    @property
    def has_more(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    generation: int
    gzip_body: bytes | None  # None when the body lives in S3 (see s3_key)
    content_type: str
    etag: str
    created_ms: int
    fresh_until_ms: int
    stale_until_ms: int
    row_count: int
    has_more: bool
    s3_key: str | None = None
    # The body's size before gzip; None for entries stored before it was recorded.
    body_bytes: int | None = None

    def is_fresh(self, now_ms: int) -> bool:
        return now_ms < self.fresh_until_ms

    def is_servable_stale(self, now_ms: int) -> bool:
        """Past freshness but inside the grace period (stale-while-revalidate / -if-error)."""
        return self.fresh_until_ms <= now_ms < self.stale_until_ms

    def ttl_seconds(self, now_ms: int) -> int:
        """Seconds of freshness left; negative once stale (as in Cache-Status `ttl`)."""
        return (self.fresh_until_ms - now_ms) // 1000

    def age_seconds(self, now_ms: int) -> int:
        return max(0, (now_ms - self.created_ms) // 1000)


@dataclass(frozen=True, slots=True)
class Lookup:
    """One round trip's worth of state: the entry (if any), the dataset generation, the lease."""

    entry: Entry | None
    generation: int
    lease_until_ms: int | None = None
    error_until_ms: int | None = None

    def current_entry(self) -> Entry | None:
        """The entry, unless an invalidation (generation bump) has retired it."""
        if self.entry is None or self.entry.generation != self.generation:
            return None
        return self.entry

    def lease_is_live(self, now_ms: int) -> bool:
        # The same boundary as the stores' condition (`lease_until < now` means free).
        return self.lease_until_ms is not None and self.lease_until_ms >= now_ms

    def failing(self, now_ms: int) -> bool:
        """A statement for this key failed moments ago: do not send another yet."""
        return self.error_until_ms is not None and self.error_until_ms > now_ms


@dataclass(frozen=True, slots=True)
class GenerationInfo:
    dataset: str
    generation: int
    invalidated_at_ms: int | None = None
    invalidated_by: str | None = None
