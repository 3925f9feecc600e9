"""The us-east-1 half of the edge: the WAF web ACL and, with a custom domain, its certificate.

CloudFront only accepts a web ACL of scope CLOUDFRONT and an ACM certificate that
both live in N. Virginia, whatever region the API runs in. Their ARNs reach the API
stack through the explicit hand-off (lakegate_cdk.handoff): SSM parameters with stable
names that this stack writes in the API's region.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Environment, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from handler.admin import ADMIN_TOKEN_HEADER
from handler.consumers import API_KEY_HEADER
from lakegate_cdk import handoff
from lakegate_cdk.config import LakegateConfig
from lakegate_cdk.retention import log_removal_policy, log_retention

# AWS managed rule groups, in evaluation order: drop known-bad sources first, then
# generic exploit patterns. None of them inspects bodies we accept (we accept none).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)

# The per-key rule's window, fixed: its limit is configured "per 5 minutes".
API_KEY_RATE_WINDOW_SECONDS = 300


def waf_metric_name(env_name: str, name: str) -> str:
    """The CloudWatch dimension value (`WebACL` or `Rule`) of the web ACL or one rule."""
    return f"lakegate-{env_name}-{name}"


def web_acl_name(env_name: str) -> str:
    return f"lakegate-{env_name}"


def rule_names(config: LakegateConfig) -> tuple[str, ...]:
    """The web ACL's rules in evaluation order (the dashboard's and alarms' `Rule`s)."""
    admin = ("admin-allow-list",) if config.waf.admin_allow_list else ()
    return (*admin, "rate-limit-per-ip", "rate-limit-per-api-key", *MANAGED_RULE_GROUPS)


