"""Alarms: Lambda and DynamoDB in the API stack, CloudFront's 5xx rate in us-east-1."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from .conftest import Synthesized

API = "Api"
MONITORING = "EdgeMonitoring"


def _alarm(env: Synthesized, role: str, prefix: str) -> dict[str, Any]:
    alarms = env.template(role).find_resources("AWS::CloudWatch::Alarm")
    alarm: dict[str, Any]
    (alarm,) = (a["Properties"] for name, a in alarms.items() if name.startswith(prefix))
    return alarm


def _notifies(env: Synthesized, role: str, alarm: dict[str, Any]) -> None:
    stack = env.stacks.api if role == API else env.stacks.edge_monitoring
    topic = {"Ref": env.logical_id(role, stack.alarm_topic.topic)}
    assert alarm["AlarmActions"] == [topic]
    assert alarm["OKActions"] == [topic]


def test_api_stack_has_ten_alarms(env: Synthesized) -> None:
    env.template(API).resource_count_is("AWS::CloudWatch::Alarm", 10)


def test_lambda_errors(env: Synthesized) -> None:
    alarm = _alarm(env, API, "LambdaErrors")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/Lambda",
        "Errors",
        "Sum",
    )
    assert alarm["Threshold"] == env.config.alarms.lambda_errors_per_5_minutes
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": env.logical_id(API, env.stacks.api.api.function)}}
    ]
    _notifies(env, API, alarm)


def test_lambda_throttles(env: Synthesized) -> None:
    alarm = _alarm(env, API, "LambdaThrottles")
    assert (alarm["MetricName"], alarm["Threshold"]) == ("Throttles", 1)
    _notifies(env, API, alarm)


def test_lambda_p99_duration_against_the_timeout(env: Synthesized) -> None:
    alarm = _alarm(env, API, "LambdaDurationP99")
    assert (alarm["MetricName"], alarm["ExtendedStatistic"]) == ("Duration", "p99")
    assert alarm["Threshold"] == env.config.function.timeout_seconds * 1000 * 0.8
    _notifies(env, API, alarm)


def test_dynamodb_throttles_and_system_errors(env: Synthesized) -> None:
    table = {"Ref": env.logical_id(API, env.stacks.api.storage.table)}
    for prefix, metric in (
        ("CacheTableThrottles", "ThrottledRequests"),
        ("CacheTableSystemErrors", "SystemErrors"),
    ):
        alarm = _alarm(env, API, prefix)
        stats = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
        assert {m["MetricName"] for m in stats} == {metric}
        assert all({"Name": "TableName", "Value": table} in m["Dimensions"] for m in stats)
        operations = {
            d["Value"] for m in stats for d in m["Dimensions"] if d["Name"] == "Operation"
        }
        assert operations == {"GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem"}
        _notifies(env, API, alarm)


def test_alarm_topic_is_encrypted_tls_only_and_open_to_cloudwatch(env: Synthesized) -> None:
    for role, stack in ((API, env.stacks.api), (MONITORING, env.stacks.edge_monitoring)):
        template = env.template(role)
        key = env.logical_id(role, stack.alarm_topic.key)
        topic = {"Ref": env.logical_id(role, stack.alarm_topic.topic)}
        template.has_resource_properties(
            "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}
        )
        template.has_resource_properties(
            "AWS::KMS::Key",
            {
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Statement": Match.array_with(
                        [
                            {
                                "Sid": "AllowCloudWatchAlarmsToPublish",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Resource": "*",
                            }
                        ]
                    )
                },
            },
        )
        template.has_resource_properties(
            "AWS::SNS::TopicPolicy",
            {
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Sid": "AllowPublishThroughSSLOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "sns:Publish",
                            "Resource": topic,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                        {
                            "Sid": "AllowCloudWatchAlarmsOfThisAccount",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": topic,
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": env.config.account},
                                "ArnLike": {"aws:SourceArn": Match.any_value()},
                            },
                        },
                    ],
                    "Version": "2012-10-17",
                }
            },
        )
        template.has_resource_properties(
            "AWS::SNS::Subscription",
            {"Protocol": "email", "Endpoint": env.config.alarms.email, "TopicArn": topic},
        )


def test_cloudfront_5xx_rate_alarm_lives_in_us_east_1(env: Synthesized) -> None:
    assert env.stacks.edge_monitoring.region == "us-east-1"
    env.template(API).resource_properties_count_is(
        "AWS::CloudWatch::Alarm", {"Namespace": "AWS/CloudFront"}, 0
    )
    alarm = _alarm(env, MONITORING, "CloudFront5xxRate")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/CloudFront",
        "5xxErrorRate",
        "Average",
    )
    distribution, region = alarm["Dimensions"]
    assert distribution["Name"] == "DistributionId"
    # The id comes from the API stack's hand-off parameter in us-east-1.
    parameter = env.raw(MONITORING)["Parameters"][distribution["Value"]["Ref"]]
    assert parameter["Default"] == f"/lakegate/{env.config.env_name}/handoff/distribution-id"
    assert region == {"Name": "Region", "Value": "Global"}
    assert alarm["Threshold"] == env.config.alarms.cloudfront_5xx_rate_percent
    _notifies(env, MONITORING, alarm)


# --- the origin's own view (EMF) and WAF ----------------------------------------------


def _expression_alarm(
    env: Synthesized, prefix: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The alarm, and its metric queries by id (the expression is the one without a metric)."""
    alarm = _alarm(env, API, prefix)
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    return alarm, queries


