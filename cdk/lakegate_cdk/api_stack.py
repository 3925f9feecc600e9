"""The API stack: function, cache storage, secrets, distribution, alarms, outputs.

It lives in the configured region and takes the WAF web ACL and (with a custom
domain) the certificate from the us-east-1 edge security stack by cross-region
reference.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Environment, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lakegate_cdk.alarms import AlarmTopic, add_api_alarms
from lakegate_cdk.cache_storage import CacheStorage
from lakegate_cdk.config import LakegateConfig
from lakegate_cdk.distribution import ApiDistribution, distribution_id_parameter_name
from lakegate_cdk.function import ApiFunction
from lakegate_cdk.gateway import EdgeGateway, origin_environment
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
        gateway_code: str,
        web_acl_arn: str,
        certificate: acm.ICertificate | None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            cross_region_references=True,
            description=f"lakegate {config.env_name}: data API (function, cache, CloudFront)",
        )
        self.access_logs = self._access_log_bucket(config)
        self.storage = CacheStorage(
            self,
            "Cache",
            overflow_expiry_days=config.result_cache.overflow_expiry_days,
            access_logs=self.access_logs,
        )
        self.secrets = Secrets(self, "Secrets", env_name=config.env_name)
        self.api = ApiFunction(
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
                # The same gateway section the edge function's rules come from.
                **origin_environment(config.gateway),
            },
        )
        self.storage.grant_runtime(self.api.role)
        self.secrets.grant_read(self.api.role)

        # Written by operators (`lakegate keys`), read by the edge function only: the
        # Lambda function's role gets nothing on it.
        self.gateway = EdgeGateway(self, "Gateway", env_name=config.env_name, code=gateway_code)
        self.edge = ApiDistribution(
            self,
            "Edge",
            config=config,
            function_url=self.api.url,
            gateway=self.gateway,
            web_acl_arn=web_acl_arn,
            log_bucket=self.access_logs,
            certificate=certificate,
        )
        self.distribution_access = self._distribution_access_policy()

        self.alarm_topic = AlarmTopic(self, "Alarms", email=config.alarms.email)
        add_api_alarms(
            self,
            topic=self.alarm_topic,
            config=config.alarms,
            function=self.api.function,
            timeout_seconds=config.function.timeout_seconds,
            table=self.storage.table,
        )
        self._outputs(config)

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
                "CloudFront KeyValueStore of API keys (lakegate keys writes it)",
            ),
            "ApiKeyStoreId": (
                self.gateway.key_store.key_value_store_id,
                "Id of the API key store",
            ),
            "GatewayFunctionName": (
                self.gateway.function.function_name,
                "CloudFront Function validating data requests",
            ),
        }
        if config.domain is not None:
            outputs["ApiUrl"] = (f"https://{config.domain.name}", "Custom domain of the API")
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
