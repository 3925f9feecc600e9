"""Alarms and the encrypted SNS topic they notify.

CloudWatch can publish to an encrypted topic only with a customer managed key whose
policy admits `cloudwatch.amazonaws.com`; the AWS managed SNS key cannot be shared.
And once the topic has a policy of its own (the TLS-only statement), the default
policy that let CloudWatch publish is gone: the topic policy must admit it again.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cache import metrics as cache_metrics
from lakegate_cdk import metrics
from lakegate_cdk.config import AlarmConfig

FIVE_MINUTES = Duration.minutes(5)
# p99 duration alarms at this share of the timeout: a function that nears its timeout
# is about to start failing requests.
DURATION_ALARM_SHARE = 0.8

# The operations the runtime performs on the cache table (see cache_storage.TABLE_ACTIONS).
TABLE_OPERATIONS = (
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.BATCH_GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.DELETE_ITEM,
)


class AlarmTopic(Construct):
    """A KMS-encrypted, TLS-only SNS topic with the on-call e-mail subscribed."""

    def __init__(self, scope: Construct, construct_id: str, *, email: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="lakegate alarm topic encryption",
            enable_key_rotation=True,
            # Only alarm notifications in flight are encrypted with it: nothing to recover.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.action = cw_actions.SnsAction(self.topic)

    def watch(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        """Notify the topic when the alarm fires and when it clears."""
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
        return alarm


_AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD


def _alarm(
    scope: Construct,
    construct_id: str,
    metric: cloudwatch.IMetric,
    *,
    description: str,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator = _AT_LEAST,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int | None = None,
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        alarm_description=description,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        # No traffic is not an incident: an idle dev stack stays OK.
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def add_api_alarms(
    scope: Construct,
    *,
    topic: AlarmTopic,
    config: AlarmConfig,
    function: lambda_.IFunction,
    timeout_seconds: int,
    table: dynamodb.ITable,
) -> list[cloudwatch.Alarm]:
    """Lambda errors, throttles and p99 duration; DynamoDB throttles and system errors."""
    alarms = [
        *_lambda_alarms(scope, config, function, timeout_seconds),
        *_cache_table_alarms(scope, table),
    ]
    return [topic.watch(alarm) for alarm in alarms]


def _lambda_alarms(
    scope: Construct, config: AlarmConfig, function: lambda_.IFunction, timeout_seconds: int
) -> list[cloudwatch.Alarm]:
    """Errors, throttles and p99 duration, from Lambda's own metrics."""
    return [
        _alarm(
            scope,
            "LambdaErrors",
            function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            description=(
                "The API function raised errors (unhandled exceptions, timeouts). During a "
                "deploy this rolls the canary back by itself. Otherwise: read the function's "
                "ERROR log lines (request id, exception type) and the traces."
            ),
            threshold=config.lambda_errors_per_5_minutes,
        ),
        # Throttles mean the reserved concurrency is exhausted: viewers get 5xx on misses.
        _alarm(
            scope,
            "LambdaThrottles",
            function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
            description=(
                "The API function hit its reserved concurrency: misses got 5xx. Check the edge "
                "hit ratio and WAF blocks on the dashboard; raise lambda.reserved_concurrency "
                "only if the warehouse can take more concurrent statements."
            ),
            threshold=1,
        ),
        _alarm(
            scope,
            "LambdaDurationP99",
            function.metric_duration(period=FIVE_MINUTES, statistic="p99"),
            description=(
                f"p99 duration above {DURATION_ALARM_SHARE:.0%} of the "
                f"{timeout_seconds} s timeout for 15 minutes: requests are about to time out. "
                "Look at the dashboard's p99 by outcome (misses: the warehouse is slow; hits: "
                "DynamoDB) and the slowest traces."
            ),
            threshold=timeout_seconds * 1000 * DURATION_ALARM_SHARE,
            comparison=_ABOVE,
            evaluation_periods=3,
        ),
    ]


def _cache_table_alarms(scope: Construct, table: dynamodb.ITable) -> list[cloudwatch.Alarm]:
    """DynamoDB throttles and system errors on the operations the runtime performs."""
    operations = list(TABLE_OPERATIONS)
    return [
        _alarm(
            scope,
            "CacheTableThrottles",
            table.metric_throttled_requests_for_operations(
                operations=operations, period=FIVE_MINUTES
            ),
            description="DynamoDB throttled cache requests (the cache fails open: more "
            "warehouse load). The table is on-demand: check the account's table throughput "
            "quota and for one hot key (a dataset's generation item) in CloudWatch Contributor "
            "Insights.",
            threshold=1,
        ),
        _alarm(
            scope,
            "CacheTableSystemErrors",
            table.metric_system_errors_for_operations(operations=operations, period=FIVE_MINUTES),
            description="DynamoDB returned 5xx to cache requests (the cache fails open). "
            "Check the AWS Health Dashboard for DynamoDB in this region; nothing to roll back.",
            threshold=1,
        ),
    ]


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
    alarm = _alarm(
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
        comparison=_ABOVE,
        evaluation_periods=5,
        datapoints_to_alarm=3,
    )
    return topic.watch(alarm)