# Keep log records of requests a rule blocked or counted; drop the allowed majority.
# (The property is untyped in CDK, so it is written in CloudFormation's own casing.)
BLOCKED_OR_COUNTED = {
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


class EdgeSecurityStack(Stack):
    """WAFv2 web ACL (rate limits, managed rules, admin allow list), its logs, the certificate."""

    def __init__(self, scope: Construct, construct_id: str, *, config: LakegateConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.edge_region),
            description=f"lakegate {config.env_name}: CloudFront WAF and certificate (us-east-1)",
            termination_protection=config.deploy.termination_protection,
        )
        self._config = config

        rules: list[wafv2.CfnWebACL.RuleProperty] = []
        admin_rule = self._admin_allow_list_rule(priority=0)
        if admin_rule is not None:
            rules.append(admin_rule)
        rules.append(self._rate_limit_rule(priority=10))
        rules.append(self._api_key_rate_limit_rule(priority=11))
        rules.extend(
            self._managed_rule(name, priority=20 + i) for i, name in enumerate(MANAGED_RULE_GROUPS)
        )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=web_acl_name(config.env_name),
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=self._visibility("web-acl"),
        )
        self.web_acl_arn: str = self.web_acl.attr_arn
        self._logging()
        self.certificate = self._certificate()
        handed_off = {handoff.WEB_ACL_ARN: self.web_acl_arn}
        if self.certificate is not None:
            handed_off[handoff.CERTIFICATE_ARN] = self.certificate.certificate_arn
        self.handoff = handoff.HandoffWriter(
            self, "Handoff", env_name=config.env_name, region=config.region, values=handed_off
        )

    # --- rules -----------------------------------------------------------------------

    def _visibility(self, name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True,
            metric_name=waf_metric_name(self._config.env_name, name),
            sampled_requests_enabled=True,
        )

    def _rate_limit_rule(self, priority: int) -> wafv2.CfnWebACL.RuleProperty:
        """Block an IP above `rate_limit` requests per window: cache misses cost warehouse time."""
        waf = self._config.waf
        return wafv2.CfnWebACL.RuleProperty(
            name="rate-limit-per-ip",
            priority=priority,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="IP",
                    limit=waf.rate_limit,
                    evaluation_window_sec=waf.rate_window_seconds,
                )
            ),
            visibility_config=self._visibility("rate-limit-per-ip"),
        )

    def _api_key_rate_limit_rule(self, priority: int) -> wafv2.CfnWebACL.RuleProperty:
        """Block one API key above its limit, from however many IPs it is used.

        Requests without the header are not counted here (WAF skips a request missing a
        custom key); the per-IP rule still covers them. No text transformation: keys are
        case-sensitive secrets, so `AbC` and `abc` are different keys (and at most one
        of them valid: the gateway refuses the other at the edge).
        """
        return wafv2.CfnWebACL.RuleProperty(
            name="rate-limit-per-api-key",
            priority=priority,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    aggregate_key_type="CUSTOM_KEYS",
                    custom_keys=[
                        wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                            header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                                name=API_KEY_HEADER,
                                text_transformations=[
                                    wafv2.CfnWebACL.TextTransformationProperty(
                                        priority=0, type="NONE"
                                    )
                                ],
                            )
                        )
                    ],
                    limit=self._config.gateway.api_key_requests_per_5_minutes,
                    evaluation_window_sec=API_KEY_RATE_WINDOW_SECONDS,
                )
            ),
            visibility_config=self._visibility("rate-limit-per-api-key"),
        )

    def _managed_rule(self, name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS", name=name
                )
            ),
            visibility_config=self._visibility(name),
        )

    def _admin_allow_list_rule(self, priority: int) -> wafv2.CfnWebACL.RuleProperty | None:
        """Block `/admin*` unless the source IP is on the allow list (no list: no rule)."""
        waf = self._config.waf
        if not waf.admin_allow_list:
            return None
        allowed: list[wafv2.CfnWebACL.StatementProperty] = []
        # A WAF IP set holds one address family, so v4 and v6 get a set each.
        for version in (4, 6):
            cidrs = waf.admin_cidrs(version)
            if not cidrs:
                continue
            ip_set = wafv2.CfnIPSet(
                self,
                f"AdminAllowListV{version}",
                name=f"lakegate-{self._config.env_name}-admin-v{version}",
                scope="CLOUDFRONT",
                ip_address_version=f"IPV{version}",
                addresses=list(cidrs),
            )
            allowed.append(
                wafv2.CfnWebACL.StatementProperty(
                    ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(
                        arn=ip_set.attr_arn
                    )
                )
            )
        from_allowed = (
            allowed[0]
            if len(allowed) == 1
            else wafv2.CfnWebACL.StatementProperty(
                or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=allowed)
            )
        )
        return wafv2.CfnWebACL.RuleProperty(
            name="admin-allow-list",
            priority=priority,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                and_statement=wafv2.CfnWebACL.AndStatementProperty(
                    statements=[
                        _admin_path_statement(),
                        wafv2.CfnWebACL.StatementProperty(
                            not_statement=wafv2.CfnWebACL.NotStatementProperty(
                                statement=from_allowed
                            )
                        ),
                    ]
                )
            ),
            visibility_config=self._visibility("admin-allow-list"),
        )

    # --- logging and certificate -----------------------------------------------------

    def _logging(self) -> None:
        config = self._config
        # WAF only delivers to log groups whose name starts with `aws-waf-logs-`. WAF adds
        # the log group's resource policy for delivery.logs.amazonaws.com itself.
        log_group = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name=f"aws-waf-logs-lakegate-{config.env_name}",
            retention=log_retention(config.log_retention_days),
            removal_policy=log_removal_policy(config),
        )
        # The destination must be the bare log group ARN: the `Arn` attribute ends in
        # `:*`, which WAF rejects.
        destination = self.format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[destination],
            # Neither the admin token nor a consumer's API key may land in a log.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": name})
                for name in (ADMIN_TOKEN_HEADER, API_KEY_HEADER)
            ],
            logging_filter=None if config.waf.log_allowed_requests else BLOCKED_OR_COUNTED,
        )

    def _certificate(self) -> acm.ICertificate | None:
        domain = self._config.domain
        if domain is None:
            return None
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.zone_name
        )
        return acm.Certificate(
            self,
            "Certificate",
            domain_name=domain.name,
            validation=acm.CertificateValidation.from_dns(zone),
        )


def _admin_path_statement() -> wafv2.CfnWebACL.StatementProperty:
    # Normalise before matching so `/%61dmin`, `//admin` or `/ADMIN` cannot slip past.
    transformations: list[Any] = [
        wafv2.CfnWebACL.TextTransformationProperty(priority=i, type=t)
        for i, t in enumerate(("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE"))
    ]
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string="/admin",
            text_transformations=transformations,
        )
    )
