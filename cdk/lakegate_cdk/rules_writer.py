"""The edge rules' writer: a custom resource putting one version of the rules into the key store.

CloudFormation runs it before the gateway function that reads that version (the
function depends on it), so a function never goes live before its rules exist. It runs
in a Lambda function of its own (cdk/rules_writer/Dockerfile: Python 3.12 with boto3 and
awscrt, since the KeyValueStore API signs with SigV4A), behind CDK's custom resource
provider framework, and imports nothing from lakegate: the image holds this file alone.
The CDK app uses `encode_entries` from here, so both sides share one codec.

    Create, Update  put every entry of the new tag the store lacks or holds otherwise,
                    then delete the rule keys of every tag but the new one and, on
                    Update, the previous one: a function of the previous version may
                    still run at some edge location for a while
    Delete          nothing: the store goes with the stack, and the functions with it

Writes go in UpdateKeys calls of at most 50 keys, each with the store's current ETag; a
call refused because the ETag moved on (an operator's `lakegate keys` at that moment) is
retried with a fresh one. Pieces go first and route keys last. Only keys under `rules/`
are ever written or deleted: API keys (64 hex digits) are not this writer's.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

PREFIX = "rules/"  # local/edge_store.py's; tests/cdk/test_rules_writer.py keeps them equal
BATCH = 50  # UpdateKeys: at most 50 keys per call
ATTEMPTS = 5


class RulesWriteError(Exception):
    """The entries are not one version's rules, or the store kept refusing the write."""


def encode_entries(entries: Mapping[str, str]) -> str:
    """The entries as one custom resource property: JSON, gzipped, base64 (a fifth the size)."""
    text = json.dumps(dict(sorted(entries.items())), separators=(",", ":"))
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


def decode_entries(encoded: str) -> dict[str, str]:
    entries = json.loads(gzip.decompress(base64.b64decode(encoded)))
    if not isinstance(entries, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in entries.items()
    ):
        raise RulesWriteError("the Entries property is not a map of strings")
    return entries


def key_tag(key: str) -> str | None:
    """The tag of a rule key (`rules/<tag>/…`); None for any other key."""
    if not key.startswith(PREFIX):
        return None
    return key[len(PREFIX) :].split("/", 1)[0]


def plan(
    desired: Mapping[str, str], existing: Mapping[str, str], keep: set[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """(puts, deletes) taking the store's rule keys from `existing` to `desired`, keeping
    the rule keys of the tags in `keep`. Puts in write order: pieces, families, routes."""
    puts = sorted(
        ((k, v) for k, v in desired.items() if existing.get(k) != v),
        key=lambda kv: (_rank(kv[0]), kv[0]),
    )
    deletes = sorted(
        k
        for k in existing
        if key_tag(k) is not None and key_tag(k) not in keep and k not in desired
    )
    return puts, deletes


def _rank(key: str) -> int:
    """0: a piece (`…#3`), 1: a family or the names (`…?year`, `…#names`), 2: a route."""
    last = key.rsplit("#", 1)
    if len(last) == 2 and last[1].isdigit():
        return 0
    return 1 if "?" in key or key.endswith("#names") else 2


def stored_rules(client: Any, arn: str) -> dict[str, str]:
    """Every rule key of the store and its value (API keys are skipped)."""
    found: dict[str, str] = {}
    for page in client.get_paginator("list_keys").paginate(KvsARN=arn):
        for item in page.get("Items", []):
            if key_tag(item["Key"]) is not None:
                found[item["Key"]] = item["Value"]
    return found


def apply(client: Any, arn: str, puts: Sequence[tuple[str, str]], deletes: Sequence[str]) -> int:
    """Write the plan in batches, each with the current ETag; the number of calls made."""
    calls = 0
    etag = client.describe_key_value_store(KvsARN=arn)["ETag"]
    for batch in _batches(puts, deletes):
        for attempt in range(ATTEMPTS):
            try:
                etag = client.update_keys(KvsARN=arn, IfMatch=etag, **batch)["ETag"]
                calls += 1
                break
            except client.exceptions.ConflictException:
                # Someone else wrote in between: the batch is still right, the ETag is not.
                if attempt == ATTEMPTS - 1:
                    raise RulesWriteError("the key store's ETag kept changing") from None
                etag = client.describe_key_value_store(KvsARN=arn)["ETag"]
    return calls


def _batches(puts: Sequence[tuple[str, str]], deletes: Sequence[str]) -> Iterator[dict[str, Any]]:
    for start in range(0, len(puts), BATCH):
        yield {"Puts": [{"Key": k, "Value": v} for k, v in puts[start : start + BATCH]]}
    for start in range(0, len(deletes), BATCH):
        yield {"Deletes": [{"Key": k} for k in deletes[start : start + BATCH]]}


def write(client: Any, arn: str, tag: str, entries: Mapping[str, str], keep: set[str]) -> int:
    """Make the store hold `entries` (all of `tag`) and only the rules of `keep`."""
    strays = [k for k in entries if key_tag(k) != tag]
    if strays:
        raise RulesWriteError(f"{len(strays)} entries are not under {PREFIX}{tag}/")
    puts, deletes = plan(entries, stored_rules(client, arn), keep | {tag})
    return apply(client, arn, puts, deletes)


def on_event(event: dict[str, Any], context: object, client: Any = None) -> dict[str, Any]:
    """The provider framework's onEvent handler."""
    properties = event["ResourceProperties"]
    arn, tag = properties["KvsArn"], properties["Tag"]
    if event["RequestType"] != "Delete":
        if client is None:
            import boto3  # in the image; here so the module imports without it

            # The KeyValueStore API is global, signed with SigV4A (awscrt).
            client = boto3.client("cloudfront-keyvaluestore", region_name="us-east-1")
        previous = event.get("OldResourceProperties", {}).get("Tag")
        keep = {previous} if event["RequestType"] == "Update" and previous else set()
        calls = write(client, arn, tag, decode_entries(properties["Entries"]), keep)
        print(json.dumps({"rules": tag, "kept": sorted(keep), "update_keys_calls": calls}))
    # One resource per store: an Update stays the same resource.
    return {"PhysicalResourceId": f"{arn}|rules", "Data": {"Tag": tag}}
