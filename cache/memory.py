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
    objects_broken: bool = False  # when True storing or linking an object fails (S3 down)
    objects: dict[str, bytes] = field(default_factory=dict)  # s3_key → gzip body
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
        if entry.gzip_body is None:
            assert entry.s3_key is not None
            return self.objects[entry.s3_key]
        return entry.gzip_body

    def presigned_url(self, entry: Entry, dataset: str) -> str:
        self._check()
        if self.objects_broken or entry.s3_key not in self.objects:
            raise CacheUnavailable("no object to link to")
        return f"memory://objects/{entry.s3_key}?as={dataset}"

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

    def put(
        self,
        entry: Entry,
        *,
        owner: str | None = None,
        leased_at_ms: int = 0,
        as_object: bool = False,
    ) -> Entry:
        self._check()
        with self._lock:
            slot = self.slots.get(entry.key)
            if owner is not None and slot is not None and slot.lease_owner != owner:
                stored = slot.entry
                if stored is not None and stored.created_ms >= leased_at_ms:
                    raise Superseded("another invocation stored this key meanwhile")
            if as_object:
                if self.objects_broken:
                    raise CacheUnavailable("memory store's objects are broken")
                assert entry.gzip_body is not None
                s3_key = f"results/{entry.key}/{entry.generation}-{entry.created_ms}"
                self.objects[s3_key] = entry.gzip_body
                entry = replace(entry, gzip_body=None, s3_key=s3_key)
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
