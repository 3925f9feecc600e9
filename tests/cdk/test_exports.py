"""The cache bucket as exports use it: answers too large to send in line live there.

The function reads and writes objects under `results/` only (its presigned URLs are
signed with its role, so the role's GetObject there is what lets a client download);
nothing else in the bucket and no other principal; and objects outlive every cache
entry that may point at them, so a hit never links to a deleted object.
"""

from __future__ import annotations

import math
from typing import Any

from lakegate_cdk.cache_storage import OVERFLOW_PREFIX

from handler.catalogue import load_catalogue

from .conftest import Synthesized

ROLE = "Api"


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def test_the_function_touches_only_its_prefix_of_the_bucket(env: Synthesized) -> None:
    bucket = env.logical_id(ROLE, env.stacks.api.storage.bucket)
    s3 = [s for s in _statements(env.raw(ROLE)) if any(a.startswith("s3:") for a in _actions(s))]
    runtime = [s for s in s3 if bucket in str(s["Resource"])]
    assert runtime, "the function needs the bucket for answers by reference"
    for statement in runtime:
        assert statement["Effect"] == "Allow"
        assert sorted(_actions(statement)) == ["s3:GetObject", "s3:PutObject"]
        assert statement["Resource"] == {
            "Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{OVERFLOW_PREFIX}*"]]
        }


def test_no_principal_outside_the_account_may_read_the_bucket(env: Synthesized) -> None:
    bucket = env.logical_id(ROLE, env.stacks.api.storage.bucket)
    policies = [
        r["Properties"]
        for r in env.raw(ROLE)["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    assert len(policies) == 1
    for statement in policies[0]["PolicyDocument"]["Statement"]:
        if statement["Effect"] == "Allow":
            # Only CDK's auto-delete custom resource, which empties the bucket on destroy:
            # it lists and deletes, and reads no object.
            assert statement["Principal"]["AWS"] != "*"
            assert "Fn::GetAtt" in statement["Principal"]["AWS"]
            assert not {"s3:GetObject", "s3:*"} & set(_actions(statement))
        else:
            assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_objects_outlive_the_longest_cache_entry(env: Synthesized) -> None:
    longest = max(
        d.freshness.ttl_seconds + d.freshness.stale_seconds for d in load_catalogue().datasets
    )
    rules = env.template(ROLE).find_resources("AWS::S3::Bucket")[
        env.logical_id(ROLE, env.stacks.api.storage.bucket)
    ]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiry = next(r for r in rules if r.get("Prefix") == OVERFLOW_PREFIX)["ExpirationInDays"]
    assert expiry >= math.ceil(longest / 86_400)
    assert expiry * 86_400 >= longest
