"""DynamoCacheStore against a real moto server: the item layout, leases, generations, overflow.

One table holds entries (`q#<key>`, with the lease and failure mark on the same item)
and generation counters (`g#<dataset>`). A lookup is one BatchGetItem. Expiry is the
reader's job: moto, like DynamoDB's lazy TTL, hands back items whose time is up. Every
AWS failure surfaces as CacheUnavailable so callers can fail open.
"""

from __future__ import annotations

import gzip
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from botocore.config import Config

from cache import (
    Budget,
    CacheRequest,
    CacheUnavailable,
    CountingRecorder,
    DynamoCacheStore,
    Entry,
    Freshness,
    Renderable,
    ResultCache,
    Superseded,
)
from local.aws import REGION, MotoServer, create_cache_resources, use_local_credentials

NOW_MS = 1_800_000_000_000


class FiveSeconds:
    """A Budget that never runs down (a hit does not spend it)."""

    def remaining(self) -> float:
        return 5.0


LEASE_MS = 8_000
TABLE = f"cache-test-{uuid.uuid4().hex[:8]}"
BUCKET = f"cache-test-{uuid.uuid4().hex[:8]}"


@dataclass
class Moto:
    url: str
    dynamodb: Any
    s3: Any
    store: DynamoCacheStore
    calls: list[str]


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    use_local_credentials()
    server = MotoServer().start()
    try:
        create_cache_resources(server.url, TABLE, BUCKET)
        dynamodb = boto3.client("dynamodb", endpoint_url=server.url, region_name=REGION)
        s3 = boto3.client("s3", endpoint_url=server.url, region_name=REGION)
        calls: list[str] = []
        dynamodb.meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
        )
        store = DynamoCacheStore(dynamodb, TABLE, s3, BUCKET, overflow_bytes=1_000)
        yield Moto(server.url, dynamodb, s3, store, calls)
    finally:
        server.stop()


@pytest.fixture
def store(moto: Moto) -> DynamoCacheStore:
    moto.calls.clear()
    return moto.store


@pytest.fixture
def key() -> str:
    return uuid.uuid4().hex * 2


@pytest.fixture
def dataset() -> str:
    return f"ds_{uuid.uuid4().hex[:8]}"


def entry_for(key: str, body: bytes = b'{"rows": [1, 2]}', generation: int = 0) -> Entry:
    return Entry(
        key=key,
        generation=generation,
        gzip_body=gzip.compress(body, mtime=0),
        content_type="application/json",
        etag='"abc123"',
        created_ms=NOW_MS,
        fresh_until_ms=NOW_MS + 300_000,
        stale_until_ms=NOW_MS + 3_900_000,
        row_count=2,
        has_more=True,
    )


def raw_item(moto: Moto, key: str) -> dict[str, Any]:
    item: dict[str, Any] = moto.dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"q#{key}"}}, ConsistentRead=True
    ).get("Item", {})
    return item


# ---------------------------------------------------------------------------------- lookups


