"""The cache table's item layout: one table, partition key `pk`.

    q#<key>    an entry (body or s3_key, etag, times, generation) and/or a lease
               (lease_owner, lease_until) and a recent-failure marker (error_until)
    g#<name>   a dataset's generation counter and who last bumped it
    t#<name>#<minute>  how many invalidations of a dataset that epoch minute (throttle)

Items carry `expires_at` for DynamoDB's TTL sweep. It deletes lazily (up to days
late) and is only housekeeping: readers check expiry themselves.
"""

from __future__ import annotations

from typing import Any

from cache.entry import Entry

# Keep DynamoDB's TTL sweep a little behind the reader's own expiry check.
TTL_MARGIN_SECONDS = 60


def entry_key(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"q#{key}"}}


def generation_key(dataset: str) -> dict[str, Any]:
    return {"pk": {"S": f"g#{dataset}"}}


def throttle_key(dataset: str, minute: int) -> dict[str, Any]:
    return {"pk": {"S": f"t#{dataset}#{minute}"}}


def entry_item(entry: Entry) -> dict[str, Any]:
    """The entry's item, without its body (the store adds `body` or `s3_key`)."""
    item: dict[str, Any] = {
        **entry_key(entry.key),
        "generation": {"N": str(entry.generation)},
        "content_type": {"S": entry.content_type},
        "etag": {"S": entry.etag},
        "created_ms": {"N": str(entry.created_ms)},
        "fresh_until_ms": {"N": str(entry.fresh_until_ms)},
        "stale_until_ms": {"N": str(entry.stale_until_ms)},
        "row_count": {"N": str(entry.row_count)},
        "has_more": {"BOOL": entry.has_more},
        "expires_at": {"N": str(entry.stale_until_ms // 1000 + TTL_MARGIN_SECONDS)},
    }
    if entry.body_bytes is not None:
        item["body_bytes"] = {"N": str(entry.body_bytes)}
    return item


def entry_from(key: str, item: dict[str, Any]) -> Entry | None:
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
        body_bytes=number(item, "body_bytes"),
    )


def number(item: dict[str, Any] | None, name: str) -> int | None:
    if not item or name not in item:
        return None
    return int(item[name]["N"])


def holding(owner: str | None, leased_at_ms: int) -> dict[str, Any]:
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
