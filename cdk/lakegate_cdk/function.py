"""The API function: a container image built from `handler/` and `cache/`, behind a Function URL.

A zip would not fit: polars alone is ~170 MB unzipped against Lambda's 250 MB limit
for a function and its layers, so the function ships as an arm64 image (10 GB limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import ArnFormat, Duration, IgnoreMode, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_ecr_assets import Platform
from constructs import Construct

from lakegate_cdk.config import LakegateConfig
from lakegate_cdk.nag import acknowledge
from lakegate_cdk.retention import log_removal_policy, log_retention

REPO_ROOT = Path(__file__).resolve().parents[2]
LIVE_ALIAS = "live"
DOCKERFILE = "cdk/lambda/Dockerfile"
LOCK_FILE = "cdk/lambda/requirements.lock"

# The build context is the repository root, but the image (and so the asset hash) must
# depend on runtime files only: docker-ignore everything, then re-admit the Dockerfile,
# the lock file of the runtime dependencies (`make lock`), handler/ and cache/.
IMAGE_CONTEXT_EXCLUDE = (
    "*",
    "!" + DOCKERFILE,
    "!" + LOCK_FILE,
    "!handler",
    "!cache",
    "**/__pycache__",
    "**/*.pyc",
    "**/.mypy_cache",
    "**/.pytest_cache",
)


class ApiFunction(Construct):
    """The Lambda function, its role, its log group and its IAM-authenticated Function URL."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LakegateConfig,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention(config.log_retention_days),
            removal_policy=log_removal_policy(config),
        )
        # Named, so the role's policy can name it (_allow_background_refresh): a grant on
        # the function's own ARN would make its role's policy and the function depend on
        # each other.
        self.function_name = f"lakegate-{config.env_name}-api"
        self.role = self._role(config)
        self._allow_background_refresh()
        self.function = self._function(config, environment)
        self.version, self.alias = self._live_alias()
        self.url = self._function_url()

    def _role(self, config: LakegateConfig) -> iam.Role:
        # An explicit role instead of CDK's default one, which would attach the managed
        # AWSLambdaBasicExecutionRole (logs:* on every log group in the account).
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"lakegate {config.env_name} API function",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        return role

    def _allow_background_refresh(self) -> None:
        # Stale entries are refreshed by an asynchronous invocation of the same function
        # version (handler/refresh.py): the stale answer goes out at once.
        own_arn = Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=self.function_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RefreshInTheBackground",
                actions=["lambda:InvokeFunction"],
                resources=[own_arn, f"{own_arn}:*"],
            )
        )
        stack = Stack.of(self)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:"
            f"{stack.region}:{stack.account}:function:{self.function_name}:*]",
            "Only this function's own versions: a background refresh invokes the version it "
            "runs as (AWS_LAMBDA_FUNCTION_VERSION), which is not known at synthesis.",
        )

    def _function(
        self, config: LakegateConfig, environment: Mapping[str, str]
    ) -> lambda_.DockerImageFunction:
        fn_config = config.function
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            function_name=self.function_name,
            description=f"lakegate {config.env_name}: cached read-only data API",
            code=lambda_.DockerImageCode.from_image_asset(
                directory=str(REPO_ROOT),
                file=DOCKERFILE,
                platform=Platform.LINUX_ARM64,
                exclude=list(IMAGE_CONTEXT_EXCLUDE),
                ignore_mode=IgnoreMode.DOCKER,
                cmd=["handler.app.lambda_handler"],
            ),
            architecture=lambda_.Architecture.ARM_64,
            memory_size=fn_config.memory_mb,
            timeout=Duration.seconds(fn_config.timeout_seconds),
            reserved_concurrent_executions=fn_config.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            environment=dict(environment),
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no "
            "resource-level permissions, so AWS requires Resource '*' for them.",
        )
        return function

    def _live_alias(self) -> tuple[lambda_.Version, lambda_.Alias]:
        # Every deploy publishes a version (the logical id follows the image and the
        # configuration); `live` is what the Function URL serves, and CodeDeploy moves
        # it to a new version gradually (lakegate_cdk.deploys). Old versions are kept:
        # they are what a rollback returns to.
        version = self.function.current_version
        alias = lambda_.Alias(
            self,
            "Live",
            alias_name=LIVE_ALIAS,
            version=version,
            description="The version the Function URL serves; CodeDeploy shifts it",
        )
        return version, alias

    def _function_url(self) -> lambda_.FunctionUrl:
        # AWS_IAM auth: only requests signed by CloudFront's origin access control (which
        # gets lambda:InvokeFunctionUrl scoped to our distribution) reach the function.
        # On the alias, not the function: a URL on the function would serve $LATEST,
        # every new version to all traffic at once.
        return self.alias.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.AWS_IAM,
            invoke_mode=lambda_.InvokeMode.BUFFERED,
        )
