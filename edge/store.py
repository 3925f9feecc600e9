"""The edge rules as KeyValueStore entries: where, and in what shape, the gateway reads them.

A CloudFront Function reads one KeyValueStore, by exact key (`cf.kvs().get(key)`), and
CloudFront bounds a key to 512 bytes and a key-value pair to 1 KB (a value of 1,024
characters: "File format for key-value pairs"; summaries count the key in, so this layout
keeps key and value together within 1,024 bytes, which satisfies both readings). So one
catalogue's rules are spread over keys under `rules/<tag>`, one per route and one per
parameter family, so that a request reads only the rules of the parameters it uses:

    rules/<tag><route>            the route: dataset, access, CORS origins
    rules/<tag><route>?<base>     the rules of `base`, `base[gte]`, `base[in]`…, and the
                                  route's fields again (the first one read decides 401/403)
    rules/<tag><route>#names      every parameter name, sorted: the unknown-parameter 400,
                                  and proof that a missing family is missing, not unknown
    <key>#1, <key>#2, …           a value too big for one pair, cut in pieces; <key> then
                                  holds {"t": tag, "k": number of pieces}

API keys live in the same store under their SHA-256 (64 lower-case hex digits,
handler.consumers): `rules/` has letters no digest has, so neither can shadow the other.

The tag, `<catalogue version>.<12 hex digits of the rules' SHA-256>`, names one version of
the rules. The function is deployed with its tag inlined (edge.function) and reads
only keys under it, and every value repeats it: a function meets its own rules or none,
and answers 503 rather than judge a request by another catalogue's. A deploy writes the
new tag's keys before the function that reads them and keeps the previous tag's for the
function still running at the edge (cdk/lakegate_cdk/rules_writer.py); the local edge's
key store file keeps them the same way (`publish_local`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from edge.keys import update_store_file

PREFIX = "rules/"
MAX_KEY_BYTES = 512
MAX_PAIR_BYTES = 1024
# The store holds 5 MB (keys and values). A deploy keeps two tags for a while, and the
# API keys need the rest: one tag's rules may take 2 MB at most.
MAX_RULES_BYTES = 2_000_000
# The local key store file's note of the tag written last (the deployed store needs none:
# CloudFormation hands the writer the previous tag).
LATEST = PREFIX + "latest"
# encodeURIComponent's unreserved characters: a base is spelled in a key as gateway.js does.
_UNRESERVED = "-_.!~*'()"


class EdgeRulesError(Exception):
    """The rules cannot be laid out within the store's bounds."""


@dataclass(frozen=True)
class RuleEntries:
    """One version of the rules, as the store holds them: key → value text."""

    tag: str
    entries: Mapping[str, str]

    @property
    def size(self) -> int:
        """Bytes in the store (keys and values), as its 5 MB quota counts them."""
        return sum(len(k.encode()) + len(v.encode()) for k, v in self.entries.items())


def rule_entries(rules: dict[str, Any], version: int) -> RuleEntries:
    """`rules` (edge.rules) laid out under their tag, every pair within the bounds."""
    tag = rules_tag(rules, version)
    entries: dict[str, str] = {}
    for route, declared in rules["routes"].items():
        fields = {"t": tag, "d": declared["dataset"], "a": declared["access"], "c": rules["cors"]}
        head = route_key(tag, route)
        entries.update(_pairs(tag, head, fields))
        names = list(declared["params"])
        entries.update(_pairs(tag, head + "#names", {"t": tag, "n": sorted(names)}))
        families: dict[str, dict[str, int]] = {}
        for name in names:
            families.setdefault(base_of(name), {})[name] = declared["params"][name]
        for base, members in families.items():
            value = {**fields, **_family(members, names, rules["schemas"])}
            entries.update(_pairs(tag, family_key(tag, route, base), value))
    laid_out = RuleEntries(tag, entries)
    if laid_out.size > MAX_RULES_BYTES:
        raise EdgeRulesError(
            f"the edge rules take {laid_out.size} bytes of the KeyValueStore, over the "
            f"{MAX_RULES_BYTES} one version may use (the store holds 5 MB, two versions "
            "during a deploy, and the API keys): declare fewer datasets or filters"
        )
    return laid_out


def rules_tag(rules: dict[str, Any], version: int) -> str:
    """`<catalogue version>.<digest>`: equal rules, equal tag; any change, another tag."""
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"{version}.{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"


def route_key(tag: str, route: str) -> str:
    return f"{PREFIX}{tag}{route}"


def family_key(tag: str, route: str, base: str) -> str:
    return f"{route_key(tag, route)}?{quote(base, safe=_UNRESERVED)}"


def base_of(name: str) -> str:
    """A parameter's family: `year[gte]` → `year` (gateway.js splits names the same way)."""
    return name.split("[", 1)[0]


def is_rule_key(key: str) -> bool:
    return key.startswith(PREFIX)


def key_tag(key: str) -> str | None:
    """The tag a rule key belongs to; None for any other key."""
    if not is_rule_key(key) or key == LATEST:
        return None
    return key[len(PREFIX) :].split("/", 1)[0]


def publish_local(path: Path, rules: RuleEntries) -> None:
    """Write `rules` into the local key store file, beside its API keys.

    The tag written before stays (a second local edge on another catalogue may still read
    it, as a deployed function does during a deploy); older tags go."""

    def change(store: dict[str, Any]) -> dict[str, Any]:
        previous = store.get(LATEST)
        keep = {rules.tag, previous}
        kept = {k: v for k, v in store.items() if not is_rule_key(k) or key_tag(k) in keep}
        return {**kept, **rules.entries, LATEST: rules.tag}

    update_store_file(path, change)


def _family(
    members: dict[str, int], names: list[str], schemas: list[dict[str, Any]]
) -> dict[str, Any]:
    """{"p": {name: [declaration order, schema]}, "s": [schema, …]}: the schemas these
    parameters (and their list items) use, renumbered for this value alone."""
    local: list[dict[str, Any]] = []
    numbers: dict[int, int] = {}

    def number(index: int) -> int:
        if index not in numbers:
            schema = dict(schemas[index])
            if "items" in schema:
                schema["items"] = number(schema["items"])
            numbers[index] = len(local)
            local.append(schema)
        return numbers[index]

    params = {name: [names.index(name), number(index)] for name, index in members.items()}
    return {"p": params, "s": local}


def _pairs(tag: str, key: str, value: dict[str, Any]) -> dict[str, str]:
    """`value` under `key`, or cut into pieces `key#1…` when the pair would pass 1 KB."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    if len(key) > MAX_KEY_BYTES - len(f"#{len(text)}"):
        raise EdgeRulesError(f"the store key {key[:80]!r}… is over {MAX_KEY_BYTES} bytes")
    if len(key) + len(text) <= MAX_PAIR_BYTES:
        return {key: text}
    pieces: dict[str, str] = {}
    start = 0
    while start < len(text):
        piece = f"{key}#{len(pieces) + 1}"
        room = MAX_PAIR_BYTES - len(piece)
        pieces[piece] = text[start : start + room]
        start += room
    return {key: json.dumps({"t": tag, "k": len(pieces)}, separators=(",", ":")), **pieces}
