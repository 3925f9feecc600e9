"""Decoded roll-ups a container holds between invocations, within a bound in bytes.

Least recently used first out; a value larger than the whole bound is used by the
request that fetched it and not kept. Deliberate per-container state, like the
container's clients (handler.container builds one per container).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from cache.served import Vintage


@dataclass(frozen=True, slots=True)
class Kept:
    """One roll-up as a container holds it: its value, the bytes it takes, its times."""

    generation: int | None
    vintage: Vintage
    value: object
    size: int


class Held:
    """The roll-ups kept, never more than `max_bytes` of them in all."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[str, Kept] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        with self._lock:
            return sum(kept.size for kept in self._kept.values())

    def keys(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._kept)

    def get(self, key: str) -> Kept | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
            return kept

    def put(self, key: str, kept: Kept) -> None:
        with self._lock:
            self._kept.pop(key, None)
            if kept.size > self.max_bytes:
                return
            self._kept[key] = kept
            total = sum(k.size for k in self._kept.values())
            while total > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                total -= dropped.size