def _emf(query: dict[str, Any]) -> tuple[str, str, list[Any]]:
    metric = query["MetricStat"]["Metric"]
    return metric["Namespace"], metric["MetricName"], metric["Dimensions"]


SERVICE = [{"Name": "service", "Value": "lakegate"}]


def test_handler_5xx_rate_from_its_own_status_metric(env: Synthesized) -> None:
    alarm, queries = _expression_alarm(env, "Handler5xxRate")
    assert _emf(queries["responses"]) == ("Lakegate", "Responses", SERVICE)
    assert _emf(queries["errors"]) == ("Lakegate", "Status5xx", SERVICE)
    (expression,) = (q for q in queries.values() if "Expression" in q)
    assert "100 * FILL(errors, 0) / responses" in expression["Expression"]
    assert alarm["Threshold"] == env.config.alarms.handler_5xx_rate_percent
    _notifies(env, API, alarm)


def test_stale_and_bypass_shares_of_the_cache_outcomes(env: Synthesized) -> None:
    for prefix, outcome, threshold in (
        ("StaleRate", "CacheStaleServed", env.config.alarms.stale_rate_percent),
        ("BypassRate", "CacheBypass", env.config.alarms.bypass_rate_percent),
    ):
        alarm, queries = _expression_alarm(env, prefix)
        names = {_emf(q)[1] for q in queries.values() if "MetricStat" in q}
        assert outcome in names and "CacheHit" in names and "CacheMiss" in names
        assert alarm["Threshold"] == threshold
        _notifies(env, API, alarm)


def test_lease_give_ups(env: Synthesized) -> None:
    alarm = _alarm(env, API, "LeaseGiveUps")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Lakegate", "LeaseWaitGaveUp")
    assert alarm["Threshold"] == env.config.alarms.lease_give_ups_per_5_minutes
    _notifies(env, API, alarm)


def test_concurrency_near_the_reserved_limit(env: Synthesized) -> None:
    alarm = _alarm(env, API, "ConcurrencyNearLimit")
    assert (alarm["MetricName"], alarm["Statistic"]) == ("ConcurrentExecutions", "Maximum")
    reserved = env.config.function.reserved_concurrency
    assert alarm["Threshold"] == reserved * env.config.alarms.concurrency_percent / 100
    _notifies(env, API, alarm)


def test_waf_block_spike_alarm_lives_in_us_east_1(env: Synthesized) -> None:
    alarm = _alarm(env, MONITORING, "WafBlockSpike")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/WAFV2",
        "BlockedRequests",
        "Sum",
    )
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "WebACL": f"lakegate-{env.config.env_name}-web-acl",
        "Rule": "ALL",
    }
    assert alarm["Threshold"] == env.config.alarms.waf_blocks_per_5_minutes
    _notifies(env, MONITORING, alarm)


def test_every_alarm_says_what_to_do(env: Synthesized) -> None:
    for role in (API, MONITORING):
        for alarm in env.template(role).find_resources("AWS::CloudWatch::Alarm").values():
            description = alarm["Properties"]["AlarmDescription"]
            # A symptom and at least one instruction (check, look, read, raise, …).
            assert len(description) > 120, description
