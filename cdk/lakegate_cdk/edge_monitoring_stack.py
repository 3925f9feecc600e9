"""The us-east-1 alarms: CloudFront's 5xx rate and WAF block spikes.

CloudFront and a CloudFront web ACL publish their metrics in us-east-1 only, and an
alarm can watch only metrics of its own region, so these alarms cannot live in the
API stack unless that stack happens to be in us-east-1. It is deployed after the API
stack and reads the distribution id from the hand-off parameter the API stack writes
here (lakegate_cdk.handoff).
"""

from __future__ import annotations

from aws_cdk import Environment, Stack
from constructs import Construct

from lakegate_cdk import handoff
from lakegate_cdk.alarms import AlarmTopic
from lakegate_cdk.config import LakegateConfig
from lakegate_cdk.edge_alarms import cloudfront_5xx_rate_alarm, waf_blocks_alarm
from lakegate_cdk.edge_security_stack import waf_metric_name


class EdgeMonitoringStack(Stack):
    """CloudFront 5xx-rate and WAF block alarms, and their own (us-east-1) alarm topic."""

    def __init__(self, scope: Construct, construct_id: str, *, config: LakegateConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.edge_region),
            description=f"lakegate {config.env_name}: CloudFront and WAF alarms (us-east-1)",
            termination_protection=config.deploy.termination_protection,
        )
        distribution_id = handoff.read(self, config.env_name, handoff.DISTRIBUTION_ID)
        self.alarm_topic = AlarmTopic(self, "Alarms", email=config.alarms.email)
        self.cloudfront_5xx = cloudfront_5xx_rate_alarm(
            self, topic=self.alarm_topic, config=config.alarms, distribution_id=distribution_id
        )
        self.waf_blocks = waf_blocks_alarm(
            self,
            topic=self.alarm_topic,
            config=config.alarms,
            web_acl_metric=waf_metric_name(config.env_name, "web-acl"),
        )
