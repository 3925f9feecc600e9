"""The cross-region hand-off: SSM parameters with stable names, never CDK's export writer."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from lakegate_cdk import handoff

from .conftest import ROLES, Synthesized


def _writers(env: Synthesized, role: str) -> dict[str, dict[str, Any]]:
    """Each hand-off writer's Create and Update calls, parsed, by parameter name."""
    resources = env.template(role).find_resources("Custom::AWS")
    calls = {}
    for resource in resources.values():
        props = resource["Properties"]
        create, update = (_call(props[phase]) for phase in ("Create", "Update"))
        calls[create["parameters"]["Name"]] = {"create": create, "update": update, **props}
    return calls


def _call(value: object) -> dict[str, Any]:
    """An SDK call as CloudFormation will hand it over, each token written as `<Ref X>`."""
    if isinstance(value, dict) and "Fn::Join" in value:
        value = "".join(
            part if isinstance(part, str) else f"<{' '.join(map(str, _flat(part)))}>"
            for part in value["Fn::Join"][1]
        )
    assert isinstance(value, str)
    call: dict[str, Any] = json.loads(value)
    return call


def _flat(token: dict[str, Any]) -> list[object]:
    ((function, argument),) = token.items()
    return [function, *(argument if isinstance(argument, list) else [argument])]


def test_no_cdk_cross_region_references_anywhere(env: Synthesized) -> None:
    for role in ROLES:
        raw = json.dumps(env.raw(role))
        assert "CrossRegionExport" not in raw
        assert "ExportsReader" not in raw and "ExportsWriter" not in raw


def test_edge_security_writes_its_arns_into_the_api_region(env: Synthesized) -> None:
    writers = _writers(env, "EdgeSecurity")
    name = handoff.parameter_name(env.config.env_name, handoff.WEB_ACL_ARN)
    expected = {name}
    if env.config.domain is not None:
        expected.add(handoff.parameter_name(env.config.env_name, handoff.CERTIFICATE_ARN))
    assert set(writers) == expected
    for writer in writers.values():
        # The same overwrite on create and on update, in the API's region, nothing on delete.
        assert writer["create"] == writer["update"]
        assert writer["update"]["action"] == "putParameter"
        assert writer["update"]["region"] == env.config.region
        assert writer["update"]["parameters"]["Overwrite"] is True
        assert "Delete" not in writer
        assert writer["InstallLatestAwsSdk"] is False
    assert writers[name]["update"]["parameters"]["Value"] == "<Fn::GetAtt WebAcl Arn>"


def test_api_stack_reads_them_at_deploy_and_hands_its_distribution_id_to_us_east_1(
    env: Synthesized,
) -> None:
    parameters = env.raw("Api")["Parameters"]
    read = {p["Default"] for p in parameters.values() if "/handoff/" in p["Default"]}
    assert all(
        p["Type"] == "AWS::SSM::Parameter::Value<String>"
        for p in parameters.values()
        if "/handoff/" in p["Default"]
    )
    expected = {handoff.parameter_name(env.config.env_name, handoff.WEB_ACL_ARN)}
    if env.config.domain is not None:
        expected.add(handoff.parameter_name(env.config.env_name, handoff.CERTIFICATE_ARN))
    assert read == expected
    (writer,) = _writers(env, "Api").values()
    assert writer["update"]["region"] == env.config.edge_region
    assert writer["update"]["parameters"]["Name"] == handoff.parameter_name(
        env.config.env_name, handoff.DISTRIBUTION_ID
    )


def test_monitoring_reads_the_distribution_id(env: Synthesized) -> None:
    parameters = env.raw("EdgeMonitoring")["Parameters"]
    (reader,) = (p for p in parameters.values() if "/handoff/" in p["Default"])
    assert reader == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": handoff.parameter_name(env.config.env_name, handoff.DISTRIBUTION_ID),
    }


def test_writers_may_only_put_their_own_parameters(env: Synthesized) -> None:
    policies = env.template("EdgeSecurity").find_resources("AWS::IAM::Policy")
    statements = [
        s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    puts = [s for s in statements if "ssm:PutParameter" in json.dumps(s)]
    assert len(puts) == len(_writers(env, "EdgeSecurity"))
    for statement in puts:
        assert statement["Action"] == "ssm:PutParameter"
        resources = json.dumps(statement["Resource"])
        assert resources.count(f"parameter/lakegate/{env.config.env_name}/handoff/") == len(puts)


def test_deploy_order_is_declared(env: Synthesized) -> None:
    manifest = json.loads((env.outdir / "manifest.json").read_text())
    name = f"Lakegate-{env.config.env_name}-"
    assert name + "EdgeSecurity" in manifest["artifacts"][name + "Api"]["dependencies"]
    assert name + "Api" in manifest["artifacts"][name + "EdgeMonitoring"]["dependencies"]


def test_a_changed_value_changes_the_update_call() -> None:
    """CloudFormation updates a custom resource exactly when its properties change: a new
    value (a replaced web ACL) must reach the Update call, and so SSM."""

    def update_call(value: str) -> dict[str, Any]:
        stack = Stack(App(), "Probe")
        handoff.HandoffWriter(
            stack, "Handoff", env_name="dev", region="eu-west-1", values={"web-acl-arn": value}
        )
        (resource,) = Template.from_stack(stack).find_resources("Custom::AWS").values()
        return _call(resource["Properties"]["Update"])

    old, new = update_call("arn:aws:wafv2:old"), update_call("arn:aws:wafv2:new")
    assert old != new
    assert new["parameters"]["Value"] == "arn:aws:wafv2:new"
    assert new["parameters"]["Overwrite"] is True
    # Same resource either way: an update, not a replacement that could delete.
    assert old["physicalResourceId"] == new["physicalResourceId"]
