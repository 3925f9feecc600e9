"""Assemble the three stacks of one environment and register cdk-nag.

EdgeSecurity (us-east-1)  WAF web ACL, WAF logs, certificate
      │ web ACL ARN, certificate ARN (SSM hand-off parameters in the API region)
      ▼
Api (config region)       function + `live` alias + canary, cache table + bucket,
                          secrets, CloudFront + the gateway function and its key store
                          (API keys and the rules a custom resource writes), alarms,
                          dashboard
      │ distribution id (SSM hand-off parameter in us-east-1)
      ▼
EdgeMonitoring (us-east-1) CloudFront 5xx-rate and WAF block alarms

No CDK reference crosses a stack (lakegate_cdk.handoff says why), so the deploy order
is declared with `add_dependency`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from handler.catalogue import Catalogue, load_catalogue
from lakegate_cdk.api_stack import ApiStack
from lakegate_cdk.config import ConfigError, LakegateConfig
from lakegate_cdk.edge_monitoring_stack import EdgeMonitoringStack
from lakegate_cdk.edge_security_stack import EdgeSecurityStack
from lakegate_cdk.gateway import gateway_code


@dataclass(frozen=True)
class LakegateStacks:
    edge_security: EdgeSecurityStack
    api: ApiStack
    edge_monitoring: EdgeMonitoringStack


def stack_name(config: LakegateConfig, role: str) -> str:
    return f"Lakegate-{config.env_name}-{role}"


def check_catalogue_fits(config: LakegateConfig, catalogue: Catalogue) -> None:
    """A dataset fresher-than-max TTL would be silently capped by CloudFront: refuse it."""
    cap = config.edge_cache.max_ttl_seconds
    too_long = [d.name for d in catalogue.datasets if d.freshness.ttl_seconds > cap]
    if too_long:
        raise ConfigError(
            f"datasets {', '.join(too_long)} are fresh for longer than edge_cache."
            f"max_ttl_seconds ({cap}); CloudFront would cap them. Raise max_ttl_seconds."
        )


# Feature flags set in code rather than in cdk.json, each for a reason:
FEATURE_FLAGS = {
    # S3 server access logs are admitted by a bucket policy scoped to the source bucket,
    # not by the deprecated `LogDeliveryWrite` canned ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def build(app: App, config: LakegateConfig, catalogue: Catalogue | None = None) -> LakegateStacks:
    """Add the environment's stacks to a fresh `app` (cdk-nag is added by `add_nag`)."""
    for flag, value in FEATURE_FLAGS.items():
        app.node.set_context(flag, value)
    catalogue = catalogue or load_catalogue()
    check_catalogue_fits(config, catalogue)
    # Built before any stack, so rules that cannot be laid out in the key store fail
    # here, with the reason.
    gateway = gateway_code(config, catalogue)

    edge_security = EdgeSecurityStack(app, stack_name(config, "EdgeSecurity"), config=config)
    api = ApiStack(app, stack_name(config, "Api"), config=config, gateway=gateway)
    api.add_stack_dependency(edge_security, "reads the web ACL and certificate ARNs it hands off")
    edge_monitoring = EdgeMonitoringStack(app, stack_name(config, "EdgeMonitoring"), config=config)
    edge_monitoring.add_stack_dependency(api, "reads the distribution id it hands off")
    for stack in (edge_security, api, edge_monitoring):
        Tags.of(stack).add("project", "lakegate")
        Tags.of(stack).add("environment", config.env_name)
    return LakegateStacks(edge_security, api, edge_monitoring)


def add_nag(app: App) -> None:
    """Run AwsSolutions checks at synth; any unacknowledged finding fails the synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
