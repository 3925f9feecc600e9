"""Answers too large to send in line: stored as objects, served as links to them.

A request names the largest body it may be sent in line (`inline_body_max`). A result
over it is stored as an object whatever its size, and served with `location` (a
presigned URL) and no body; a later hit links to the same object without reading it
or running a statement. When the object cannot be stored, the request fails with
CacheUnavailable (503, Retry-After) after one statement, never with a partial body.
"""

from __future__ import annotations

import gzip

import pytest

from cache import CacheRequest, CacheUnavailable, Served, UncachedResults
from tests.cache.test_results import DATASET, FRESHNESS, KEY, Page, Rig, Warehouse

BODY = b'{"statement": 1}'  # what the rig's warehouse answers first: 16 bytes


@pytest.fixture
def rig() -> Rig:
    return Rig()


def serve(rig: Rig, inline_body_max: int | None) -> Served:
    return rig.cache.serve(limited(rig.warehouse, rig, inline_body_max))


def limited(warehouse: Warehouse, rig: Rig, inline_body_max: int | None) -> CacheRequest:
    return CacheRequest(
        DATASET,
        KEY,
        FRESHNESS,
        warehouse,  # type: ignore[arg-type]
        rig.deadline(),
        rig.admit,
        inline_body_max=inline_body_max,
    )


def test_a_result_over_the_inline_limit_is_stored_as_an_object_and_linked_to(rig: Rig) -> None:
    served = serve(rig, inline_body_max=len(BODY) - 1)
    assert served.outcome == "miss"
    assert served.stored
    assert served.gzip_body == b""
    entry = rig.store.slots[KEY].entry
    assert entry is not None and entry.s3_key is not None
    assert served.location == f"memory://objects/{entry.s3_key}?as=drivers"
    assert gzip.decompress(rig.store.objects[entry.s3_key]) == BODY
    assert entry.body_bytes == len(BODY)


def test_a_result_at_the_limit_is_answered_in_line(rig: Rig) -> None:
    served = serve(rig, inline_body_max=len(BODY))
    assert served.location is None
    assert gzip.decompress(served.gzip_body) == BODY
    assert rig.store.objects == {}


def test_a_hit_links_to_the_object_without_reading_it_or_running_a_statement(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = serve(rig, inline_body_max=1)

    def unread(entry: object) -> bytes:
        raise AssertionError("a linked answer's body is never loaded")

    monkeypatch.setattr(rig.store, "load_body", unread)
    again = serve(rig, inline_body_max=1)
    assert again.outcome == "hit"
    assert again.location == first.location
    assert rig.warehouse.calls == 1


def test_a_stale_linked_entry_is_linked_to_while_it_refreshes(rig: Rig) -> None:
    serve(rig, inline_body_max=1)
    rig.advance(FRESHNESS.ttl_seconds + 1)
    served = serve(rig, inline_body_max=1)
    assert served.outcome == "refreshed"
    assert served.location is not None
    assert rig.warehouse.calls == 2


def test_when_the_object_cannot_be_stored_the_request_fails_after_one_statement(
    rig: Rig,
) -> None:
    rig.store.objects_broken = True
    with pytest.raises(CacheUnavailable) as raised:
        serve(rig, inline_body_max=1)
    assert raised.value.retry_after > 0
    assert rig.warehouse.calls == 1  # not run again through the bypass
    assert rig.store.slots[KEY].entry is None
    assert rig.store.slots[KEY].lease_owner is None  # the key is free for the next try


def test_a_broken_store_cannot_answer_a_large_result_at_all(rig: Rig) -> None:
    rig.store.broken = True
    with pytest.raises(CacheUnavailable):
        serve(rig, inline_body_max=1)
    rig.store.broken = False
    assert serve(rig, inline_body_max=None).outcome == "miss"  # small answers still flow


def test_without_a_cache_a_large_result_has_nowhere_to_go(rig: Rig) -> None:
    uncached = UncachedResults(rig.recorder, now_ms=rig.now_ms)
    with pytest.raises(CacheUnavailable):
        uncached.serve(limited(rig.warehouse, rig, inline_body_max=1))
    assert uncached.serve(limited(rig.warehouse, rig, None)).gzip_body


def test_the_page_shape_does_not_matter_only_its_size(rig: Rig) -> None:
    big = Page(body=b"x" * 10_000, content_type="text/csv")
    rig.warehouse = Warehouse()
    served = rig.cache.serve(
        CacheRequest(
            DATASET, KEY, FRESHNESS, lambda budget: big, rig.deadline(), inline_body_max=9_999
        )
    )
    assert served.location is not None
    assert served.entry.content_type == "text/csv"
