"""Safe deploys: CodeDeploy shifts the `live` alias to a new version as a canary.

A deploy that changes the function publishes a new version; instead of pointing
`live` (the Function URL's target) at it at once, CloudFormation hands the alias
update to CodeDeploy, which sends `deploy.canary_percent` of requests to the new
version for `deploy.canary_minutes`, then all of them. If any rollback alarm fires
meanwhile, CodeDeploy points `live` back at the old version and the stack update fails
(CloudFormation then rolls the rest of the stack back too).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from lakegate_cdk.config import DeployConfig
from lakegate_cdk.nag import acknowledge


class CanaryDeployment(Construct):
    """The deployment config (canary share and interval) and the alias's deployment group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        alias: lambda_.Alias,
        config: DeployConfig,
        rollback_alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = codedeploy.LambdaDeploymentConfig(
            self,
            "Canary",
            deployment_config_name=(
                f"lakegate-{env_name}-canary-{config.canary_percent}pct-{config.canary_minutes}min"
            ),
            traffic_routing=codedeploy.TimeBasedCanaryTrafficRouting(
                percentage=config.canary_percent,
                interval=Duration.minutes(config.canary_minutes),
            ),
        )
        self.group = codedeploy.LambdaDeploymentGroup(
            self,
            "Group",
            deployment_group_name=f"lakegate-{env_name}-api",
            alias=alias,
            deployment_config=self.config,
            alarms=list(rollback_alarms),
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        acknowledge(
            self.group,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSCodeDeployRoleForLambdaLimited]",
            "CodeDeploy's own service role for Lambda canaries: the AWS managed policy is the "
            "documented, narrowest one (alias updates, reading our alarms, invoking hooks "
            "named CodeDeployHook_*); AWS maintains it as CodeDeploy's needs change.",
        )