def add_origin_alarms(
    scope: Construct,
    *,
    topic: AlarmTopic,
    config: AlarmConfig,
    function: lambda_.IFunction,
    reserved_concurrency: int,
) -> dict[str, cloudwatch.Alarm]:
    """The handler's own view: its 5xx rate, stale and bypass shares, lease give-ups, and
    concurrency near the reserved limit. Each description says what to do."""
    alarms = {
        **_answer_share_alarms(scope, config),
        **_capacity_alarms(scope, config, function, reserved_concurrency),
    }
    for alarm in alarms.values():
        topic.watch(alarm)
    return alarms


def _answer_share_alarms(scope: Construct, config: AlarmConfig) -> dict[str, cloudwatch.Alarm]:
    """Shares of the function's answers: 5xx, stale, cache bypassed."""
    return {
        "handler_5xx": _alarm(
            scope,
            "Handler5xxRate",
            metrics.status_5xx_share(),
            description=(
                f"More than {config.handler_5xx_rate_percent}% of the function's answers were "
                "5xx (its own 500/502/503/504; Lambda's Errors never counts them). During a "
                "deploy this rolls the canary back by itself. Otherwise: the dashboard's "
                "'function status codes' names the code; 502/504 are the warehouse "
                "(rejected/timed out: check the SQL warehouse in Databricks), 503 a missing "
                "secret or an unavailable warehouse. Traces: filter annotation.dataset."
            ),
            threshold=config.handler_5xx_rate_percent,
            comparison=_ABOVE,
        ),
        "stale": _alarm(
            scope,
            "StaleRate",
            metrics.outcome_share("stale"),
            description=(
                f"More than {config.stale_rate_percent}% of data answers were stale for 15 "
                "minutes: refreshes fail or are slow, so users see old data. Check the "
                "warehouse (running? credentials rotated?) and the 'warehouse statements' "
                "widget; stale-if-error answers carry fwd-status in Cache-Status."
            ),
            threshold=config.stale_rate_percent,
            comparison=_ABOVE,
            evaluation_periods=3,
        ),
        "bypass": _alarm(
            scope,
            "BypassRate",
            metrics.outcome_share("bypass"),
            description=(
                f"More than {config.bypass_rate_percent}% of data answers bypassed the cache: "
                "the DynamoDB table is unreachable, so every request runs a warehouse "
                "statement. Check the table's throttles and system errors and the function's "
                "'cache unavailable' log lines; the warehouse carries the load meanwhile."
            ),
            threshold=config.bypass_rate_percent,
            comparison=_ABOVE,
        ),
    }


def _capacity_alarms(
    scope: Construct, config: AlarmConfig, function: lambda_.IFunction, reserved_concurrency: int
) -> dict[str, cloudwatch.Alarm]:
    """Requests giving up on another's statement, and concurrency near the reserved limit."""
    concurrency_limit = reserved_concurrency * config.concurrency_percent / 100
    return {
        "lease_give_ups": _alarm(
            scope,
            "LeaseGiveUps",
            metrics.origin(cache_metrics.GAVE_UP),
            description=(
                f"At least {config.lease_give_ups_per_5_minutes} requests in 5 minutes waited "
                "out their budget for another request's statement and gave up (viewers got "
                "504). A statement is slower than the timeout allows: look for slow "
                "statements in the traces (## statement) and the warehouse's query history."
            ),
            threshold=config.lease_give_ups_per_5_minutes,
        ),
        "concurrency": _alarm(
            scope,
            "ConcurrencyNearLimit",
            # The function's, not the alias's: the reserved limit counts every version, and
            # background refreshes invoke a version directly.
            function.metric(
                "ConcurrentExecutions", statistic="Maximum", period=Duration.minutes(1)
            ),
            description=(
                f"Concurrent executions above {config.concurrency_percent:.0f}% of the reserved "
                f"{reserved_concurrency} for 3 of 5 minutes: throttling (5xx on misses) is near. "
                "Check the edge hit ratio on the dashboard (a cache buster?) and WAF blocks; "
                "raise lambda.reserved_concurrency only if the warehouse can take it."
            ),
            threshold=concurrency_limit,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        ),
    }


def waf_blocks_alarm(
    scope: Construct, *, topic: AlarmTopic, config: AlarmConfig, web_acl_metric: str
) -> cloudwatch.Alarm:
    """Requests WAF blocked, all rules together; WAF's metrics for CloudFront are in us-east-1."""
    alarm = _alarm(
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
