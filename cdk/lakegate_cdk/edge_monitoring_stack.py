"""The us-east-1 alarm on CloudFront's 5xx rate.

CloudFront publishes its metrics in us-east-1 only, and an alarm can watch only
metrics of its own region, so this alarm cannot live in the API stack unless that
stack happens to be in us-east-1. It is deployed after the API stack and reads the
distribution id from it by cross-region reference.
"""

from __future__ import annotations

from aws_cdk import Environment, Stack
from constructs import Construct

from lakegate_cdk.alarms import AlarmTopic, cloudfront_5xx_rate_alarm
from lakegate_cdk.config import LakegateConfig


class EdgeMonitoringStack(Stack):
    """CloudFront 5xx-rate alarm and its own (us-east-1) alarm topic."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: LakegateConfig, distribution_id: str
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.edge_region),
            cross_region_references=True,
            description=f"lakegate {config.env_name}: CloudFront alarms (us-east-1)",
        )
        self.alarm_topic = AlarmTopic(self, "Alarms", email=config.alarms.email)
        self.cloudfront_5xx = cloudfront_5xx_rate_alarm(
            self, topic=self.alarm_topic, config=config.alarms, distribution_id=distribution_id
        )
