"""Consumers: who asks, from the edge's word or the local key store, and what they may read."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from handler.catalogue import load_catalogue
from handler.consumers import (
    Consumer,
    EdgeAsserted,
    KeyFile,
    authorise,
    key_digest,
)
from handler.errors import ApiKeyRefused, ConfigurationError, Forbidden

DRIVERS = load_catalogue().get("drivers")
assert DRIVERS is not None
KEYED = DRIVERS.model_copy(update={"name": "secret_drivers", "access": "key"})
KEY = "lk_the-consumers-key-6f1e"


def write_store(path: Path, **records: dict[str, object]) -> None:
    path.write_bytes(orjson.dumps(records))
    # Two writes in one clock tick must still be told apart (size alone may not change).
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def record(consumer: str = "acme", datasets: tuple[str, ...] = ("drivers",)) -> dict[str, object]:
    return {
        "consumer": consumer,
        "datasets": list(datasets),
        "tier": "standard",
        "created_at": "2026-12-01T00:00:00Z",
    }


def test_a_known_key_names_its_consumer_tier_and_datasets(tmp_path: Path) -> None:
    store = tmp_path / "keys.json"
    write_store(store, **{key_digest(KEY): record()})
    consumer = KeyFile(store).identify({"x-api-key": KEY})
    assert consumer == Consumer("acme", "standard", ("drivers",))


def test_no_key_is_nobody_and_an_unknown_key_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "keys.json"
    write_store(store, **{key_digest(KEY): record()})
    consumers = KeyFile(store)
    assert consumers.identify({}) is None
    with pytest.raises(ApiKeyRefused) as refused:
        consumers.identify({"x-api-key": "lk_someone-elses"})
    assert "lk_someone" not in str(refused.value), "the key never enters an error"


def test_a_revoked_key_is_refused_from_the_next_request(tmp_path: Path) -> None:
    store = tmp_path / "keys.json"
    write_store(store, **{key_digest(KEY): record()})
    consumers = KeyFile(store)
    assert consumers.identify({"x-api-key": KEY}) is not None
    write_store(store)
    with pytest.raises(ApiKeyRefused):
        consumers.identify({"x-api-key": KEY})


def test_no_store_yet_means_every_key_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(ApiKeyRefused):
        KeyFile(tmp_path / "absent.json").identify({"x-api-key": KEY})


def test_the_edge_rules_in_the_store_are_not_keys(tmp_path: Path) -> None:
    store = tmp_path / "keys.json"
    # edge/store.py's entries share the file: strings under `rules/…`.
    rules = {"rules/1.0123456789ab/v1/drivers": '{"t":"1.0123456789ab"}', "rules/latest": "x"}
    store.write_bytes(orjson.dumps({key_digest(KEY): record(), **rules}))
    assert KeyFile(store).identify({"x-api-key": KEY}) == Consumer("acme", "standard", ("drivers",))
    with pytest.raises(ApiKeyRefused):
        KeyFile(store).identify({"x-api-key": "rules/latest"})


def test_a_corrupt_store_is_a_configuration_error_not_a_401(tmp_path: Path) -> None:
    store = tmp_path / "keys.json"
    store.write_text("{not json")
    with pytest.raises(ConfigurationError):
        KeyFile(store).identify({"x-api-key": KEY})


def test_behind_the_edge_the_consumer_is_who_the_function_said() -> None:
    edge = EdgeAsserted()
    assert edge.identify({}) is None
    assert edge.identify({"x-lakegate-consumer": "acme", "x-lakegate-tier": "bulk"}) == Consumer(
        "acme", "bulk"
    )
    assert edge.identify({"x-api-key": KEY}) is None, "the origin never reads keys in AWS"


@pytest.mark.parametrize(
    ("dataset", "consumer", "require_keys", "refusal"),
    [
        (DRIVERS, None, False, None),
        (DRIVERS, None, True, ApiKeyRefused),
        (KEYED, None, False, ApiKeyRefused),
        (KEYED, Consumer("acme", "standard", ("drivers",)), False, Forbidden),
        (KEYED, Consumer("acme", "standard", ("secret_drivers",)), False, None),
        (KEYED, Consumer("acme", "standard", ("*",)), False, None),
        (KEYED, Consumer("acme", "standard"), False, None),  # the edge checked it
        (DRIVERS, Consumer("acme", "standard", ("secret_drivers",)), False, None),
        (DRIVERS, Consumer("acme", "standard", ("secret_drivers",)), True, Forbidden),
    ],
)
def test_who_may_read_what(
    dataset: object, consumer: Consumer | None, require_keys: bool, refusal: type | None
) -> None:
    if refusal is None:
        authorise(dataset, consumer, require_keys=require_keys)  # type: ignore[arg-type]
    else:
        with pytest.raises(refusal):
            authorise(dataset, consumer, require_keys=require_keys)  # type: ignore[arg-type]
