"""Alarms: Lambda and DynamoDB in the API stack, CloudFront's 5xx rate in us-east-1."""

from __future__ import annotations

from aws_cdk.assertions import Match

from .conftest import Synthesized

API = "Api"
MONITORING = "EdgeMonitoring"


def _alarm(env: Synthesized, role: str, prefix: str) -> dict:
    alarms = env.template(role).find_resources("AWS::CloudWatch::Alarm")
    (alarm,) = (a["Properties"] for name, a in alarms.items() if name.startswith(prefix))
    return alarm


def _notifies(env: Synthesized, role: str, alarm: dict) -> None:
    stack = env.stacks.api if role == API else env.stacks.edge_monitoring
    topic = {"Ref": env.logical_id(role, stack.alarm_topic.topic)}
    assert alarm["AlarmActions"] == [topic]
    assert alarm["OKActions"] == [topic]


def test_api_stack_has_five_alarms(env: Synthesized) -> None:
    env.template(API).resource_count_is("AWS::CloudWatch::Alarm", 5)


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
    # The id comes from the API stack by cross-region reference.
    assert distribution["Value"]["Fn::GetAtt"][0].startswith("ExportsReader")
    assert region == {"Name": "Region", "Value": "Global"}
    assert alarm["Threshold"] == env.config.alarms.cloudfront_5xx_rate_percent
    _notifies(env, MONITORING, alarm)
