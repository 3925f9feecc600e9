"""The operator's CloudWatch dashboard, `lakegate-<env>`: what users see, tier by tier.

Rows, top to bottom, in the order a request meets them (how to read it: the README's
runbook):

    edge      requests and CloudFront's cache-hit rate (us-east-1 metrics, with the
              distribution's additional metrics on); WAF blocks by rule
    origin    the function's answers by cache outcome and its hit ratio (EMF);
              warehouse statements per minute
    latency   p50 and p99 of the function's answers, by cache outcome
    function  its own status codes; throttles and concurrency against the reserved limit
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cache import metrics as cache_metrics
from lakegate_cdk import metrics

WIDTH = 24  # the dashboard grid's width
THIRD, HALF = WIDTH // 3, WIDTH // 2
# The function's answers by class, and each 5xx the error table gives by its own code.
STATUS_CODES = (
    "Status2xx", "Status3xx", "Status4xx", "Status500", "Status502", "Status503", "Status504"
)  # fmt: skip


class Dashboard(Construct):
    """The dashboard; every widget names where its numbers come from."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        distribution_id: str,
        function: lambda_.IFunction,
        reserved_concurrency: int,
        web_acl_metric: str,
        waf_rules: Mapping[str, str],
    ) -> None:
        """`waf_rules`: each rule's name and its metric (the `Rule` dimension)."""
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"lakegate-{env_name}",
            default_interval=Duration.hours(3),
        )
        # One call: its widgets go left to right, wrapping at the grid's width, which
        # makes the module docstring's rows (each row's widths add up to WIDTH).
        self.dashboard.add_widgets(
            _title(env_name),
            *_edge_row(distribution_id, web_acl_metric, waf_rules),
            *_origin_row(),
            *_latency_row(),
            *_function_row(function, reserved_concurrency),
        )


def _title(env_name: str) -> cloudwatch.IWidget:
    return cloudwatch.TextWidget(
        markdown=(
            f"# lakegate {env_name}\nTop to bottom as a request travels: edge "
            "(CloudFront, WAF; us-east-1) → origin (the function's cache) → "
            "warehouse. Runbook: docs/deploying.md, *Runbook*."
        ),
        width=WIDTH,
        height=2,
    )


def _edge_row(
    distribution_id: str, web_acl_metric: str, waf_rules: Mapping[str, str]
) -> list[cloudwatch.IWidget]:
    """CloudFront's requests and cache-hit rate, WAF's blocks by rule."""
    edge_requests = metrics.cloudfront(distribution_id, "Requests", statistic="Sum")
    return [
        cloudwatch.GraphWidget(
            title="Edge: requests per minute (CloudFront)",
            left=[edge_requests.with_(label="viewer requests")],
            width=THIRD,
        ),
        cloudwatch.GraphWidget(
            title="Edge: cache-hit rate % (CloudFront)",
            left=[metrics.cloudfront(distribution_id, "CacheHitRate", statistic="Average")],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            width=THIRD,
        ),
        cloudwatch.GraphWidget(
            title="Edge: WAF blocks by rule",
            left=[
                metrics.waf_blocked(web_acl_metric, metric).with_(label=rule)
                for rule, metric in waf_rules.items()
            ],
            stacked=True,
            width=THIRD,
        ),
    ]


def _origin_row() -> list[cloudwatch.IWidget]:
    """The function's answers by cache outcome, its hit ratio, and warehouse statements."""
    return [
        cloudwatch.GraphWidget(
            title="Origin: data answers by cache outcome (per minute)",
            left=[
                metrics.origin(name, period=metrics.ONE_MINUTE).with_(label=outcome)
                for outcome, name in metrics.OUTCOMES.items()
            ],
            stacked=True,
            width=THIRD,
        ),
        cloudwatch.GraphWidget(
            title="Origin: hit ratio %, stale %, bypass %",
            left=[
                metrics.outcome_share(outcome, period=metrics.ONE_MINUTE)
                for outcome in ("hit", "stale", "bypass")
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            width=THIRD,
        ),
        cloudwatch.GraphWidget(
            title="Warehouse: statements per minute",
            left=[
                metrics.origin(cache_metrics.STATEMENTS, period=metrics.ONE_MINUTE),
                metrics.origin(cache_metrics.REFUSED, period=metrics.ONE_MINUTE).with_(
                    label="refused (budget spent)"
                ),
                metrics.origin(cache_metrics.GAVE_UP, period=metrics.ONE_MINUTE).with_(
                    label="lease give-ups"
                ),
                metrics.origin(cache_metrics.ROLLUP_FETCHED, period=metrics.ONE_MINUTE).with_(
                    label="of which roll-ups"
                ),
            ],
            # What the roll-ups spare the warehouse: misses answered with no statement.
            right=[
                metrics.origin(cache_metrics.ROLLUP_DERIVED, period=metrics.ONE_MINUTE).with_(
                    label="answers derived from roll-ups"
                )
            ],
            width=THIRD,
        ),
    ]


def _latency_row() -> list[cloudwatch.IWidget]:
    """p50 and p99 of the function's answers, by cache outcome."""
    return [
        cloudwatch.GraphWidget(
            title="Latency p50 by cache outcome (ms)",
            left=[metrics.latency(outcome, "p50") for outcome in metrics.LATENCY_OUTCOMES],
            width=HALF,
        ),
        cloudwatch.GraphWidget(
            title="Latency p99 by cache outcome (ms)",
            left=[metrics.latency(outcome, "p99") for outcome in metrics.LATENCY_OUTCOMES],
            width=HALF,
        ),
    ]


def _function_row(
    function: lambda_.IFunction, reserved_concurrency: int
) -> list[cloudwatch.IWidget]:
    """The function's own status codes; throttles and concurrency against the reserved limit."""
    return [
        cloudwatch.GraphWidget(
            title="Function: its own status codes (per minute)",
            left=[
                metrics.origin(name, period=metrics.ONE_MINUTE).with_(label=name)
                for name in STATUS_CODES
            ],
            right=[metrics.status_5xx_share(period=metrics.ONE_MINUTE)],
            stacked=False,
            width=HALF,
        ),
        cloudwatch.GraphWidget(
            title=f"Function: concurrency against the reserved {reserved_concurrency}",
            left=[
                function.metric(
                    "ConcurrentExecutions", statistic="Maximum", period=metrics.ONE_MINUTE
                ),
                function.metric_throttles(statistic="Sum", period=metrics.ONE_MINUTE),
                function.metric_errors(statistic="Sum", period=metrics.ONE_MINUTE),
            ],
            left_annotations=[
                cloudwatch.HorizontalAnnotation(
                    value=reserved_concurrency, label="reserved concurrency"
                )
            ],
            width=HALF,
        ),
    ]
