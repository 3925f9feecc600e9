"""The edge rules writer (the custom resource's Lambda code), against botocore's own stub.

botocore's Stubber checks every call against the KeyValueStore API's model (operation,
parameter names and shapes) and answers as the service would; what it cannot show is
the service itself (SigV4A, the ETag's real behaviour, propagation), which cdk/README.md
lists among what only a deploy can prove.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from lakegate_cdk import rules_writer
from lakegate_cdk.rules_writer import (
    BATCH,
    RulesWriteError,
    decode_entries,
    encode_entries,
    on_event,
    plan,
)

from edge import store as edge_store
from edge.rules import edge_rules
from edge.store import RuleEntries, rule_entries
from handler.catalogue import load_catalogue
from tools.bench.wide_catalogue import wide_catalogue

ARN = "arn:aws:cloudfront::111111111111:key-value-store/0f8a1c2e-1234-4abc-9def-0123456789ab"
API_KEY = "ab" * 32  # a consumer's key digest: never the writer's to touch


def _rules(catalogue_require_keys: bool = False, wide: bool = False) -> RuleEntries:
    catalogue = wide_catalogue() if wide else load_catalogue()
    return rule_entries(
        edge_rules(catalogue, require_keys=catalogue_require_keys), catalogue.version
    )


def _client() -> Any:
    return boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def _described(etag: str) -> dict[str, object]:
    return {
        "ItemCount": 1,
        "TotalSizeInBytes": 100,
        "KvsARN": ARN,
        "Created": "2026-12-01T00:00:00Z",
        "ETag": etag,
    }


def _updated(etag: str) -> dict[str, object]:
    return {"ItemCount": 1, "TotalSizeInBytes": 100, "ETag": etag}


def _event(kind: str, rules: RuleEntries, old: RuleEntries | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": kind,
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:eu-west-1:111111111111:function:x",
            "KvsArn": ARN,
            "Tag": rules.tag,
            "Keys": str(len(rules.entries)),
            "Bytes": str(rules.size),
            "Entries": encode_entries(rules.entries),
        },
    }
    if old is not None:
        event["OldResourceProperties"] = {**event["ResourceProperties"], "Tag": old.tag}
    return event


def _listed(entries: dict[str, str]) -> dict[str, object]:
    return {"Items": [{"Key": k, "Value": v} for k, v in entries.items()]}


def _expect_writes(
    stub: Stubber, puts: list[tuple[str, str]], deletes: list[str], etag: int = 1
) -> int:
    stub.add_response("describe_key_value_store", _described(f"E{etag}"), {"KvsARN": ARN})
    batches = [
        {"Puts": [{"Key": k, "Value": v} for k, v in puts[i : i + BATCH]]}
        for i in range(0, len(puts), BATCH)
    ] + [
        {"Deletes": [{"Key": k} for k in deletes[i : i + BATCH]]}
        for i in range(0, len(deletes), BATCH)
    ]
    for batch in batches:
        stub.add_response(
            "update_keys", _updated(f"E{etag + 1}"), {"KvsARN": ARN, "IfMatch": f"E{etag}", **batch}
        )
        etag += 1
    return len(batches)


def test_a_create_puts_every_entry_in_batches_of_50_with_the_etag_chained_routes_last() -> None:
    rules = _rules(wide=True)
    assert len(rules.entries) > BATCH  # two calls at least
    client = _client()
    puts, _ = plan(rules.entries, {}, {rules.tag})
    heads = {edge_store.route_key(rules.tag, r) for r in ("/v1/drivers", "/v1/crashes", "/v1/wide")}
    assert {k for k, _ in puts[-len(heads) :]} == heads  # a route's key goes after its families
    assert dict(puts) == dict(rules.entries)
    with Stubber(client) as stub:
        stub.add_response("list_keys", _listed({API_KEY: '{"consumer":"c"}'}), {"KvsARN": ARN})
        calls = _expect_writes(stub, puts, [])
        assert on_event(_event("Create", rules), None, client) == {
            "PhysicalResourceId": f"{ARN}|rules",
            "Data": {"Tag": rules.tag},
        }
        stub.assert_no_pending_responses()
    assert calls == 2


def test_an_update_keeps_the_previous_tag_and_deletes_older_ones_never_an_api_key() -> None:
    oldest, previous, new = _rules(), _rules(catalogue_require_keys=True), _rules(wide=True)
    assert len({oldest.tag, previous.tag, new.tag}) == 3
    store = {API_KEY: '{"consumer":"c"}', **oldest.entries, **previous.entries}
    client = _client()
    puts, deletes = plan(new.entries, store, {previous.tag, new.tag})
    assert sorted(deletes) == sorted(oldest.entries)
    with Stubber(client) as stub:
        stub.add_response("list_keys", _listed(store), {"KvsARN": ARN})
        _expect_writes(stub, puts, deletes)
        on_event(_event("Update", new, old=previous), None, client)
        stub.assert_no_pending_responses()


def test_a_rerun_writes_nothing_already_there() -> None:
    rules = _rules()
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("list_keys", _listed(dict(rules.entries)), {"KvsARN": ARN})
        stub.add_response("describe_key_value_store", _described("E1"), {"KvsARN": ARN})
        on_event(_event("Update", rules, old=rules), None, client)
        stub.assert_no_pending_responses()


def test_a_stale_etag_is_refreshed_and_the_batch_retried() -> None:
    rules = _rules()
    puts = [{"Key": k, "Value": v} for k, v in plan(rules.entries, {}, {rules.tag})[0]]
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("list_keys", _listed({}), {"KvsARN": ARN})
        stub.add_response("describe_key_value_store", _described("E1"), {"KvsARN": ARN})
        # An operator's `lakegate keys` wrote in between.
        stub.add_client_error("update_keys", "ConflictException", http_status_code=409)
        stub.add_response("describe_key_value_store", _described("E7"), {"KvsARN": ARN})
        stub.add_response(
            "update_keys", _updated("E8"), {"KvsARN": ARN, "IfMatch": "E7", "Puts": puts}
        )
        on_event(_event("Create", rules), None, client)
        stub.assert_no_pending_responses()


def test_a_delete_touches_nothing() -> None:
    rules = _rules()
    client = _client()
    with Stubber(client) as stub:
        assert (
            on_event(_event("Delete", rules), None, client)["PhysicalResourceId"] == f"{ARN}|rules"
        )
        stub.assert_no_pending_responses()


def test_entries_outside_the_tag_are_refused_before_any_write() -> None:
    rules = _rules()
    stray = RuleEntries(rules.tag, {**rules.entries, API_KEY: '{"consumer":"mallory"}'})
    client = _client()
    with Stubber(client) as stub, pytest.raises(RulesWriteError, match="not under rules/"):
        on_event(_event("Create", stray), None, client)
        stub.assert_no_pending_responses()


def test_the_writer_and_the_layout_agree_on_keys_and_the_codec_round_trips() -> None:
    assert rules_writer.PREFIX == edge_store.PREFIX
    rules = _rules(wide=True)
    for key in rules.entries:
        assert rules_writer.key_tag(key) == edge_store.key_tag(key) == rules.tag
    assert rules_writer.key_tag(API_KEY) is None
    encoded = encode_entries(rules.entries)
    assert decode_entries(encoded) == dict(rules.entries)
    assert len(encoded) < len(json.dumps(dict(rules.entries))) / 4
    for wrong in (b'["rules/x"]', b'{"rules/x": 1}'):
        with pytest.raises(RulesWriteError, match="not a map of strings"):
            decode_entries(base64.b64encode(gzip.compress(wrong)).decode())
