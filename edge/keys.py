"""The edge's key store: consumers' API keys, by digest, beside the edge function's rules.

Two stores, one format: CloudFront's KeyValueStore (`KvsKeyStore`), which the edge
function reads, written through boto3's cloudfront-keyvaluestore client (its SigV4A
signing needs `pip install 'botocore[crt]'`), each write carrying the store's ETag; and
its file twin on the embedded stack (`FileKeyStore`, where lakegate.keys.default_keys_file says),
read by the local edge and by the origin, changed under a lock and replaced atomically.

A key is never stored: the store maps its SHA-256 to the consumer's record
(`handler.consumers.KeyRecord`). The rules live in the same store under keys no digest
can be (edge.store); what lists and changes keys here leaves them be. Operators change
keys with `lakegate keys` (lakegate.keys).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import orjson

from handler.consumers import KeyRecord, is_key_digest, key_digest, key_records

KEY_PREFIX = "lk_"  # recognisable in a leaked-secret scan


class KeyStore(Protocol):
    name: str

    def records(self) -> dict[str, KeyRecord]:
        """digest → record, every key in the store."""

    def put(self, digest: str, record: KeyRecord) -> None: ...

    def delete(self, digests: Iterable[str]) -> None: ...


class FileKeyStore:
    """The embedded stack's store: one JSON object, replaced atomically on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    def records(self) -> dict[str, KeyRecord]:
        if not self.path.exists():
            return {}
        return key_records(orjson.loads(self.path.read_bytes()))

    def put(self, digest: str, record: KeyRecord) -> None:
        update_store_file(self.path, lambda store: {**store, digest: record.model_dump()})

    def delete(self, digests: Iterable[str]) -> None:
        gone = set(digests)
        update_store_file(
            self.path, lambda store: {k: v for k, v in store.items() if k not in gone}
        )


def update_store_file(path: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Replace the key store file's object with `change(object)`, under an exclusive lock.

    Two writers share the file (`lakegate keys`, and the local edge writing its rules):
    the lock keeps one from losing the other's change. Readers (the edge, the origin)
    never see half a file: the new one replaces the old atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        store = orjson.loads(path.read_bytes()) if path.exists() else {}
        data = orjson.dumps(change(store))
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)


class KvsKeyStore:
    """CloudFront's KeyValueStore, as the edge function reads it."""

    def __init__(self, arn: str, client: Any) -> None:
        self.arn = arn
        self.name = arn
        self._client = client

    def records(self) -> dict[str, KeyRecord]:
        found: dict[str, KeyRecord] = {}
        for page in self._client.get_paginator("list_keys").paginate(KvsARN=self.arn):
            for item in page.get("Items", []):
                if is_key_digest(item["Key"]):
                    found[item["Key"]] = KeyRecord.model_validate_json(item["Value"])
        return found

    def put(self, digest: str, record: KeyRecord) -> None:
        self._client.put_key(
            KvsARN=self.arn, Key=digest, Value=record.model_dump_json(), IfMatch=self._etag()
        )

    def delete(self, digests: Iterable[str]) -> None:
        for digest in digests:
            self._client.delete_key(KvsARN=self.arn, Key=digest, IfMatch=self._etag())

    def _etag(self) -> str:
        return str(self._client.describe_key_value_store(KvsARN=self.arn)["ETag"])


def create(
    store: KeyStore, consumer: str, datasets: tuple[str, ...], tier: str
) -> tuple[str, KeyRecord]:
    """A new key for `consumer`: (the key, its record). Only the digest is stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = KeyRecord(
        consumer=consumer,
        datasets=datasets,
        tier=tier,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    store.put(key_digest(key), record)
    return key, record


def revoke(store: KeyStore, consumer: str) -> list[str]:
    """Delete every key of `consumer`; their digests (none: no such consumer)."""
    digests = [d for d, r in store.records().items() if r.consumer == consumer]
    if digests:
        store.delete(digests)
    return digests
