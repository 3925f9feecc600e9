"""The edge rules as key store entries: within CloudFront's bounds, under a tag, apart from keys."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge import store as edge_store
from edge.rules import edge_rules
from edge.store import (
    LATEST,
    MAX_KEY_BYTES,
    MAX_PAIR_BYTES,
    PREFIX,
    EdgeRulesError,
    RuleEntries,
    base_of,
    family_key,
    is_rule_key,
    key_tag,
    publish_local,
    route_key,
    rule_entries,
)
from handler.catalogue import load_catalogue
from handler.consumers import is_key_digest
from tools.bench.wide_catalogue import WIDE_ROUTE, wide_catalogue

# Enough origins to push every route's values past 1 KB, so pieces are laid out.
MANY_ORIGINS = tuple(f"https://dashboard-{i:02d}.example.com" for i in range(30))


def _whole(entries: RuleEntries, key: str) -> dict[str, Any]:
    """A value as gateway.js reads it: whole, or put together from its pieces."""
    value: dict[str, Any] = json.loads(entries.entries[key])
    if "k" in value:
        text = "".join(entries.entries[f"{key}#{i}"] for i in range(1, value["k"] + 1))
        value = json.loads(text)
    return value


@pytest.mark.parametrize("origins", [(), MANY_ORIGINS])
def test_every_pair_fits_cloudfronts_bounds_and_pieces_make_the_whole(
    origins: tuple[str, ...],
) -> None:
    catalogue = wide_catalogue()
    entries = rule_entries(edge_rules(catalogue, cors_origins=origins), catalogue.version)
    pieces = [k for k in entries.entries if re.search(r"#[0-9]+$", k)]
    assert bool(pieces) == bool(origins)
    for key, value in entries.entries.items():
        assert key.isascii() and value.isascii()
        assert len(key) <= MAX_KEY_BYTES == 512
        assert len(key) + len(value) <= MAX_PAIR_BYTES == 1024
        if key not in pieces:
            assert _whole(entries, key)["t"] == entries.tag


def test_a_family_holds_its_parameters_with_the_routes_fields_and_all_names_are_listed() -> None:
    catalogue = wide_catalogue()
    rules = edge_rules(catalogue, cors_origins=("https://a.example",))
    entries = rule_entries(rules, catalogue.version)
    for route, declared in rules["routes"].items():
        names = list(declared["params"])
        head = _whole(entries, route_key(entries.tag, route))
        assert head == {
            "t": entries.tag,
            "d": declared["dataset"],
            "a": declared["access"],
            "c": ["https://a.example"],
        }
        assert _whole(entries, route_key(entries.tag, route) + "#names")["n"] == sorted(names)
        seen = []
        for base in dict.fromkeys(base_of(n) for n in names):
            family = _whole(entries, family_key(entries.tag, route, base))
            assert {k: family[k] for k in head} == head
            for name, (order, schema) in family["p"].items():
                assert base_of(name) == base
                assert order == names.index(name)
                # The schema, its list items renumbered within the family.
                rule = dict(rules["schemas"][declared["params"][name]])
                if "items" in rule:
                    rule["items"] = family["s"][family["s"][schema]["items"]]
                    assert {**family["s"][schema], "items": rule["items"]} == rule
                else:
                    assert family["s"][schema] == rule
                seen.append(name)
        assert sorted(seen) == sorted(names)


def test_the_tag_names_the_catalogue_version_and_digests_the_rules() -> None:
    catalogue = load_catalogue()
    rules = edge_rules(catalogue)
    tag = rule_entries(rules, catalogue.version).tag
    assert re.fullmatch(rf"{catalogue.version}\.[0-9a-f]{{12}}", tag)
    assert rule_entries(edge_rules(catalogue), catalogue.version).tag == tag
    assert rule_entries(rules, catalogue.version + 1).tag != tag
    keyed = edge_rules(catalogue, require_keys=True)
    assert rule_entries(keyed, catalogue.version).tag != tag
    assert all(key_tag(k) == tag for k in rule_entries(rules, catalogue.version).entries)


@given(st.binary(min_size=32, max_size=32))
def test_no_key_digest_can_be_a_rule_key(digest: bytes) -> None:
    assert not set(PREFIX) <= set("0123456789abcdef")
    assert not is_rule_key(digest.hex())
    assert is_key_digest(digest.hex())


def test_no_rule_key_is_a_key_digest() -> None:
    catalogue = wide_catalogue()
    entries = rule_entries(edge_rules(catalogue), catalogue.version)
    assert not [k for k in [*entries.entries, LATEST] if is_key_digest(k)]


def test_rules_over_their_share_of_the_store_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue = wide_catalogue()
    monkeypatch.setattr(edge_store, "MAX_RULES_BYTES", 10_000)
    with pytest.raises(EdgeRulesError, match="over the 10000 one version may use"):
        rule_entries(edge_rules(catalogue), catalogue.version)


def test_a_family_name_too_long_for_a_key_is_refused() -> None:
    rules = {
        "routes": {WIDE_ROUTE: {"dataset": "wide", "access": "public", "params": {"x" * 600: 0}}},
        "schemas": [{"type": "string"}],
        "cors": [],
    }
    with pytest.raises(EdgeRulesError, match="over 512 bytes"):
        rule_entries(rules, 1)


def test_the_local_store_keeps_its_keys_and_the_previous_tag(tmp_path: Path) -> None:
    store = tmp_path / "keys.json"
    store.write_text(json.dumps({"ab" * 32: {"consumer": "c"}}))
    catalogue = load_catalogue()
    versions = [
        rule_entries(edge_rules(catalogue, cors_origins=(f"https://{i}.example",)), 1)
        for i in range(3)
    ]
    for rules in versions:
        publish_local(store, rules)
    held = json.loads(store.read_text())
    assert held["ab" * 32] == {"consumer": "c"}
    assert held[LATEST] == versions[2].tag
    tags = {key_tag(k) for k in held} - {None}
    assert tags == {versions[1].tag, versions[2].tag}
    assert {k: v for k, v in held.items() if key_tag(k) == versions[2].tag} == versions[2].entries
