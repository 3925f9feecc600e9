"""The handler's own alarms, on what it publishes (EMF): its 5xx, stale and bypass shares,
lease give-ups, and concurrency near the reserved limit. Each description says what to do.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cache import metrics as cache_metrics
from lakegate_cdk import metrics
from lakegate_cdk.alarms import ABOVE, AlarmTopic, new_alarm
from lakegate_cdk.config import AlarmConfig


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
        "handler_5xx": new_alarm(
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
            comparison=ABOVE,
        ),
        "stale": new_alarm(
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
            comparison=ABOVE,
            evaluation_periods=3,
        ),
        "bypass": new_alarm(
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
            comparison=ABOVE,
        ),
    }


def _capacity_alarms(
    scope: Construct, config: AlarmConfig, function: lambda_.IFunction, reserved_concurrency: int
) -> dict[str, cloudwatch.Alarm]:
    """Requests giving up on another's statement, and concurrency near the reserved limit."""
    concurrency_limit = reserved_concurrency * config.concurrency_percent / 100
    return {
        "lease_give_ups": new_alarm(
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
        "concurrency": new_alarm(
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
