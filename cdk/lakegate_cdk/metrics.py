"""The CloudWatch metrics the dashboard draws and the alarms watch, named once.

Three sources, each in its own region:
- the origin's EMF metrics (namespace `Lakegate`, dimension `service=lakegate`), in
  the API region: the cache's outcomes (`cache.metrics`) and the handler's own status
  codes and latencies (`handler.observability`);
- Lambda's and CloudFront's own (`AWS/Lambda` in the API region, `AWS/CloudFront` in
  us-east-1 only, `Region=Global`);
- WAF's (`AWS/WAFV2`, us-east-1 for a CloudFront web ACL, by `WebACL` and `Rule`).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from cache import Outcome
from cache import metrics as cache_metrics
from handler import observability
from lakegate_cdk.config import EDGE_REGION

NAMESPACE = "Lakegate"
SERVICE = {"service": "lakegate"}
ONE_MINUTE = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)

# Every outcome the cache counts once per answer (a background refresh counts as
# CacheRefresh); their sum is the origin's data answers.
OUTCOMES = {
    "hit": cache_metrics.HIT,
    "miss": cache_metrics.MISS,
    "collapsed": cache_metrics.COLLAPSED,
    "stale": cache_metrics.STALE,
    "refresh": cache_metrics.REFRESH,
    "bypass": cache_metrics.BYPASS,
}
# The outcomes whose latency the dashboard draws (handler.observability.latency_metric).
LATENCY_OUTCOMES = (
    *(Outcome.HIT, Outcome.MISS, Outcome.COLLAPSED, Outcome.STALE, Outcome.REFRESHED),
    *(Outcome.STALE_IF_ERROR, Outcome.BYPASS),
)


def origin(
    name: str, *, statistic: str = "Sum", period: Duration = FIVE_MINUTES
) -> cloudwatch.Metric:
    """One of the function's EMF metrics."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map=SERVICE,
        statistic=statistic,
        period=period,
    )


def outcome_share(outcome: str, *, period: Duration = FIVE_MINUTES) -> cloudwatch.MathExpression:
    """Percent of the origin's data answers that had `outcome` (0 with no answers)."""
    using = {f"o_{key}": origin(name, period=period) for key, name in OUTCOMES.items()}
    total = " + ".join(f"FILL(o_{key}, 0)" for key in OUTCOMES)
    return cloudwatch.MathExpression(
        expression=f"IF(({total}) > 0, 100 * FILL(o_{outcome}, 0) / ({total}), 0)",
        using_metrics=using,
        label=f"{outcome} %",
        period=period,
    )


def status_5xx_share(*, period: Duration = FIVE_MINUTES) -> cloudwatch.MathExpression:
    """Percent of the function's own answers that were 5xx (it counts every answer)."""
    return cloudwatch.MathExpression(
        expression="IF(FILL(responses, 0) > 0, 100 * FILL(errors, 0) / responses, 0)",
        using_metrics={
            "responses": origin(observability.RESPONSES, period=period),
            "errors": origin("Status5xx", period=period),
        },
        label="handler 5xx %",
        period=period,
    )


def latency(outcome: Outcome, statistic: str) -> cloudwatch.Metric:
    return origin(
        observability.latency_metric(outcome),
        statistic=statistic,
        period=ONE_MINUTE,
    ).with_(label=f"{outcome} {statistic}")


def cloudfront(distribution_id: str, name: str, *, statistic: str) -> cloudwatch.Metric:
    """A CloudFront metric; these exist only in us-east-1."""
    return cloudwatch.Metric(
        namespace="AWS/CloudFront",
        metric_name=name,
        dimensions_map={"DistributionId": distribution_id, "Region": "Global"},
        statistic=statistic,
        period=ONE_MINUTE,
        region=EDGE_REGION,
    )


def waf_blocked(web_acl: str, rule: str, *, period: Duration = ONE_MINUTE) -> cloudwatch.Metric:
    """Requests the web ACL blocked by `rule` (`ALL`: every rule), us-east-1."""
    return cloudwatch.Metric(
        namespace="AWS/WAFV2",
        metric_name="BlockedRequests",
        dimensions_map={"WebACL": web_acl, "Rule": rule},
        statistic="Sum",
        period=period,
        region=EDGE_REGION,
    )
