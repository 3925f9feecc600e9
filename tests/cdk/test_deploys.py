"""Safe deploys: versions, the `live` alias behind the Function URL, a CodeDeploy canary that
rolls back on alarms, and termination protection where the config asks for it."""

from __future__ import annotations

from typing import Any

from .conftest import ROLES, Synthesized

ROLE = "Api"


def _one(env: Synthesized, kind: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = env.template(ROLE).find_resources(kind).items()
    return logical_id, resource


def test_the_function_url_serves_the_live_alias_not_latest(env: Synthesized) -> None:
    _, alias = _one(env, "AWS::Lambda::Alias")
    assert alias["Properties"]["Name"] == "live"
    version_id, _ = _one(env, "AWS::Lambda::Version")
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    _, url = _one(env, "AWS::Lambda::Url")
    assert url["Properties"]["Qualifier"] == "live"
    assert url["Properties"]["AuthType"] == "AWS_IAM"


def test_cloudfront_may_invoke_only_the_alias(env: Synthesized) -> None:
    permissions = env.template(ROLE).find_resources("AWS::Lambda::Permission")
    from_cloudfront = [
        p["Properties"]
        for p in permissions.values()
        if p["Properties"]["Principal"] == "cloudfront.amazonaws.com"
    ]
    assert {p["Action"] for p in from_cloudfront} == {
        "lambda:InvokeFunctionUrl",
        "lambda:InvokeFunction",
    }
    # The URL's FunctionArn: for a URL on an alias, the alias-qualified ARN.
    url_id, _ = _one(env, "AWS::Lambda::Url")
    for permission in from_cloudfront:
        assert permission["FunctionName"] == {"Fn::GetAtt": [url_id, "FunctionArn"]}


def test_codedeploy_shifts_the_alias_as_a_canary_from_the_config(env: Synthesized) -> None:
    deploy = env.config.deploy
    _, config = _one(env, "AWS::CodeDeploy::DeploymentConfig")
    assert config["Properties"]["ComputePlatform"] == "Lambda"
    assert config["Properties"]["TrafficRoutingConfig"] == {
        "Type": "TimeBasedCanary",
        "TimeBasedCanary": {
            "CanaryPercentage": deploy.canary_percent,
            "CanaryInterval": deploy.canary_minutes,
        },
    }
    _, alias = _one(env, "AWS::Lambda::Alias")
    hook = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    group_id, _ = _one(env, "AWS::CodeDeploy::DeploymentGroup")
    assert hook["DeploymentGroupName"] == {"Ref": group_id}


def test_the_canary_rolls_back_on_errors_and_on_the_handlers_5xx(env: Synthesized) -> None:
    _, group = _one(env, "AWS::CodeDeploy::DeploymentGroup")
    props = group["Properties"]
    assert props["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": [
            "DEPLOYMENT_FAILURE",
            "DEPLOYMENT_STOP_ON_REQUEST",
            "DEPLOYMENT_STOP_ON_ALARM",
        ],
    }
    alarms = props["AlarmConfiguration"]
    assert alarms["Enabled"] is True
    api = env.stacks.api
    expected = {api.alarms[0], api.origin_alarms["handler_5xx"]}
    assert {a["Name"]["Ref"] for a in alarms["Alarms"]} == {
        env.logical_id(ROLE, alarm) for alarm in expected
    }


def test_termination_protection_follows_the_config(env: Synthesized) -> None:
    expected = env.config.deploy.termination_protection
    assert expected is (env.config.env_name == "prod")
    for role in ROLES:
        stack = getattr(
            env.stacks,
            {"EdgeSecurity": "edge_security", "Api": "api", "EdgeMonitoring": "edge_monitoring"}[
                role
            ],
        )
        assert stack.termination_protection is expected
    manifest = (env.outdir / "manifest.json").read_text()
    assert ('"terminationProtection": true' in manifest) is expected
