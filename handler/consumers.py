"""Who is asking: the consumer behind a data request, and whether it may read the dataset.

Consumers hold API keys (`x-api-key`); only SHA-256 digests of keys are ever stored.
In AWS the edge function checks the key against CloudFront's KeyValueStore and tells
the origin who asked in `x-lakegate-consumer` and `x-lakegate-tier`: headers only the
function sets (it strips the viewer's), on requests only CloudFront can send (origin
access control), so the origin trusts them (`EdgeAsserted`). On the embedded stack the
origin is reachable directly, so it reads the same key store the local edge reads and
checks the key itself (`KeyFile`). Either way `authorise` applies the catalogue's rule.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from handler.catalogue import Dataset
from handler.errors import ApiKeyRefused, ConfigurationError, Forbidden

API_KEY_HEADER = "x-api-key"
CONSUMER_HEADER = "x-lakegate-consumer"
TIER_HEADER = "x-lakegate-tier"
EVERY_DATASET = "*"


class KeyRecord(BaseModel):
    """What the key store holds under a key's digest (CloudFront KVS values are ≤ 1 KB)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consumer: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    datasets: tuple[str, ...] = Field(min_length=1)  # names, or ("*",) for every dataset
    tier: str = Field(default="standard", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    created_at: str


KEY_STORE = TypeAdapter(dict[str, KeyRecord])
_DIGEST = re.compile(r"[0-9a-f]{64}")


def key_digest(key: str) -> str:
    """The store's name for a key: its SHA-256, lower-case hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_key_digest(name: str) -> bool:
    """Whether a key store entry's name is a key's digest (not one of the edge's rules)."""
    return _DIGEST.fullmatch(name) is not None


def key_records(document: Any) -> dict[str, KeyRecord]:
    """The API keys of a key store document (digest → record), validated.

    The store holds the edge function's rules too, under keys no digest can be
    (edge/store.py): those are not keys, and are left out here."""
    if isinstance(document, dict):
        document = {k: v for k, v in document.items() if is_key_digest(k)}
    return KEY_STORE.validate_python(document)


@dataclass(frozen=True, slots=True)
class Consumer:
    id: str
    tier: str
    # The datasets its key allows; None where the edge has already checked them.
    datasets: tuple[str, ...] | None = None


class Consumers(Protocol):
    def identify(self, headers: Mapping[str, str]) -> Consumer | None:
        """The consumer who sent these (lower-cased) headers; None: nobody said.
        Raises ApiKeyRefused for a key that is not in the store."""


class EdgeAsserted:
    """Behind the edge function (AWS): it checked the key and named the consumer."""

    def identify(self, headers: Mapping[str, str]) -> Consumer | None:
        consumer = headers.get(CONSUMER_HEADER)
        if not consumer:
            return None
        return Consumer(consumer, headers.get(TIER_HEADER) or "standard")


class KeyFile:
    """The embedded stack's key store file, written by `lakegate keys`, re-read when it changes
    (a revoked key is refused from the next request on)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._records: dict[str, KeyRecord] = {}

    def identify(self, headers: Mapping[str, str]) -> Consumer | None:
        key = headers.get(API_KEY_HEADER)
        if key is None:
            return None
        record = self._current().get(key_digest(key))
        if record is None:
            raise ApiKeyRefused("unknown API key")
        return Consumer(record.consumer, record.tier, record.datasets)

    def _current(self) -> dict[str, KeyRecord]:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return {}  # no key created yet: every key is unknown
        seen = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if seen != self._seen:
                try:
                    self._records = key_records(orjson.loads(self._path.read_bytes()))
                except (OSError, orjson.JSONDecodeError, ValidationError) as exc:
                    raise ConfigurationError(f"unreadable key store {self._path}") from exc
                self._seen = seen
            return self._records


def authorise(dataset: Dataset, consumer: Consumer | None, *, require_keys: bool) -> None:
    """Refuse a request its consumer may not make: 401 without a key where one is needed,
    403 there for a key that does not cover the dataset."""
    needs_key = require_keys or dataset.access == "key"
    if consumer is None and needs_key:
        raise ApiKeyRefused("no API key")
    if consumer is None or not needs_key:
        return  # a public dataset is anyone's, whatever a key lists
    allowed = consumer.datasets
    if allowed is not None and EVERY_DATASET not in allowed and dataset.name not in allowed:
        raise Forbidden(f"This API key may not read dataset {dataset.name!r}.")
