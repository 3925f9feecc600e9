"""Alarms and the encrypted SNS topic they notify; the API stack's alarms on Lambda's and
DynamoDB's own metrics (the handler's are origin_alarms.py, the edge's edge_alarms.py).

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


AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD


def new_alarm(
    scope: Construct,
    construct_id: str,
    metric: cloudwatch.IMetric,
    *,
    description: str,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator = AT_LEAST,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int | None = None,
) -> cloudwatch.Alarm:
    """An alarm as every lakegate alarm is: idle is OK, the description says what to do."""
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
        new_alarm(
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
        new_alarm(
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
        new_alarm(
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
            comparison=ABOVE,
            evaluation_periods=3,
        ),
    ]


def _cache_table_alarms(scope: Construct, table: dynamodb.ITable) -> list[cloudwatch.Alarm]:
    """DynamoDB throttles and system errors on the operations the runtime performs."""
    operations = list(TABLE_OPERATIONS)
    return [
        new_alarm(
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
        new_alarm(
            scope,
            "CacheTableSystemErrors",
            table.metric_system_errors_for_operations(operations=operations, period=FIVE_MINUTES),
            description="DynamoDB returned 5xx to cache requests (the cache fails open). "
            "Check the AWS Health Dashboard for DynamoDB in this region; nothing to roll back.",
            threshold=1,
        ),
    ]
