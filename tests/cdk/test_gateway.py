"""The edge gateway: one CloudFront Function, its rules written into the key store at deploy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lakegate_cdk import gateway as gateway_module
from lakegate_cdk.config import ConfigError
from lakegate_cdk.gateway import WRITER_DOCKERFILE, function_name, gateway_code
from lakegate_cdk.rules_writer import decode_entries

from edge.function import MAX_CODE_BYTES
from edge.store import route_key
from handler.catalogue import load_catalogue
from tools.bench.wide_catalogue import WIDE_ROUTE, wide_catalogue

from .conftest import Synthesized, synthesize

ROLE = "Api"


def _one(env: Synthesized, kind: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = env.template(ROLE).find_resources(kind).items()
    return str(logical_id), dict(resource)


def _function(env: Synthesized) -> dict[str, Any]:
    return _one(env, "AWS::CloudFront::Function")[1]


def _rules(env: Synthesized) -> tuple[str, dict[str, Any]]:
    return _one(env, "Custom::LakegateEdgeRules")


def test_one_viewer_request_function_on_runtime_2_for_every_dataset(env: Synthesized) -> None:
    function = _function(env)["Properties"]
    assert function["Name"] == function_name(env.config.env_name)
    assert function["AutoPublish"] is True
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert function["FunctionCode"] == gateway_code(env.config, load_catalogue()).code
    assert len(function["FunctionCode"].encode()) <= MAX_CODE_BYTES == 10_240
    assert env.stacks.api.gateway.routes == tuple(d.route for d in load_catalogue().datasets)


def test_the_function_reads_the_one_key_store_and_is_deployed_after_its_rules(
    env: Synthesized,
) -> None:
    env.template(ROLE).resource_count_is("AWS::CloudFront::KeyValueStore", 1)
    store = env.logical_id(ROLE, env.stacks.api.gateway.key_store)
    function = _function(env)
    assert function["Properties"]["FunctionConfig"]["KeyValueStoreAssociations"] == [
        {"KeyValueStoreARN": {"Fn::GetAtt": [store, "Arn"]}}
    ]
    rules_id, _ = _rules(env)
    assert rules_id in function["DependsOn"]
    resource = env.template(ROLE).find_resources("AWS::CloudFront::KeyValueStore")[store]
    # A fixed name: a replacement would fail instead of emptying the store.
    assert resource["Properties"]["Name"] == f"lakegate-{env.config.env_name}-api-keys"
    assert "ImportSource" not in resource["Properties"]  # keys are never in the template


def test_the_rules_resource_writes_exactly_the_catalogues_rules_under_the_functions_tag(
    env: Synthesized,
) -> None:
    expected = gateway_code(env.config, load_catalogue())
    _, rules = _rules(env)
    properties = rules["Properties"]
    store = env.logical_id(ROLE, env.stacks.api.gateway.key_store)
    assert properties["KvsArn"] == {"Fn::GetAtt": [store, "Arn"]}
    assert properties["Tag"] == expected.rules.tag
    assert f"const TAG='{properties['Tag']}';" in _function(env)["Properties"]["FunctionCode"]
    assert decode_entries(properties["Entries"]) == dict(expected.rules.entries)
    assert (properties["Keys"], properties["Bytes"]) == (
        len(expected.rules.entries),
        expected.rules.size,
    )
    cors = json.loads(
        decode_entries(properties["Entries"])[route_key(expected.rules.tag, "/v1/drivers")]
    )["c"]
    assert cors == list(env.config.gateway.cors_origins)


def test_the_writer_may_touch_the_key_store_and_its_logs_and_nothing_else(
    env: Synthesized,
) -> None:
    gateway = env.stacks.api.gateway
    template = env.template(ROLE)
    writer = template.find_resources("AWS::Lambda::Function")[env.logical_id(ROLE, gateway.writer)]
    assert writer["Properties"]["PackageType"] == "Image"
    assert writer["Properties"]["Architectures"] == ["arm64"]
    role = env.logical_id(ROLE, gateway.writer_role)
    assert "ManagedPolicyArns" not in template.find_resources("AWS::IAM::Role")[role]["Properties"]
    (policy,) = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    store = env.logical_id(ROLE, gateway.key_store)
    assert statements["WriteEdgeRules"]["Action"] == [
        "cloudfront-keyvaluestore:DescribeKeyValueStore",
        "cloudfront-keyvaluestore:ListKeys",
        "cloudfront-keyvaluestore:UpdateKeys",
    ]
    assert statements["WriteEdgeRules"]["Resource"] == {"Fn::GetAtt": [store, "Arn"]}
    assert statements["WriteOwnLogs"]["Resource"] == {
        "Fn::GetAtt": [env.logical_id(ROLE, gateway.writer_logs), "Arn"]
    }
    assert set(statements) == {"WriteEdgeRules", "WriteOwnLogs"}


def test_the_writers_image_is_built_from_its_dockerfile_lock_and_module_alone(
    dev: Synthesized,
) -> None:
    manifest = json.loads(
        (dev.outdir / f"Lakegate-{dev.config.env_name}-Api.assets.json").read_text()
    )
    (image,) = [
        i["source"]
        for i in manifest["dockerImages"].values()
        if i["source"].get("dockerFile") == WRITER_DOCKERFILE
    ]
    context = dev.outdir / image["directory"]
    files = sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file())
    assert files == [
        "cdk/lakegate_cdk/rules_writer.py",
        "cdk/rules_writer/Dockerfile",
        "cdk/rules_writer/requirements.lock",
    ]
    assert image["platform"] == "linux/arm64"


def test_require_keys_reaches_the_rules(dev: Synthesized) -> None:
    config = dev.config.model_copy(
        update={"gateway": dev.config.gateway.model_copy(update={"require_keys": True})}
    )
    code = gateway_code(config, load_catalogue())
    heads = [json.loads(code.rules.entries[route_key(code.rules.tag, r)]) for r in code.routes]
    assert {head["a"] for head in heads} == {"key"}
    assert code.rules.tag != gateway_code(dev.config, load_catalogue()).rules.tag


def test_rules_too_big_to_send_are_a_config_error_naming_the_bound(
    dev: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "MAX_ENTRIES_PROPERTY", 100)
    with pytest.raises(ConfigError, match="over the 100 a custom resource's properties may carry"):
        gateway_code(dev.config, load_catalogue())


def test_a_catalogue_with_a_30_filter_dataset_synthesises_with_the_same_code(
    dev: Synthesized, tmp_path: Path
) -> None:
    wide = synthesize("dev", tmp_path, wide_catalogue())  # cdk-nag included
    function = _function(wide)["Properties"]
    assert len(function["FunctionCode"]) == len(_function(dev)["Properties"]["FunctionCode"])
    behaviours = {
        b["PathPattern"]
        for d in wide.template(ROLE).find_resources("AWS::CloudFront::Distribution").values()
        for b in d["Properties"]["DistributionConfig"]["CacheBehaviors"]
    }
    assert WIDE_ROUTE in behaviours
    _, rules = _rules(wide)
    entries = decode_entries(rules["Properties"]["Entries"])
    wide_families = [
        k for k in entries if k.startswith(route_key(rules["Properties"]["Tag"], WIDE_ROUTE) + "?")
    ]
    assert len(wide_families) == 30 + 7  # a family per filter, and the shape and page ones
