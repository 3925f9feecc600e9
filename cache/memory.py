"""An in-memory CacheStore with DynamoDB's semantics, for narrow unit tests only."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from cache.entry import Entry, GenerationInfo, Lookup
from cache.errors import CacheUnavailable, Superseded


@dataclass
class _Slot:
    entry: Entry | None = None
    lease_owner: str | None = None
    lease_until_ms: int | None = None
    error_until_ms: int | None = None


@dataclass
class MemoryCacheStore:
    slots: dict[str, _Slot] = field(default_factory=dict)
    generations: dict[str, GenerationInfo] = field(default_factory=dict)
    invalidations: dict[tuple[str, int], int] = field(default_factory=dict)  # (dataset, minute)
    broken: bool = False  # when True every call fails, like an unreachable DynamoDB
    lookups: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _check(self) -> None:
        if self.broken:
            raise CacheUnavailable("memory store is broken")

    def lookup(self, dataset: str, key: str) -> Lookup:
        self._check()
        with self._lock:
            self.lookups += 1
            slot = self.slots.get(key, _Slot())
            info = self.generations.get(dataset, GenerationInfo(dataset, 0))
            return Lookup(slot.entry, info.generation, slot.lease_until_ms, slot.error_until_ms)

    def load_body(self, entry: Entry) -> bytes:
        self._check()
        assert entry.gzip_body is not None
        return entry.gzip_body

    def try_lease(
        self,
        key: str,
        owner: str,
        now_ms: int,
        lease_ms: int,
        generation: int,
        *,
        as_seen: Lookup | None = None,
    ) -> bool:
        self._check()
        with self._lock:
            slot = self.slots.setdefault(key, _Slot())
            if slot.lease_until_ms is not None and slot.lease_until_ms >= now_ms:
                return False
            entry = slot.entry
            if entry is not None and entry.generation == generation and entry.is_fresh(now_ms):
                return False
            if as_seen is not None and _made(entry) != _made(as_seen.entry):
                return False
            slot.lease_owner, slot.lease_until_ms = owner, now_ms + lease_ms
            return True

    def put(self, entry: Entry, *, owner: str | None = None, leased_at_ms: int = 0) -> Entry:
        self._check()
        with self._lock:
            slot = self.slots.get(entry.key)
            if owner is not None and slot is not None and slot.lease_owner != owner:
                stored = slot.entry
                if stored is not None and stored.created_ms >= leased_at_ms:
                    raise Superseded("another invocation stored this key meanwhile")
            self.slots[entry.key] = _Slot(entry=entry)
        return entry

    def renew_lease(self, key: str, owner: str, until_ms: int) -> bool:
        self._check()
        with self._lock:
            slot = self.slots.get(key)
            if slot is None or slot.lease_owner != owner:
                return False
            slot.lease_until_ms = until_ms
            return True

    def release(self, key: str, owner: str, error_until_ms: int | None) -> None:
        self._check()
        with self._lock:
            slot = self.slots.get(key)
            if slot is None or slot.lease_owner != owner:
                return
            slot.lease_owner = slot.lease_until_ms = None
            if error_until_ms is not None:
                slot.error_until_ms = error_until_ms

    def delete(self, key: str) -> None:
        self._check()
        with self._lock:
            self.slots.pop(key, None)

    def bump_generation(self, dataset: str, now_ms: int, by: str) -> int:
        self._check()
        with self._lock:
            current = self.generations.get(dataset, GenerationInfo(dataset, 0))
            bumped = replace(
                current,
                generation=current.generation + 1,
                invalidated_at_ms=now_ms,
                invalidated_by=by,
            )
            self.generations[dataset] = bumped
            return bumped.generation

    def generation(self, dataset: str) -> GenerationInfo:
        self._check()
        return self.generations.get(dataset, GenerationInfo(dataset, 0))

    def count_invalidation(self, dataset: str, now_ms: int, limit: int) -> bool:
        self._check()
        with self._lock:
            slot = (dataset, now_ms // 60_000)
            if self.invalidations.get(slot, 0) >= limit:
                return False
            self.invalidations[slot] = self.invalidations.get(slot, 0) + 1
            return True


def _made(entry: Entry | None) -> int | None:
    return None if entry is None else entry.created_ms
