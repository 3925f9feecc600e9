"""The edge's key store in CloudFront's KeyValueStore: keys listed without the rules beside
them, every write carrying the store's ETag (botocore's Stubber plays the service)."""

from __future__ import annotations

import hashlib

import boto3
from botocore.stub import Stubber

from edge.keys import KvsKeyStore, create, revoke
from handler.consumers import KeyRecord

ARN = "arn:aws:cloudfront::111111111111:key-value-store/1a2b3c4d-5e6f"


def test_the_keyvaluestore_lists_keys_not_the_edge_rules() -> None:
    client = boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    record = KeyRecord(consumer="acme", datasets=("drivers",), created_at="2026-12-01")
    items = [
        {"Key": "rules/1.0123456789ab/v1/drivers", "Value": '{"t":"1.0123456789ab"}'},
        {"Key": "ab" * 32, "Value": record.model_dump_json()},
    ]
    with Stubber(client) as stub:
        stub.add_response("list_keys", {"Items": items}, {"KvsARN": ARN})
        assert KvsKeyStore(ARN, client).records() == {"ab" * 32: record}
        stub.assert_no_pending_responses()


def test_the_keyvaluestore_is_written_with_its_etag_and_read_back() -> None:
    client = boto3.client(
        "cloudfront-keyvaluestore",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    store = KvsKeyStore(ARN, client)
    with Stubber(client) as stub:
        stub.add_response("describe_key_value_store", _described("E1"), {"KvsARN": ARN})
        stub.add_response(
            "put_key",
            {"ETag": "E2", "ItemCount": 1, "TotalSizeInBytes": 100},
            {"KvsARN": ARN, "Key": _ANY, "Value": _ANY, "IfMatch": "E1"},
        )
        key, record = create(store, "acme", ("drivers",), "standard")
        stub.assert_no_pending_responses()
    digest = hashlib.sha256(key.encode()).hexdigest()
    with Stubber(client) as stub:
        stub.add_response(
            "list_keys",
            {"Items": [{"Key": digest, "Value": record.model_dump_json()}]},
            {"KvsARN": ARN},
        )
        stub.add_response("describe_key_value_store", _described("E2"), {"KvsARN": ARN})
        stub.add_response(
            "delete_key",
            {"ETag": "E3", "ItemCount": 0, "TotalSizeInBytes": 0},
            {"KvsARN": ARN, "Key": digest, "IfMatch": "E2"},
        )
        assert revoke(store, "acme") == [digest]
        stub.assert_no_pending_responses()
    assert KeyRecord.model_validate_json(record.model_dump_json()) == record


class _Anything:
    def __eq__(self, other: object) -> bool:
        return True


_ANY = _Anything()


def _described(etag: str) -> dict[str, object]:
    return {
        "ItemCount": 1,
        "TotalSizeInBytes": 100,
        "KvsARN": ARN,
        "Created": "2026-12-01T00:00:00Z",
        "ETag": etag,
    }
