"""Where cache entries live: the `CacheStore` protocol and its DynamoDB (+ S3) implementation.

The item layout is `cache/items.py`. A hit is one BatchGetItem that reads the entry
and the dataset's generation together; expiry is checked by the reader. Bodies over
~350 KB compressed, and bodies answered by reference, are S3 objects
(`cache/objects.py`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from cache.entry import Entry, GenerationInfo, Lookup
from cache.errors import CacheUnavailable, Superseded
from cache.items import (
    TTL_MARGIN_SECONDS,
    entry_from,
    entry_item,
    entry_key,
    generation_key,
    holding,
    number,
    throttle_key,
)
from cache.objects import ResultObjects, download_name

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


class CacheStore(Protocol):
    def lookup(self, dataset: str, key: str) -> Lookup:
        """The entry, the dataset's generation and the lease state, in one round trip."""

    def load_body(self, entry: Entry) -> bytes:
        """The entry's gzip body (from S3 when it overflowed)."""

    def presigned_url(self, entry: Entry, dataset: str) -> str:
        """A short-lived URL that downloads the entry's object (an entry with an s3_key),
        as a file named for the dataset and the format (`crashes.csv`)."""

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
        """Take the key's lease if nobody holds a live one, no fresh entry of `generation`
        exists and (with `as_seen`) the entry is still the one that lookup saw: an entry
        stored since is what the caller would compute, so there is nothing to run."""

    def renew_lease(self, key: str, owner: str, until_ms: int) -> bool:
        """Extend our lease to `until_ms`; False when it is no longer ours."""

    def put(
        self,
        entry: Entry,
        *,
        owner: str | None = None,
        leased_at_ms: int = 0,
        as_object: bool = False,
    ) -> Entry:
        """Store an entry with its body (releasing any lease); returns it as stored.

        With `owner`, only while that lease holds, or when nothing was stored since it
        was taken (`leased_at_ms`): else Superseded, and the stored result stands.
        `as_object`: the body goes to S3 whatever its size (it is answered by reference)."""

    def release(self, key: str, owner: str, error_until_ms: int | None) -> None:
        """Drop our lease, optionally marking the key as failing until then."""

    def delete(self, key: str) -> None:
        """Drop one entry (and any lease on it)."""

    def bump_generation(self, dataset: str, now_ms: int, by: str) -> int:
        """Retire every entry of a dataset at once; returns the new generation."""

    def generation(self, dataset: str) -> GenerationInfo:
        """The dataset's generation and who last bumped it."""

    def count_invalidation(self, dataset: str, now_ms: int, limit: int) -> bool:
        """Count one invalidation of `dataset` this minute; False (not counted) once `limit` were."""


