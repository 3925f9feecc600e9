"""cdk-nag AwsSolutions: zero unacknowledged findings, and no acknowledgement without one.

The session fixture already synthesised both environments with the AwsSolutions
plugin registered: an unacknowledged finding would have failed it with
ValidationFailed. These tests pin down the rest.
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks
from lakegate_cdk.application import add_nag
from lakegate_cdk.nag import PLUGIN_PREFIX, acknowledge

from .conftest import Synthesized

# Every finding we accept, by construct path below `Lakegate-<env>-`. Reasons live in code.
_MANAGED = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{}]"
# The singleton provider of CDK's AwsCustomResource: the hand-off writers (handoff.py).
_SDK_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"
EXPECTED = {
    "dev": {
        ("Api/Api/Role", "AwsSolutions-IAM5[Resource::*]"),
        (
            "Api/Api/Role",
            "AwsSolutions-IAM5[Resource::<CacheOverflowBucketD9FD01FF.Arn>/results/*]",
        ),
        ("Api/Cache/Table", "AwsSolutions-DDB3"),
        ("Api/Secrets/Databricks", "AwsSolutions-SMG4"),
        ("Api/Secrets/AdminToken", "AwsSolutions-SMG4"),
        ("Api/Edge/Distribution", "AwsSolutions-CFR1"),
        # Only without a custom domain: the *.cloudfront.net certificate's fixed policy.
        ("Api/Edge/Distribution", "AwsSolutions-CFR4"),
        # CodeDeploy's service role for the canary.
        ("Api/Deploy/Group", _MANAGED.format("AWSCodeDeployRoleForLambdaLimited")),
        # CDK's provider framework in front of the edge rules writer (lakegate_cdk/gateway.py).
        (
            "Api/Gateway/RulesProvider/framework-onEvent",
            _MANAGED.format("AWSLambdaBasicExecutionRole"),
        ),
        (
            "Api/Gateway/RulesProvider/framework-onEvent",
            "AwsSolutions-IAM5[Resource::<GatewayRulesWriter56E0F1DB.Arn>:*]",
        ),
        # Both stacks that hand a value off to another region.
        (f"Api/{_SDK_PROVIDER}", _MANAGED.format("AWSLambdaBasicExecutionRole")),
        (f"EdgeSecurity/{_SDK_PROVIDER}", _MANAGED.format("AWSLambdaBasicExecutionRole")),
    },
}
EXPECTED["prod"] = EXPECTED["dev"] - {("Api/Edge/Distribution", "AwsSolutions-CFR4")}
# The function may invoke its own versions (background refreshes), named per account.
for _env, _account in (("dev", "111111111111"), ("prod", "222222222222")):
    EXPECTED[_env] = EXPECTED[_env] | {
        (
            "Api/Api/Role",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:eu-west-1:"
            f"{_account}:function:lakegate-{_env}-api:*]",
        )
    }


def _acknowledgements(app: App) -> dict[tuple[str, str], str]:
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found: dict[tuple[str, str], str] = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                for rule, reason in entry.data.items():
                    found[(construct.node.path, rule.removeprefix(PLUGIN_PREFIX))] = reason
    return found


def test_synth_passes_with_nag(env: Synthesized) -> None:
    """Reaching here means `app.synth()` did not raise ValidationFailed."""
    assert (env.outdir / "manifest.json").is_file()


def test_acknowledgements_are_exactly_the_reviewed_ones(env: Synthesized) -> None:
    prefix = f"Lakegate-{env.config.env_name}-"
    acks = _acknowledgements(env.app)
    assert all(path.startswith(prefix) for path, _ in acks)
    assert {(path.removeprefix(prefix), rule) for path, rule in acks} == EXPECTED[
        env.config.env_name
    ]


def test_every_acknowledgement_gives_a_real_reason(env: Synthesized) -> None:
    for (path, rule), reason in _acknowledgements(env.app).items():
        assert len(reason) >= 80, f"{path} {rule}: reason too thin: {reason!r}"


def test_every_acknowledgement_matches_a_finding(env: Synthesized) -> None:
    """No stale acknowledgements: each one silences a finding the rules actually report."""
    # Run the rules directly: validate_scope reports raw findings, acknowledged or not.
    report = AwsSolutionsChecks().validate_scope(env.app)
    findings = {
        (resource.construct_path, violation.rule_name)
        for violation in report.violations
        for resource in violation.violating_resources
    }
    acks = set(_acknowledgements(env.app))
    for path, rule in findings:
        assert any(path.startswith(p + "/") and rule == r for p, r in acks), (path, rule)
    for path, rule in acks:
        assert any(p.startswith(path + "/") and r == rule for p, r in findings), (path, rule)


def test_nag_plugin_fails_synth_on_a_finding(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = App(outdir=str(tmp_path))
    sns.Topic(Stack(app, "Probe"), "Plain")  # no TLS-only policy, no encryption
    add_nag(app)
    with pytest.raises(Exception, match="AwsSolutions-SNS"):
        app.synth()


def test_acknowledge_only_takes_awssolutions_ids(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stack = Stack(App(outdir=str(tmp_path)), "Probe")
    with pytest.raises(ValueError, match="AwsSolutions"):
        acknowledge(stack, "IAM5", "some reason")
