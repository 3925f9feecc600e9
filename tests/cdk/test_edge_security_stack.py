"""The us-east-1 edge security stack: WAF web ACL, its rules and logs, the certificate."""

from __future__ import annotations

from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Match, Template
from lakegate_cdk.edge_security_stack import MANAGED_RULE_GROUPS, EdgeSecurityStack

from .conftest import Synthesized

ROLE = "EdgeSecurity"


def _rules(synth: Synthesized) -> dict[str, dict[str, Any]]:
    acl = synth.template(ROLE).find_resources("AWS::WAFv2::WebACL")
    (props,) = (r["Properties"] for r in acl.values())
    return {rule["Name"]: rule for rule in props["Rules"]}


def test_lives_in_us_east_1(env: Synthesized) -> None:
    assert env.stacks.edge_security.region == "us-east-1"
    assert env.stacks.edge_security.account == env.config.account


def test_web_acl_is_cloudfront_scoped_and_allows_by_default(env: Synthesized) -> None:
    env.template(ROLE).has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "CLOUDFRONT",
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": {
                "CloudWatchMetricsEnabled": True,
                "SampledRequestsEnabled": True,
                "MetricName": Match.any_value(),
            },
        },
    )


def test_rate_limit_per_ip_comes_from_config(env: Synthesized) -> None:
    rule = _rules(env)["rate-limit-per-ip"]
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"] == {
        "RateBasedStatement": {
            "AggregateKeyType": "IP",
            "Limit": env.config.waf.rate_limit,
            "EvaluationWindowSec": env.config.waf.rate_window_seconds,
        }
    }


def test_rate_limit_per_api_key_comes_from_config(env: Synthesized) -> None:
    rules = _rules(env)
    rule = rules["rate-limit-per-api-key"]
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"] == {
        "RateBasedStatement": {
            "AggregateKeyType": "CUSTOM_KEYS",
            # Keys are case-sensitive secrets: counted exactly as sent.
            "CustomKeys": [
                {
                    "Header": {
                        "Name": "x-api-key",
                        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                    }
                }
            ],
            "Limit": env.config.gateway.api_key_requests_per_5_minutes,
            "EvaluationWindowSec": 300,
        }
    }
    assert rule["VisibilityConfig"] == {
        "CloudWatchMetricsEnabled": True,
        "MetricName": f"lakegate-{env.config.env_name}-rate-limit-per-api-key",
        "SampledRequestsEnabled": True,
    }
    # Beside the per-IP rule, before the managed groups.
    managed = min(rules[name]["Priority"] for name in MANAGED_RULE_GROUPS)
    assert rules["rate-limit-per-ip"]["Priority"] < rule["Priority"] < managed


def test_rules_have_distinct_metric_names(env: Synthesized) -> None:
    names = [r["VisibilityConfig"]["MetricName"] for r in _rules(env).values()]
    assert len(names) == len(set(names))


def test_managed_rule_groups_are_enforced(env: Synthesized) -> None:
    rules = _rules(env)
    assert set(MANAGED_RULE_GROUPS) == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    for name in MANAGED_RULE_GROUPS:
        rule = rules[name]
        # `None` override: the group's own block actions apply (Count would only observe).
        assert rule["OverrideAction"] == {"None": {}}
        assert rule["Statement"] == {
            "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name}
        }


def test_rule_priorities_are_unique_and_every_rule_is_visible(env: Synthesized) -> None:
    rules = _rules(env).values()
    priorities = [r["Priority"] for r in rules]
    assert len(priorities) == len(set(priorities))
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in rules)


def test_dev_has_no_admin_allow_list(dev: Synthesized) -> None:
    assert "admin-allow-list" not in _rules(dev)
    dev.template(ROLE).resource_count_is("AWS::WAFv2::IPSet", 0)


def test_prod_admin_allow_list_has_an_ip_set_per_family(prod: Synthesized) -> None:
    template = prod.template(ROLE)
    template.resource_count_is("AWS::WAFv2::IPSet", 2)
    for version in (4, 6):
        template.has_resource_properties(
            "AWS::WAFv2::IPSet",
            {
                "Scope": "CLOUDFRONT",
                "IPAddressVersion": f"IPV{version}",
                "Addresses": list(prod.config.waf.admin_cidrs(version)),
            },
        )