class DynamoCacheStore:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        s3: S3Client | None = None,
        bucket: str | None = None,
        *,
        overflow_bytes: int = 350_000,
        link_seconds: int = 300,
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._objects = (
            ResultObjects(s3, bucket, link_seconds=link_seconds)
            if s3 is not None and bucket is not None
            else None
        )
        self._overflow_bytes = overflow_bytes

    def lookup(self, dataset: str, key: str) -> Lookup:
        keys = [entry_key(key), generation_key(dataset)]
        try:
            # Strongly consistent: an invalidation or a lease must be visible at once.
            answer = self._db.batch_get_item(
                RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheUnavailable.of("lookup", exc) from exc
        if answer.get("UnprocessedKeys"):
            raise CacheUnavailable("cache lookup throttled", error_code="UnprocessedKeys")
        items = {i["pk"]["S"]: i for i in answer.get("Responses", {}).get(self._table, [])}
        found = items.get(f"q#{key}")
        generation_item = items.get(f"g#{dataset}")
        generation = int(generation_item["generation"]["N"]) if generation_item else 0
        return Lookup(
            entry=entry_from(key, found) if found else None,
            generation=generation,
            lease_until_ms=number(found, "lease_until"),
            error_until_ms=number(found, "error_until"),
        )

    def load_body(self, entry: Entry) -> bytes:
        if entry.gzip_body is not None:
            return entry.gzip_body
        if self._objects is None or entry.s3_key is None:
            raise CacheUnavailable("overflow entry without an S3 bucket")
        return self._objects.read(entry.s3_key)

    def presigned_url(self, entry: Entry, dataset: str) -> str:
        if self._objects is None or entry.s3_key is None:
            raise CacheUnavailable("no object to link to")
        return self._objects.link(entry.s3_key, download_name(dataset, entry))

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
        condition = (
            "(attribute_not_exists(lease_until) OR lease_until < :now) "
            "AND (attribute_not_exists(fresh_until_ms) OR #gen <> :gen OR fresh_until_ms <= :now)"
        )
        values: dict[str, Any] = {
            ":owner": {"S": owner},
            ":until": {"N": str(now_ms + lease_ms)},
            ":now": {"N": str(now_ms)},
            ":gen": {"N": str(generation)},
            ":ttl": {"N": str((now_ms + lease_ms) // 1000 + TTL_MARGIN_SECONDS)},
        }
        if as_seen is not None:
            # Entries are told apart by when they were made; no clock is compared.
            if as_seen.entry is None:
                condition += " AND attribute_not_exists(created_ms)"
            else:
                condition += " AND created_ms = :seen"
                values[":seen"] = {"N": str(as_seen.entry.created_ms)}
        return self._update_if(
            "lease",
            Key=entry_key(key),
            UpdateExpression="SET lease_owner = :owner, lease_until = :until, "
            "expires_at = if_not_exists(expires_at, :ttl)",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#gen": "generation"},
            ExpressionAttributeValues=values,
        )

    def put(
        self,
        entry: Entry,
        *,
        owner: str | None = None,
        leased_at_ms: int = 0,
        as_object: bool = False,
    ) -> Entry:
        gzip_body = entry.gzip_body
        if gzip_body is None:
            raise ValueError("put needs the entry's body")
        item = entry_item(entry)
        try:
            if as_object or len(gzip_body) > self._overflow_bytes:
                if self._objects is None:
                    raise CacheUnavailable("result too large for an item and no S3 bucket")
                s3_key = self._objects.put(entry, gzip_body)
                item["s3_key"] = {"S": s3_key}
                stored = replace(entry, s3_key=s3_key)
            else:
                item["body"] = {"B": gzip_body}
                stored = entry
            self._db.put_item(TableName=self._table, Item=item, **holding(owner, leased_at_ms))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise Superseded("another invocation stored this key meanwhile") from exc
            raise CacheUnavailable.of("write", exc) from exc
        except BotoCoreError as exc:
            raise CacheUnavailable.of("write", exc) from exc
        return stored

    def renew_lease(self, key: str, owner: str, until_ms: int) -> bool:
        return self._update_if(
            "lease renewal",
            Key=entry_key(key),
            UpdateExpression="SET lease_until = :until",
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues={":owner": {"S": owner}, ":until": {"N": str(until_ms)}},
        )

    def release(self, key: str, owner: str, error_until_ms: int | None) -> None:
        update = "REMOVE lease_owner, lease_until"
        values: dict[str, Any] = {":owner": {"S": owner}}
        if error_until_ms is not None:
            update = "SET error_until = :error " + update
            values[":error"] = {"N": str(error_until_ms)}
        # False when the lease expired and was taken over: nothing of ours left to drop.
        self._update_if(
            "release",
            Key=entry_key(key),
            UpdateExpression=update,
            ConditionExpression="lease_owner = :owner",
            ExpressionAttributeValues=values,
        )

    def delete(self, key: str) -> None:
        try:
            self._db.delete_item(TableName=self._table, Key=entry_key(key))
        except (BotoCoreError, ClientError) as exc:
            raise CacheUnavailable.of("delete", exc) from exc

    def bump_generation(self, dataset: str, now_ms: int, by: str) -> int:
        try:
            answer = self._db.update_item(
                TableName=self._table,
                Key=generation_key(dataset),
                UpdateExpression="ADD #gen :one SET invalidated_at = :now, invalidated_by = :by",
                ExpressionAttributeNames={"#gen": "generation"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":now": {"N": str(now_ms)},
                    ":by": {"S": by},
                },
                ReturnValues="UPDATED_NEW",
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheUnavailable.of("invalidate", exc) from exc
        return int(answer["Attributes"]["generation"]["N"])

    def generation(self, dataset: str) -> GenerationInfo:
        try:
            answer = self._db.get_item(
                TableName=self._table, Key=generation_key(dataset), ConsistentRead=True
            )
        except (BotoCoreError, ClientError) as exc:
            raise CacheUnavailable.of("status", exc) from exc
        item = answer.get("Item")
        if not item:
            return GenerationInfo(dataset=dataset, generation=0)
        return GenerationInfo(
            dataset=dataset,
            generation=int(item["generation"]["N"]),
            invalidated_at_ms=number(item, "invalidated_at"),
            invalidated_by=item.get("invalidated_by", {}).get("S"),
        )

    def count_invalidation(self, dataset: str, now_ms: int, limit: int) -> bool:
        minute = now_ms // 60_000
        # One conditional ADD: concurrent operators cannot both take the last slot.
        return self._update_if(
            "throttle",
            Key=throttle_key(dataset, minute),
            UpdateExpression="ADD n :one SET expires_at = :ttl",
            ConditionExpression="attribute_not_exists(n) OR n < :limit",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":limit": {"N": str(limit)},
                ":ttl": {"N": str((minute + 1) * 60 + TTL_MARGIN_SECONDS)},
            },
        )

    def _update_if(self, operation: str, **request: Any) -> bool:
        """One conditional UpdateItem; False when its condition did not hold."""
        try:
            self._db.update_item(TableName=self._table, **request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise CacheUnavailable.of(operation, exc) from exc
        except BotoCoreError as exc:
            raise CacheUnavailable.of(operation, exc) from exc
        return True
