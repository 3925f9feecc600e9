"""How long logs live, and whether they outlive the stack."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from lakegate_cdk.config import LOG_RETENTION_DAYS, LakegateConfig

# jsii enums carry names, not day counts: pair CloudWatch's periods with CDK's names
# (both are listed shortest first; INFINITE is last and never configured).
_RETENTION = dict(zip(LOG_RETENTION_DAYS, list(logs.RetentionDays)[:-1], strict=True))


def log_retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a validated number of days."""
    return _RETENTION[days]


def log_removal_policy(config: LakegateConfig) -> RemovalPolicy:
    """Logs are evidence: production keeps them when its stacks are deleted."""
    return RemovalPolicy.RETAIN if config.retain_logs else RemovalPolicy.DESTROY