def test_looking_up_nothing_gives_generation_zero_and_no_entry(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    lookup = store.lookup(dataset, key)
    assert lookup.entry is None and lookup.current_entry() is None
    assert lookup.generation == 0
    assert lookup.lease_until_ms is None and lookup.error_until_ms is None


def test_an_entry_put_is_looked_up_unchanged_with_its_gzip_bytes(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    entry = entry_for(key)
    assert store.put(entry) == entry
    lookup = store.lookup(dataset, key)
    assert lookup.entry == entry
    assert lookup.current_entry() == entry
    assert store.load_body(entry) == entry.gzip_body


def test_a_lookup_is_one_batch_get_item(
    moto: Moto, store: DynamoCacheStore, dataset: str, key: str
) -> None:
    store.put(entry_for(key))
    store.bump_generation(dataset, NOW_MS, "operator")
    moto.calls.clear()
    store.lookup(dataset, key)
    assert moto.calls == ["BatchGetItem"]


# ----------------------------------------------------------------------------------- leases


def test_a_lease_is_exclusive_until_it_expires(store: DynamoCacheStore, key: str) -> None:
    assert store.try_lease(key, "first", NOW_MS, LEASE_MS, 0)
    assert not store.try_lease(key, "second", NOW_MS + 1, LEASE_MS, 0)
    assert not store.try_lease(key, "second", NOW_MS + LEASE_MS, LEASE_MS, 0)
    assert store.try_lease(key, "second", NOW_MS + LEASE_MS + 1, LEASE_MS, 0)
    assert not store.try_lease(key, "first", NOW_MS + LEASE_MS + 2, LEASE_MS, 0)


def test_a_lease_shows_in_the_lookup_and_is_not_an_entry(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    assert store.try_lease(key, "me", NOW_MS, LEASE_MS, 0)
    lookup = store.lookup(dataset, key)
    assert lookup.entry is None
    assert lookup.lease_until_ms == NOW_MS + LEASE_MS
    assert lookup.lease_is_live(NOW_MS) and lookup.lease_is_live(NOW_MS + LEASE_MS)
    assert not lookup.lease_is_live(NOW_MS + LEASE_MS + 1), "same boundary as try_lease"


def test_a_lease_on_a_stale_entry_keeps_the_entry(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    entry = store.put(entry_for(key))
    assert store.try_lease(key, "refresher", NOW_MS + 400_000, LEASE_MS, 0)
    lookup = store.lookup(dataset, key)
    assert lookup.entry == entry
    assert lookup.lease_is_live(NOW_MS + 400_000)


def test_no_lease_once_the_entry_is_no_longer_the_one_the_caller_saw(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    """Past its freshness, an entry stored after our lookup is still what we would compute."""
    saw_nothing = store.lookup(dataset, key)
    store.put(entry_for(key))
    later = NOW_MS + 400_000
    assert not store.try_lease(key, "late", later, LEASE_MS, 0, as_seen=saw_nothing)
    saw_it = store.lookup(dataset, key)
    assert store.try_lease(key, "refresher", later, LEASE_MS, 0, as_seen=saw_it)


def test_a_holders_write_stands_down_for_an_entry_stored_since_its_lease(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    assert store.try_lease(key, "late", NOW_MS, LEASE_MS, 0)
    assert store.try_lease(key, "other", NOW_MS + LEASE_MS + 1, LEASE_MS, 0)
    theirs = store.put(replace(entry_for(key), created_ms=NOW_MS + LEASE_MS + 5))
    with pytest.raises(Superseded):
        store.put(
            replace(entry_for(key), created_ms=NOW_MS + LEASE_MS + 9),
            owner="late",
            leased_at_ms=NOW_MS,
        )
    assert store.lookup(dataset, key).entry == theirs
    other_key = f"{key}-held"
    assert store.try_lease(other_key, "holder", NOW_MS, LEASE_MS, 0)
    ours = store.put(entry_for(other_key), owner="holder", leased_at_ms=NOW_MS)
    assert store.lookup(dataset, other_key).entry == ours, "the holder's own write goes through"


def test_only_the_holder_renews_its_lease(store: DynamoCacheStore, dataset: str, key: str) -> None:
    assert store.try_lease(key, "holder", NOW_MS, LEASE_MS, 0)
    assert store.renew_lease(key, "holder", NOW_MS + 3 * LEASE_MS)
    assert store.lookup(dataset, key).lease_is_live(NOW_MS + 2 * LEASE_MS)
    assert not store.renew_lease(key, "impostor", NOW_MS + 9 * LEASE_MS)
    store.release(key, "holder", None)
    assert not store.renew_lease(key, "holder", NOW_MS + 9 * LEASE_MS), "released: not ours"


def test_putting_an_entry_clears_the_lease(store: DynamoCacheStore, dataset: str, key: str) -> None:
    assert store.try_lease(key, "me", NOW_MS, LEASE_MS, 0)
    store.put(entry_for(key))
    assert store.lookup(dataset, key).lease_until_ms is None
    # No lease is held, but the fresh entry means there is nothing left to run...
    assert not store.try_lease(key, "someone-else", NOW_MS + 1, LEASE_MS, 0)
    # ...unless it belongs to a retired generation.
    assert store.try_lease(key, "someone-else", NOW_MS + 1, LEASE_MS, 1)


def test_release_with_an_error_drops_the_lease_and_keeps_the_failure_mark(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    assert store.try_lease(key, "me", NOW_MS, LEASE_MS, 0)
    store.release(key, "me", NOW_MS + 2_000)
    lookup = store.lookup(dataset, key)
    assert lookup.lease_until_ms is None
    assert lookup.error_until_ms == NOW_MS + 2_000
    assert lookup.failing(NOW_MS + 1_999) and not lookup.failing(NOW_MS + 2_000)


def test_release_by_someone_who_does_not_hold_the_lease_does_nothing(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    assert store.try_lease(key, "holder", NOW_MS, LEASE_MS, 0)
    store.release(key, "impostor", NOW_MS + 2_000)
    store.release(uuid.uuid4().hex, "nobody", None)  # no item at all: also quiet
    lookup = store.lookup(dataset, key)
    assert lookup.lease_until_ms == NOW_MS + LEASE_MS
    assert lookup.error_until_ms is None
    assert not store.try_lease(key, "impostor", NOW_MS + 1, LEASE_MS, 0)


# ------------------------------------------------------------------------------ generations


def test_bumping_a_generation_counts_up_and_hides_older_entries(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    entry = store.put(entry_for(key, generation=0))
    assert store.bump_generation(dataset, NOW_MS, "ops") == 1
    assert store.bump_generation(dataset, NOW_MS + 5, "ops") == 2
    lookup = store.lookup(dataset, key)
    assert lookup.generation == 2
    assert lookup.entry == entry, "the old item is still there; no scan, no delete"
    assert lookup.current_entry() is None
    newer = store.put(entry_for(key, generation=2))
    assert store.lookup(dataset, key).current_entry() == newer


def test_generation_reports_who_bumped_it_and_when(store: DynamoCacheStore, dataset: str) -> None:
    untouched = store.generation(dataset)
    assert (untouched.generation, untouched.invalidated_at_ms, untouched.invalidated_by) == (
        0,
        None,
        None,
    )
    store.bump_generation(dataset, NOW_MS, "alice")
    store.bump_generation(dataset, NOW_MS + 60_000, "bob")
    info = store.generation(dataset)
    assert (info.dataset, info.generation) == (dataset, 2)
    assert (info.invalidated_at_ms, info.invalidated_by) == (NOW_MS + 60_000, "bob")


# ---------------------------------------------------------------------------------- expiry


def test_an_expired_item_is_still_returned_and_the_reader_rejects_it(
    store: DynamoCacheStore, dataset: str, key: str
) -> None:
    long_ago = 1_000_000_000_000  # 2001: expires_at is decades in the past
    expired = replace(
        entry_for(key),
        created_ms=long_ago,
        fresh_until_ms=long_ago + 1_000,
        stale_until_ms=long_ago + 2_000,
    )
    store.put(expired)
    found = store.lookup(dataset, key).current_entry()
    assert found == expired, "moto (like DynamoDB's lazy TTL) does not delete it"
    assert not found.is_fresh(NOW_MS)
    assert not found.is_servable_stale(NOW_MS)


def test_expires_at_is_epoch_seconds_just_after_the_grace_period(
    moto: Moto, store: DynamoCacheStore, key: str
) -> None:
    entry = store.put(entry_for(key))
    expires_at = int(raw_item(moto, key)["expires_at"]["N"])
    assert expires_at * 1000 >= entry.stale_until_ms
    assert expires_at - entry.stale_until_ms // 1000 <= 300, "seconds, with a small margin"


def test_a_lease_only_item_also_gets_an_expiry_in_seconds(
    moto: Moto, store: DynamoCacheStore, key: str
) -> None:
    assert store.try_lease(key, "me", NOW_MS, LEASE_MS, 0)
    expires_at = int(raw_item(moto, key)["expires_at"]["N"])
    assert (NOW_MS + LEASE_MS) // 1000 <= expires_at <= (NOW_MS + LEASE_MS) // 1000 + 300


# --------------------------------------------------------------------------------- overflow


def test_a_body_over_the_item_limit_goes_to_s3_and_reads_back_exactly(
    moto: Moto, store: DynamoCacheStore, dataset: str, key: str
) -> None:
    body = gzip.compress(os.urandom(5_000), mtime=0)  # random bytes do not compress
    assert len(body) > 1_000
    stored = store.put(replace(entry_for(key), gzip_body=body))
    assert stored.s3_key is not None and stored.s3_key.startswith(f"results/{key}/")
    item = raw_item(moto, key)
    assert item["s3_key"]["S"] == stored.s3_key
    assert "body" not in item
    found = store.lookup(dataset, key).entry
    assert found is not None and found.gzip_body is None and found.s3_key == stored.s3_key
    assert store.load_body(found) == body
    s3_object = moto.s3.get_object(Bucket=BUCKET, Key=stored.s3_key)
    assert s3_object["ContentType"] == "application/json"


def test_a_small_body_stays_in_the_item(moto: Moto, store: DynamoCacheStore, key: str) -> None:
    stored = store.put(entry_for(key))
    assert stored.s3_key is None
    assert "s3_key" not in raw_item(moto, key)
    assert raw_item(moto, key)["body"]["B"] == stored.gzip_body


# ------------------------------------------------------------------------------ fail open


@pytest.fixture(scope="module")
def dead_store() -> DynamoCacheStore:
    use_local_credentials()
    config = Config(
        connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1, "mode": "standard"}
    )
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    return DynamoCacheStore(
        boto3.client("dynamodb", endpoint_url=dead, region_name=REGION, config=config),
        TABLE,
        boto3.client("s3", endpoint_url=dead, region_name=REGION, config=config),
        BUCKET,
        overflow_bytes=1_000,
    )


@pytest.mark.parametrize(
    "operation",
    [
        "lookup",
        "try_lease",
        "put",
        "put_overflow",
        "release",
        "bump_generation",
        "generation",
        "load_body",
    ],
)
def test_an_unreachable_store_raises_cache_unavailable_and_nothing_else(
    dead_store: DynamoCacheStore, operation: str
) -> None:
    key = uuid.uuid4().hex
    calls: dict[str, Callable[[], object]] = {
        "lookup": lambda: dead_store.lookup("drivers", key),
        "try_lease": lambda: dead_store.try_lease(key, "me", NOW_MS, LEASE_MS, 0),
        "put": lambda: dead_store.put(entry_for(key)),
        "put_overflow": lambda: dead_store.put(
            replace(entry_for(key), gzip_body=gzip.compress(os.urandom(5_000)))
        ),
        "release": lambda: dead_store.release(key, "me", NOW_MS),
        "bump_generation": lambda: dead_store.bump_generation("drivers", NOW_MS, "ops"),
        "generation": lambda: dead_store.generation("drivers"),
        "load_body": lambda: dead_store.load_body(
            replace(entry_for(key), gzip_body=None, s3_key=f"results/{key}/0-1.json.gz")
        ),
    }
    with pytest.raises(CacheUnavailable) as caught:
        calls[operation]()
    assert caught.value.error_code  # names the botocore failure, for the log line


def test_a_missing_table_is_cache_unavailable_too(moto: Moto, key: str) -> None:
    wrong = DynamoCacheStore(moto.dynamodb, "no-such-table")
    with pytest.raises(CacheUnavailable) as caught:
        wrong.lookup("drivers", key)
    assert caught.value.error_code == "ResourceNotFoundException"


def test_a_hit_served_through_the_result_cache_costs_one_dynamodb_call(
    moto: Moto, store: DynamoCacheStore, dataset: str, key: str
) -> None:
    store.put(entry_for(key))
    moto.calls.clear()
    cache = ResultCache(store, CountingRecorder(), now_ms=lambda: NOW_MS + 1_000)

    def no_statement(_budget: Budget) -> Renderable:
        raise AssertionError("a hit never reaches the warehouse")

    freshness = Freshness(ttl_seconds=300, stale_seconds=3600)
    served = cache.serve(CacheRequest(dataset, key, freshness, no_statement, FiveSeconds()))
    assert served.outcome == "hit"
    assert moto.calls == ["BatchGetItem"]


# ------------------------------------------------------------------- answers by reference


def test_an_entry_put_as_an_object_goes_to_s3_however_small(
    moto: Moto, store: DynamoCacheStore, dataset: str, key: str
) -> None:
    stored = store.put(replace(entry_for(key), body_bytes=16), as_object=True)
    assert stored.s3_key is not None
    item = raw_item(moto, key)
    assert "body" not in item
    assert item["body_bytes"] == {"N": "16"}
    entry = store.lookup(dataset, key).entry
    assert entry is not None and entry.body_bytes == 16 and entry.s3_key == stored.s3_key


def test_a_presigned_url_downloads_the_body_as_served_with_its_type(
    moto: Moto, store: DynamoCacheStore, key: str
) -> None:
    import requests

    # Signature version 4, as the container's client signs (regions opened since 2014
    # accept nothing else).
    s3 = boto3.client(
        "s3", endpoint_url=moto.url, region_name=REGION, config=Config(signature_version="s3v4")
    )
    store = DynamoCacheStore(moto.dynamodb, TABLE, s3, BUCKET, link_seconds=120)
    body = b"date,state\n2016-01-01,Ohio\n"
    entry = replace(entry_for(key, body), content_type="text/csv; charset=utf-8")
    stored = store.put(entry, as_object=True)
    assert stored.s3_key is not None and stored.s3_key.endswith(".csv"), "named by its format"
    url = store.presigned_url(stored, "crashes")
    assert "X-Amz-Expires=120" in url
    # A plain client, as a browser following the 303: no AWS credentials of its own.
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="crashes.csv"'
    assert answer.content == body  # requests undoes the gzip, as a browser does


def test_an_entry_without_an_object_has_no_link(store: DynamoCacheStore, key: str) -> None:
    with pytest.raises(CacheUnavailable):
        store.presigned_url(store.put(entry_for(key)), "drivers")
