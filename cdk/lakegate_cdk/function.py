"""The API function, built from `handler/` and `cache/`, behind a Function URL.

Packaged per environment (`lambda.packaging`, cdk/README.md "Packaging"): an arm64
container image (the default; 10 GB limit, built by Docker at deploy), or a zip on the
managed Python 3.12 runtime with SnapStart, which snapshots only zips. The zip must fit
Lambda's 250 MB unzipped: polars' runtime takes ~160 MB of it, the whole package ~209 MB
with botocore's data trimmed (lakegate_cdk.packaging checks it at every bundling).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import (
    ArnFormat,
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    IgnoreMode,
    Stack,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_ecr_assets import Platform
from constructs import Construct

from lakegate_cdk.config import LakegateConfig
from lakegate_cdk.nag import acknowledge
from lakegate_cdk.packaging import LocalZipBundling
from lakegate_cdk.retention import log_removal_policy, log_retention

REPO_ROOT = Path(__file__).resolve().parents[2]
LIVE_ALIAS = "live"
DOCKERFILE = "cdk/lambda/Dockerfile"
LOCK_FILE = "cdk/lambda/requirements.lock"
TRIM_SCRIPT = "cdk/lakegate_cdk/trim.py"  # stdlib alone: the image's build runs it

# The build context is the repository root, but the image (and so the asset hash) must
# depend on runtime files only: docker-ignore everything, then re-admit the Dockerfile,
# the lock file of the runtime dependencies (`make lock`), the script that trims
# botocore's data after installing them, handler/ and cache/.
IMAGE_CONTEXT_EXCLUDE = (
    "*",
    "!" + DOCKERFILE,
    "!" + LOCK_FILE,
    "!" + TRIM_SCRIPT,
    "!handler",
    "!cache",
    "**/__pycache__",
    "**/*.pyc",
    "**/.mypy_cache",
    "**/.pytest_cache",
)
# The zip's sources (its asset hash): the same files, without the Dockerfile; the trim
# script stays, as lakegate_cdk.packaging.bundle runs it on the zip too.
ZIP_SOURCES_EXCLUDE = tuple(p for p in IMAGE_CONTEXT_EXCLUDE if p != "!" + DOCKERFILE)
HANDLER = "handler.app.lambda_handler"


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

    def _function(self, config: LakegateConfig, environment: Mapping[str, str]) -> lambda_.Function:
        fn_config = config.function
        common = {
            "function_name": self.function_name,
            "description": f"lakegate {config.env_name}: cached read-only data API",
            "architecture": lambda_.Architecture.ARM_64,
            "memory_size": fn_config.memory_mb,
            "timeout": Duration.seconds(fn_config.timeout_seconds),
            "reserved_concurrent_executions": fn_config.reserved_concurrency,
            "tracing": lambda_.Tracing.ACTIVE if fn_config.tracing else lambda_.Tracing.DISABLED,
            "role": self.role,
            "log_group": self.log_group,
            "environment": {
                **environment,
                # pydantic otherwise reads every installed distribution's entry points,
                # looking for its plugins, when the first model is built: on every cold
                # start, for nothing, as lakegate uses none.
                "PYDANTIC_DISABLE_PLUGINS": "__all__",
                # Without tracing the handler builds no Tracer, and never imports X-Ray's SDK.
                **({} if fn_config.tracing else {"POWERTOOLS_TRACE_DISABLED": "true"}),
            },
        }
        function: lambda_.Function
        if fn_config.packaging == "zip":
            function = lambda_.Function(
                self,
                "Function",
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler=HANDLER,
                code=self._zip_code(),
                # Every published version is initialised once and snapshotted; new
                # containers resume from the snapshot (handler.snapstart prepares it).
                snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
                **common,
            )
            acknowledge(
                function,
                "AwsSolutions-L1",
                "Python 3.12 on purpose: the image's base and the lock's wheels (cp312, "
                "`make lock`) are for 3.12, and the zip must run exactly what was locked.",
            )
        else:
            function = lambda_.DockerImageFunction(
                self,
                "Function",
                code=lambda_.DockerImageCode.from_image_asset(
                    directory=str(REPO_ROOT),
                    file=DOCKERFILE,
                    platform=Platform.LINUX_ARM64,
                    exclude=list(IMAGE_CONTEXT_EXCLUDE),
                    ignore_mode=IgnoreMode.DOCKER,
                    cmd=[HANDLER],
                ),
                **common,
            )
        if fn_config.tracing:
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no "
                "resource-level permissions, so AWS requires Resource '*' for them.",
            )
        return function

    @staticmethod
    def _zip_code() -> lambda_.Code:
        """The runtime files, bundled on this machine from the locked wheels (no Docker:
        the image below is CDK's fallback, never reached, as local bundling always answers).
        The asset's hash is its sources' (handler/, cache/, the lock, the trim script), like
        the image's."""
        return lambda_.Code.from_asset(
            str(REPO_ROOT),
            exclude=list(ZIP_SOURCES_EXCLUDE),
            ignore_mode=IgnoreMode.DOCKER,
            asset_hash_type=AssetHashType.SOURCE,
            bundling=BundlingOptions(
                image=DockerImage.from_registry("public.ecr.aws/lambda/python:3.12"),
                local=LocalZipBundling(),
            ),
        )

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
