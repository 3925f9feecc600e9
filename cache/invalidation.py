"""Invalidation: retire cached results without scanning anything.

A dataset's entries are retired all at once by bumping its generation (one
UpdateItem): every entry stores the generation it was computed under, and a lookup
reads both together, so older entries simply stop matching.
"""

from __future__ import annotations

from cache.store import CacheStore


def invalidate_dataset(store: CacheStore, dataset: str, *, by: str, now_ms: int) -> int:
    """Retire every cached result of `dataset`; returns its new generation."""
    return store.bump_generation(dataset, now_ms, by)


def invalidate_key(store: CacheStore, key: str) -> None:
    """Drop the cached result of one normalised query."""
    store.delete(key)
