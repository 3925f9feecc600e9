"""Where cache entries live: the `CacheStore` protocol and its DynamoDB (+ S3) implementation.

Item layout, one table, partition key `pk`:

    q#<key>    an entry (body or s3_key, etag, times, generation) and/or a lease
               (lease_owner, lease_until) and a recent-failure marker (error_until)
    g#<name>   a dataset's generation counter and who last bumped it
    t#<name>#<minute>  how many invalidations of a dataset that epoch minute (throttle)

A hit is one BatchGetItem that reads `q#<key>` and `g#<dataset>` together. Expiry is
checked by the reader: DynamoDB's TTL deletes lazily (up to days late) and is only
housekeeping here. Bodies over ~350 KB compressed go to S3 (an item is capped at
400 KB), and so do bodies answered by reference (too large for a Lambda response):
stored with `Content-Encoding: gzip`, so that a client following a presigned URL to
the object gets the body it would have been sent. The bucket's lifecycle rule
expires objects after the longest entry lifetime (cdk/lakegate_cdk/cache_storage.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from cache.entry import Entry, GenerationInfo, Lookup
from cache.errors import CacheUnavailable, Superseded

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# Keep DynamoDB's TTL sweep a little behind the reader's own expiry check.
_TTL_MARGIN_SECONDS = 60


class CacheStore(Protocol):
    def lookup(self, dataset: str, key: str) -> Lookup:
        """The entry, the dataset's generation and the lease state, in one round trip."""

    def load_body(self, entry: Entry) -> bytes:
        """The entry's gzip body (from S3 when it overflowed)."""

    def presigned_url(self, entry: Entry) -> str:
        """A short-lived URL that downloads the entry's object (an entry with an s3_key)."""

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


def _holding(owner: str | None, leased_at_ms: int) -> dict[str, Any]:
    """put_item's condition for a holder: its lease still holds, or nothing newer is stored."""
    if owner is None:
        return {}
    return {
        "ConditionExpression": "lease_owner = :owner OR attribute_not_exists(created_ms) "
        "OR created_ms < :leased",
        "ExpressionAttributeValues": {
            ":owner": {"S": owner},
            ":leased": {"N": str(leased_at_ms)},
        },
    }


