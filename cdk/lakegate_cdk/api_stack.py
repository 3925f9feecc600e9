"""The API stack: function, cache storage, secrets, distribution, alarms, outputs.

It lives in the configured region and takes the WAF web ACL and (with a custom
domain) the certificate from the us-east-1 edge security stack through the explicit
hand-off (lakegate_cdk.handoff), and hands its distribution id to us-east-1 the same
way. The function serves through its `live` alias, which CodeDeploy moves to each new
version as a canary (lakegate_cdk.deploys).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Environment, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lakegate_cdk import handoff
from lakegate_cdk.alarms import AlarmTopic, add_api_alarms
from lakegate_cdk.cache_storage import CacheStorage
from lakegate_cdk.config import LakegateConfig
from lakegate_cdk.dashboard import Dashboard
from lakegate_cdk.deploys import CanaryDeployment
from lakegate_cdk.distribution import ApiDistribution, distribution_id_parameter_name
from lakegate_cdk.edge_security_stack import rule_names, waf_metric_name
from lakegate_cdk.function import ApiFunction
from lakegate_cdk.gateway import EdgeGateway, GatewayCode, origin_environment
from lakegate_cdk.origin_alarms import add_origin_alarms
from lakegate_cdk.retention import log_removal_policy
from lakegate_cdk.secrets import Secrets


class ApiStack(Stack):
    """Everything in the API's own region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LakegateConfig,
        gateway: GatewayCode,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"lakegate {config.env_name}: data API (function, cache, CloudFront)",
            termination_protection=config.deploy.termination_protection,
        )
        self.access_logs = self._access_log_bucket(config)
        self.storage = CacheStorage(
            self,
            "Cache",
            overflow_expiry_days=config.result_cache.overflow_expiry_days,
            access_logs=self.access_logs,
        )
        self.secrets = Secrets(self, "Secrets", env_name=config.env_name)
        self.api = self._api_function(config)
        # API keys written by operators (`lakegate keys`), rules by a custom resource at
        # deploy, both read by the edge function: the API function's role gets nothing on it.
        self.gateway = EdgeGateway(self, "Gateway", config=config, gateway=gateway)
        self.edge = self._distribution(config)
        self.distribution_access = self._distribution_access_policy()
        # CloudFront's metrics, and so its alarm, live in us-east-1 (EdgeMonitoring).
        self.handoff = handoff.HandoffWriter(
            self,
            "Handoff",
            env_name=config.env_name,
            region=config.edge_region,
            values={handoff.DISTRIBUTION_ID: self.edge.distribution.distribution_id},
        )
        self.alarm_topic = AlarmTopic(self, "Alarms", email=config.alarms.email)
        self.alarms = self._api_alarms(config)
        self.origin_alarms = self._origin_alarms(config)
        self.deployment = self._canary_deployment(config)
        self.dashboard = self._dashboard(config)
        self._outputs(config)

    def _api_function(self, config: LakegateConfig) -> ApiFunction:
        """The function, configured through its environment, with its grants."""
        api = ApiFunction(
            self,
            "Api",
            config=config,
            environment={
                "POWERTOOLS_SERVICE_NAME": "lakegate",
                "POWERTOOLS_METRICS_NAMESPACE": "Lakegate",
                "POWERTOOLS_LOG_LEVEL": config.function.log_level,
                "DATABRICKS_HOST": config.databricks.host,
                "DATABRICKS_WAREHOUSE_ID": config.databricks.warehouse_id,
                "DATABRICKS_SECRET_ARN": self.secrets.databricks.secret_arn,
                "LAKEGATE_ADMIN_TOKEN_SECRET_ARN": self.secrets.admin_token.secret_arn,
                "LAKEGATE_CACHE_TABLE": self.storage.table.table_name,
                "LAKEGATE_CACHE_BUCKET": self.storage.bucket.bucket_name,
                # A name fixed at synth time, not the id: see ApiDistribution.
                "LAKEGATE_DISTRIBUTION_ID_PARAMETER": distribution_id_parameter_name(
                    config.env_name
                ),
                # While the cache table cannot count, each container holds to its part
                # of the budgets: one of at most this many.
                "LAKEGATE_MAX_CONTAINERS": str(config.function.reserved_concurrency),
                "LAKEGATE_ROLLUP_MEMORY_BYTES": str(config.function.rollup_memory_mb * 1024 * 1024),
                # The same gateway section the edge function's rules come from.
                **origin_environment(config.gateway),
            },
        )
        self.storage.grant_runtime(api.role)
        self.secrets.grant_read(api.role)
        return api

    def _distribution(self, config: LakegateConfig) -> ApiDistribution:
        """CloudFront in front of the function's URL, with the edge security stack's ACL."""
        env_name = config.env_name
        # Written by the edge security stack in this region; resolved on every deploy.
        certificate = (
            acm.Certificate.from_certificate_arn(
                self, "Certificate", handoff.read(self, env_name, handoff.CERTIFICATE_ARN)
            )
            if config.domain is not None
            else None
        )
        return ApiDistribution(
            self,
            "Edge",
            config=config,
            function_url=self.api.url,
            gateway=self.gateway,
            web_acl_arn=handoff.read(self, env_name, handoff.WEB_ACL_ARN),
            log_bucket=self.access_logs,
            certificate=certificate,
        )

    def _api_alarms(self, config: LakegateConfig) -> list[cloudwatch.Alarm]:
        return add_api_alarms(
            self,
            topic=self.alarm_topic,
            config=config.alarms,
            function=self.api.function,
            timeout_seconds=config.function.timeout_seconds,
            table=self.storage.table,
        )

    def _origin_alarms(self, config: LakegateConfig) -> dict[str, cloudwatch.Alarm]:
        return add_origin_alarms(
            self,
            topic=self.alarm_topic,
            config=config.alarms,
            function=self.api.function,
            reserved_concurrency=config.function.reserved_concurrency,
        )

    def _canary_deployment(self, config: LakegateConfig) -> CanaryDeployment:
        return CanaryDeployment(
            self,
            "Deploy",
            env_name=config.env_name,
            alias=self.api.alias,
            config=config.deploy,
            # What rolls a canary back: the new version failing invocations, or answering 5xx.
            rollback_alarms=[self.alarms[0], self.origin_alarms["handler_5xx"]],
        )

    def _dashboard(self, config: LakegateConfig) -> Dashboard:
        env_name = config.env_name
        return Dashboard(
            self,
            "Dashboard",
            env_name=env_name,
            distribution_id=self.edge.distribution.distribution_id,
            function=self.api.function,
            reserved_concurrency=config.function.reserved_concurrency,
            web_acl_metric=waf_metric_name(env_name, "web-acl"),
            waf_rules={rule: waf_metric_name(env_name, rule) for rule in rule_names(config)},
        )

    def _access_log_bucket(self, config: LakegateConfig) -> s3.Bucket:
        """CloudFront standard logs and the overflow bucket's S3 server access logs."""
        removal = log_removal_policy(config)
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # CloudFront standard logging still writes through the bucket ACL.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs", expiration=Duration.days(config.log_retention_days)
                )
            ],
            removal_policy=removal,
            auto_delete_objects=not config.retain_logs,
        )
        return bucket

    def _distribution_access_policy(self) -> iam.Policy:
        """`cloudfront:CreateInvalidation` on this distribution, `ssm:GetParameter` on its id.

        Why a separate policy: CDK makes the function depend on its role's default policy.
        A statement there naming the distribution would close the loop function ->
        policy -> distribution -> Function URL -> function, which CloudFormation rejects.
        A standalone policy attached to the same role is created after the distribution,
        and nothing depends on it.
        """
        edge = self.edge
        distribution_arn = self.format_arn(
            service="cloudfront",
            region="",
            resource="distribution",
            resource_name=edge.distribution.distribution_id,
        )
        return iam.Policy(
            self,
            "DistributionAccess",
            roles=[self.api.role],
            statements=[
                iam.PolicyStatement(
                    sid="InvalidateOwnDistribution",
                    actions=["cloudfront:CreateInvalidation"],
                    resources=[distribution_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadDistributionId",
                    actions=["ssm:GetParameter"],
                    resources=[edge.distribution_id_parameter.parameter_arn],
                ),
            ],
        )

    def _outputs(self, config: LakegateConfig) -> None:
        env_name = config.env_name
        distribution = self.edge.distribution
        outputs = {
            "DistributionDomainName": (
                distribution.distribution_domain_name,
                "CloudFront domain: https://<this>/v1/<dataset>",
            ),
            "DistributionId": (distribution.distribution_id, "CloudFront distribution id"),
            "FunctionUrl": (self.api.url.url, "Function URL (IAM auth: reachable via CloudFront)"),
            "CacheTableName": (self.storage.table.table_name, "DynamoDB result cache table"),
            "CacheBucketName": (self.storage.bucket.bucket_name, "S3 overflow bucket"),
            "DatabricksSecretArn": (
                self.secrets.databricks.secret_arn,
                "Set the Databricks credentials here (put-secret-value)",
            ),
            "AdminTokenSecretArn": (
                self.secrets.admin_token.secret_arn,
                "Generated admin token (get-secret-value)",
            ),
            "AlarmTopicArn": (self.alarm_topic.topic.topic_arn, "SNS topic the alarms notify"),
            "ApiKeyStoreArn": (
                self.gateway.key_store.key_value_store_arn,
                "CloudFront KeyValueStore of API keys (lakegate keys writes them) and edge rules",
            ),
            "ApiKeyStoreId": (
                self.gateway.key_store.key_value_store_id,
                "Id of the API key store",
            ),
            "GatewayFunctionName": (
                self.gateway.function.function_name,
                "CloudFront Function validating the data requests of every dataset",
            ),
            "GatewayRulesTag": (
                self.gateway.tag,
                "The edge rules' version the function reads (key prefix rules/<tag>)",
            ),
            "LiveAlias": (self.api.alias.function_arn, "The alias the Function URL serves"),
            "DeploymentGroupName": (
                self.deployment.group.deployment_group_name,
                "CodeDeploy deployment group of the canary (aws deploy list-deployments)",
            ),
            "DashboardName": (
                f"lakegate-{env_name}",
                "CloudWatch dashboard (console: CloudWatch > Dashboards)",
            ),
        }
        if config.domain is not None:
            outputs["ApiUrl"] = (f"https://{config.domain.name}", "Custom domain of the API")
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