def test_prod_admin_rule_blocks_admin_paths_from_elsewhere(prod: Synthesized) -> None:
    rules = _rules(prod)
    rule = rules["admin-allow-list"]
    assert rule["Action"] == {"Block": {}}
    # Evaluated first, so neither the rate limit nor a managed group can pre-empt it.
    assert rule["Priority"] == min(r["Priority"] for r in rules.values())
    path, negated = rule["Statement"]["AndStatement"]["Statements"]
    match = path["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"UriPath": {}}
    assert (match["PositionalConstraint"], match["SearchString"]) == ("STARTS_WITH", "/admin")
    assert [t["Type"] for t in match["TextTransformations"]] == [
        "URL_DECODE",
        "NORMALIZE_PATH",
        "LOWERCASE",
    ]
    allowed = negated["NotStatement"]["Statement"]["OrStatement"]["Statements"]
    assert len(allowed) == 2 and all("IPSetReferenceStatement" in s for s in allowed)


def test_waf_logs_go_to_an_aws_waf_logs_group_without_token_or_key(env: Synthesized) -> None:
    template = env.template(ROLE)
    name = f"aws-waf-logs-lakegate-{env.config.env_name}"
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": name, "RetentionInDays": env.config.log_retention_days},
    )
    template.has_resource_properties(
        "AWS::WAFv2::LoggingConfiguration",
        {
            "ResourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^WebAcl"), "Arn"]},
            # The bare log group ARN (no trailing `:*`), which is what WAF accepts.
            "LogDestinationConfigs": [
                {
                    "Fn::Join": [
                        "",
                        Match.array_with(
                            [Match.string_like_regexp(r":logs:us-east-1:\d{12}:log-group:$")]
                        ),
                    ]
                }
            ],
            "RedactedFields": [
                {"SingleHeader": {"Name": "x-lakegate-admin-token"}},
                {"SingleHeader": {"Name": "x-api-key"}},
            ],
        },
    )


def test_waf_logs_only_blocked_or_counted_requests_by_default(env: Synthesized) -> None:
    assert not env.config.waf.log_allowed_requests
    env.template(ROLE).has_resource_properties(
        "AWS::WAFv2::LoggingConfiguration",
        {
            "LoggingFilter": {
                "DefaultBehavior": "DROP",
                "Filters": [
                    {
                        "Behavior": "KEEP",
                        "Requirement": "MEETS_ANY",
                        "Conditions": [
                            {"ActionCondition": {"Action": "BLOCK"}},
                            {"ActionCondition": {"Action": "COUNT"}},
                        ],
                    }
                ],
            }
        },
    )


def test_waf_log_retention_on_delete_follows_config(dev: Synthesized, prod: Synthesized) -> None:
    dev.template(ROLE).has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Delete"})
    prod.template(ROLE).has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain"})


def test_dev_has_no_certificate(dev: Synthesized) -> None:
    dev.template(ROLE).resource_count_is("AWS::CertificateManager::Certificate", 0)
    assert dev.stacks.edge_security.certificate is None


def test_prod_certificate_is_dns_validated_in_us_east_1(prod: Synthesized) -> None:
    domain = prod.config.domain
    assert domain is not None
    prod.template(ROLE).has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainName": domain.name,
            "ValidationMethod": "DNS",
            "DomainValidationOptions": [
                {"DomainName": domain.name, "HostedZoneId": domain.hosted_zone_id}
            ],
        },
    )


def test_waf_can_log_every_request(dev: Synthesized) -> None:
    config = dev.config.model_copy(
        update={"waf": dev.config.waf.model_copy(update={"log_allowed_requests": True})}
    )
    stack = EdgeSecurityStack(App(), "Probe", config=config)
    logging = Template.from_stack(stack).find_resources("AWS::WAFv2::LoggingConfiguration")
    (resource,) = logging.values()
    assert "LoggingFilter" not in resource["Properties"]
