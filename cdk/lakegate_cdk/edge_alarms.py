"""The edge stack's alarms: CloudFront's 5xx rate and WAF's blocks (both in us-east-1)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from lakegate_cdk import metrics
from lakegate_cdk.alarms import ABOVE, FIVE_MINUTES, AlarmTopic, new_alarm
from lakegate_cdk.config import AlarmConfig


def cloudfront_5xx_rate_alarm(
    scope: Construct, *, topic: AlarmTopic, config: AlarmConfig, distribution_id: str
) -> cloudwatch.Alarm:
    """5xx share of all viewer requests; CloudFront publishes it in us-east-1 only."""
    metric = cloudwatch.Metric(
        namespace="AWS/CloudFront",
        metric_name="5xxErrorRate",
        dimensions_map={"DistributionId": distribution_id, "Region": "Global"},
        statistic="Average",
        period=Duration.minutes(1),
    )
    alarm = new_alarm(
        scope,
        "CloudFront5xxRate",
        metric,
        description=(
            f"More than {config.cloudfront_5xx_rate_percent}% of viewer requests got a 5xx "
            "in 3 of the last 5 minutes. Compare with the API stack's Handler5xxRate alarm: "
            "both firing is the function (see its runbook); only this one is CloudFront "
            "reaching the origin (read timeouts, throttles: the dashboard's concurrency)."
        ),
        threshold=config.cloudfront_5xx_rate_percent,
        comparison=ABOVE,
        evaluation_periods=5,
        datapoints_to_alarm=3,
    )
    return topic.watch(alarm)


def waf_blocks_alarm(
    scope: Construct, *, topic: AlarmTopic, config: AlarmConfig, web_acl_metric: str
) -> cloudwatch.Alarm:
    """Requests WAF blocked, all rules together; WAF's metrics for CloudFront are in us-east-1."""
    alarm = new_alarm(
        scope,
        "WafBlockSpike",
        metrics.waf_blocked(web_acl_metric, "ALL", period=FIVE_MINUTES),
        description=(
            f"WAF blocked at least {config.waf_blocks_per_5_minutes} requests in 5 minutes. "
            "The dashboard's 'WAF blocks by rule' names the rule: rate-limit-per-ip or "
            "-per-api-key is a client loop or a flood (find the key or IP in the WAF logs, "
            "aws-waf-logs-lakegate-<env>, and contact or revoke it); a managed group is an "
            "attack pattern (usually nothing to do); admin-allow-list is someone probing /admin."
        ),
        threshold=config.waf_blocks_per_5_minutes,
    )
    return topic.watch(alarm)