def _boto_failure(operation: str, exc: Exception) -> CacheUnavailable:
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    return CacheUnavailable(f"cache {operation} failed", error_code=code or type(exc).__name__)


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
        self._s3 = s3
        self._bucket = bucket
        self._overflow_bytes = overflow_bytes
        self._link_seconds = link_seconds

    def lookup(self, dataset: str, key: str) -> Lookup:
        keys = [{"pk": {"S": f"q#{key}"}}, {"pk": {"S": f"g#{dataset}"}}]
        try:
            # Strongly consistent: an invalidation or a lease must be visible at once.
            answer = self._db.batch_get_item(
                RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
            )
        except (BotoCoreError, ClientError) as exc:
            raise _boto_failure("lookup", exc) from exc
        if answer.get("UnprocessedKeys"):
            raise CacheUnavailable("cache lookup throttled", error_code="UnprocessedKeys")
        items = {i["pk"]["S"]: i for i in answer.get("Responses", {}).get(self._table, [])}
        entry_item = items.get(f"q#{key}")
        generation_item = items.get(f"g#{dataset}")
        generation = int(generation_item["generation"]["N"]) if generation_item else 0
        return Lookup(
            entry=_entry_from(key, entry_item) if entry_item else None,
            generation=generation,
            lease_until_ms=_number(entry_item, "lease_until"),
            error_until_ms=_number(entry_item, "error_until"),
        )

    def load_body(self, entry: Entry) -> bytes:
        if entry.gzip_body is not None:
            return entry.gzip_body
        if self._s3 is None or self._bucket is None or entry.s3_key is None:
            raise CacheUnavailable("overflow entry without an S3 bucket")
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=entry.s3_key)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise _boto_failure("s3 read", exc) from exc

    def presigned_url(self, entry: Entry) -> str:
        if self._s3 is None or self._bucket is None or entry.s3_key is None:
            raise CacheUnavailable("no object to link to")
        try:
            # Signed locally with the role's credentials: no request to S3.
            return self._s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": entry.s3_key},
                ExpiresIn=self._link_seconds,
            )
        except (BotoCoreError, ClientError) as exc:
            raise _boto_failure("presign", exc) from exc

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
            ":ttl": {"N": str((now_ms + lease_ms) // 1000 + _TTL_MARGIN_SECONDS)},
        }
        if as_seen is not None:
            # Entries are told apart by when they were made; no clock is compared.
            if as_seen.entry is None:
                condition += " AND attribute_not_exists(created_ms)"
            else:
                condition += " AND created_ms = :seen"
                values[":seen"] = {"N": str(as_seen.entry.created_ms)}
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"q#{key}"}},
                UpdateExpression="SET lease_owner = :owner, lease_until = :until, "
                "expires_at = if_not_exists(expires_at, :ttl)",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#gen": "generation"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _boto_failure("lease", exc) from exc
        except BotoCoreError as exc:
            raise _boto_failure("lease", exc) from exc
        return True

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
        item: dict[str, Any] = {
            "pk": {"S": f"q#{entry.key}"},
            "generation": {"N": str(entry.generation)},
            "content_type": {"S": entry.content_type},
            "etag": {"S": entry.etag},
            "created_ms": {"N": str(entry.created_ms)},
            "fresh_until_ms": {"N": str(entry.fresh_until_ms)},
            "stale_until_ms": {"N": str(entry.stale_until_ms)},
            "row_count": {"N": str(entry.row_count)},
            "has_more": {"BOOL": entry.has_more},
            "expires_at": {"N": str(entry.stale_until_ms // 1000 + _TTL_MARGIN_SECONDS)},
        }
        if entry.body_bytes is not None:
            item["body_bytes"] = {"N": str(entry.body_bytes)}
        try:
            if as_object or len(gzip_body) > self._overflow_bytes:
                s3_key = self._overflow(entry, gzip_body)
                item["s3_key"] = {"S": s3_key}
                stored = replace(entry, s3_key=s3_key)
            else:
                item["body"] = {"B": gzip_body}
                stored = entry
            self._db.put_item(TableName=self._table, Item=item, **_holding(owner, leased_at_ms))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise Superseded("another invocation stored this key meanwhile") from exc
            raise _boto_failure("write", exc) from exc
        except BotoCoreError as exc:
            raise _boto_failure("write", exc) from exc
        return stored

    def _overflow(self, entry: Entry, gzip_body: bytes) -> str:
        if self._s3 is None or self._bucket is None:
            raise CacheUnavailable("result too large for an item and no S3 bucket configured")
        s3_key = f"results/{entry.key}/{entry.generation}-{entry.created_ms}.json.gz"
        self._s3.put_object(
            Bucket=self._bucket,
            Key=s3_key,
            Body=gzip_body,
            ContentType=entry.content_type,
            ContentEncoding="gzip",
        )
        return s3_key

    def renew_lease(self, key: str, owner: str, until_ms: int) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"q#{key}"}},
                UpdateExpression="SET lease_until = :until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":until": {"N": str(until_ms)},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _boto_failure("lease renewal", exc) from exc
        except BotoCoreError as exc:
            raise _boto_failure("lease renewal", exc) from exc
        return True

    def release(self, key: str, owner: str, error_until_ms: int | None) -> None:
        update = "REMOVE lease_owner, lease_until"
        values: dict[str, Any] = {":owner": {"S": owner}}
        if error_until_ms is not None:
            update = "SET error_until = :error " + update
            values[":error"] = {"N": str(error_until_ms)}
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"q#{key}"}},
                UpdateExpression=update,
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise _boto_failure("release", exc) from exc
        except BotoCoreError as exc:
            raise _boto_failure("release", exc) from exc

    def delete(self, key: str) -> None:
        try:
            self._db.delete_item(TableName=self._table, Key={"pk": {"S": f"q#{key}"}})
        except (BotoCoreError, ClientError) as exc:
            raise _boto_failure("delete", exc) from exc

    def bump_generation(self, dataset: str, now_ms: int, by: str) -> int:
        try:
            answer = self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"g#{dataset}"}},
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
            raise _boto_failure("invalidate", exc) from exc
        return int(answer["Attributes"]["generation"]["N"])

    def generation(self, dataset: str) -> GenerationInfo:
        try:
            answer = self._db.get_item(
                TableName=self._table, Key={"pk": {"S": f"g#{dataset}"}}, ConsistentRead=True
            )
        except (BotoCoreError, ClientError) as exc:
            raise _boto_failure("status", exc) from exc
        item = answer.get("Item")
        if not item:
            return GenerationInfo(dataset=dataset, generation=0)
        return GenerationInfo(
            dataset=dataset,
            generation=int(item["generation"]["N"]),
            invalidated_at_ms=_number(item, "invalidated_at"),
            invalidated_by=item.get("invalidated_by", {}).get("S"),
        )

    def count_invalidation(self, dataset: str, now_ms: int, limit: int) -> bool:
        minute = now_ms // 60_000
        try:
            # One conditional ADD: concurrent operators cannot both take the last slot.
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"t#{dataset}#{minute}"}},
                UpdateExpression="ADD n :one SET expires_at = :ttl",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":ttl": {"N": str((minute + 1) * 60 + _TTL_MARGIN_SECONDS)},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _boto_failure("throttle", exc) from exc
        except BotoCoreError as exc:
            raise _boto_failure("throttle", exc) from exc
        return True


def _number(item: dict[str, Any] | None, name: str) -> int | None:
    if not item or name not in item:
        return None
    return int(item[name]["N"])


def _entry_from(key: str, item: dict[str, Any]) -> Entry | None:
    """An entry from its item; None for an item that only holds a lease or failure mark."""
    if "etag" not in item:
        return None
    return Entry(
        key=key,
        generation=int(item["generation"]["N"]),
        gzip_body=bytes(item["body"]["B"]) if "body" in item else None,
        content_type=item["content_type"]["S"],
        etag=item["etag"]["S"],
        created_ms=int(item["created_ms"]["N"]),
        fresh_until_ms=int(item["fresh_until_ms"]["N"]),
        stale_until_ms=int(item["stale_until_ms"]["N"]),
        row_count=int(item["row_count"]["N"]),
        has_more=bool(item["has_more"]["BOOL"]),
        s3_key=item.get("s3_key", {}).get("S"),
        body_bytes=_number(item, "body_bytes"),
    )
