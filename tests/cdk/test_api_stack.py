"""The API stack: function and image, IAM, cache storage, secrets, outputs.

CloudFront is specified in test_distribution.py, alarms in test_alarms.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match
from lakegate_cdk.function import DOCKERFILE
from lakegate_cdk.gateway import origin_environment

from handler.settings import GatewaySettings

from .conftest import Synthesized

ROLE = "Api"


def _ref(synth: Synthesized, construct: object) -> dict[str, Any]:
    return {"Ref": synth.logical_id(ROLE, construct)}


def _arn(synth: Synthesized, construct: object) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(ROLE, construct), "Arn"]}


# --- the function ------------------------------------------------------------------


def test_function_is_an_arm64_image_sized_from_config(env: Synthesized) -> None:
    fn = env.config.function
    api = env.stacks.api.api
    env.template(ROLE).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "PackageType": "Image",
            "Architectures": ["arm64"],
            "ImageConfig": {"Command": ["handler.app.lambda_handler"]},
            "Code": {"ImageUri": {"Fn::Sub": Match.string_like_regexp("container-assets")}},
            "MemorySize": fn.memory_mb,
            "Timeout": fn.timeout_seconds,
            "ReservedConcurrentExecutions": fn.reserved_concurrency,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": _ref(env, api.log_group)},
            "Role": _arn(env, api.role),
        },
    )


def test_function_environment_is_the_runtime_contract(env: Synthesized) -> None:
    stack = env.stacks.api
    fn = _api_function(env)
    assert fn["Properties"]["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "lakegate",
        "POWERTOOLS_METRICS_NAMESPACE": "Lakegate",
        "POWERTOOLS_LOG_LEVEL": env.config.function.log_level,
        "DATABRICKS_HOST": env.config.databricks.host,
        "DATABRICKS_WAREHOUSE_ID": env.config.databricks.warehouse_id,
        "DATABRICKS_SECRET_ARN": _ref(env, stack.secrets.databricks),
        "LAKEGATE_ADMIN_TOKEN_SECRET_ARN": _ref(env, stack.secrets.admin_token),
        "LAKEGATE_CACHE_TABLE": _ref(env, stack.storage.table),
        "LAKEGATE_CACHE_BUCKET": _ref(env, stack.storage.bucket),
        "LAKEGATE_DISTRIBUTION_ID_PARAMETER": f"/lakegate/{env.config.env_name}/distribution-id",
        # Each container's part of the budgets while the table cannot count, and its
        # memory for roll-ups.
        "LAKEGATE_MAX_CONTAINERS": str(env.config.function.reserved_concurrency),
        "LAKEGATE_ROLLUP_MEMORY_BYTES": str(env.config.function.rollup_memory_mb * 1024 * 1024),
        # The gateway section, as the origin reads it (the edge function has the same).
        "LAKEGATE_REQUIRE_KEYS": "1" if env.config.gateway.require_keys else "0",
        "LAKEGATE_CORS_ORIGINS": ",".join(env.config.gateway.cors_origins),
        "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": str(env.config.gateway.statements_per_minute),
        "LAKEGATE_FAIR_SHARES": str(env.config.gateway.fair_shares),
        "LAKEGATE_ROLLUP_RESERVE_PER_MINUTE": str(env.config.gateway.rollup_reserve_per_minute),
        "LAKEGATE_MISS_BUDGETS": ",".join(
            f"{tier}={n}" for tier, n in sorted(env.config.gateway.miss_budgets.items())
        ),
        # pydantic would otherwise read every distribution's entry points for plugins on
        # every cold start; "__all__" is one of the values pydantic/plugin/_loader.py takes.
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    assert env.config.databricks.host.startswith("https://")


def test_origin_reads_the_gateway_section_back(env: Synthesized) -> None:
    """The origin's own settings model, fed the deployed environment, agrees with the YAML."""
    fn = _api_function(env)
    read = GatewaySettings.model_validate(fn["Properties"]["Environment"]["Variables"])
    gateway = env.config.gateway
    assert read.require_keys == gateway.require_keys
    assert read.cors_origins == gateway.cors_origins
    assert read.statement_budget_per_minute == gateway.statements_per_minute
    assert read.fair_shares == gateway.fair_shares
    assert read.rollup_reserve_per_minute == gateway.rollup_reserve_per_minute
    assert read.miss_budgets == gateway.miss_budgets
    # In AWS the edge function checks keys; the origin has no key file of its own.
    assert read.keys_file is None


def test_gateway_variables_are_the_strings_the_origin_parses(prod: Synthesized) -> None:
    """Literal values, so a change of format shows here before the origin misreads it."""
    gateway = prod.config.gateway.model_copy(
        update={"require_keys": True, "cors_origins": ("https://a.example", "https://b.example")}
    )
    assert origin_environment(gateway) == {
        "LAKEGATE_REQUIRE_KEYS": "1",
        "LAKEGATE_CORS_ORIGINS": "https://a.example,https://b.example",
        "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": "120",
        "LAKEGATE_FAIR_SHARES": "4",
        "LAKEGATE_ROLLUP_RESERVE_PER_MINUTE": "4",
        "LAKEGATE_MISS_BUDGETS": "bulk=600,standard=60",
    }


def test_function_log_group_has_configured_retention(env: Synthesized) -> None:
    env.template(ROLE).has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"RetentionInDays": env.config.log_retention_days},
            "DeletionPolicy": "Retain" if env.config.retain_logs else "Delete",
        },
    )


def test_image_asset_is_arm64_built_from_the_lambda_dockerfile(env: Synthesized) -> None:
    image = _api_image(env)
    assert image["source"]["dockerFile"] == "cdk/lambda/Dockerfile"
    assert image["source"]["platform"] == "linux/arm64"


def test_image_context_holds_runtime_files_only(env: Synthesized) -> None:
    image = _api_image(env)
    staged = env.outdir / image["source"]["directory"]
    files = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    top_level = {f.split("/", 1)[0] for f in files}
    assert top_level == {"handler", "cache", "cdk"}
    assert {f for f in files if f.startswith("cdk/")} == {
        "cdk/lambda/Dockerfile",
        "cdk/lambda/requirements.lock",
        "cdk/lakegate_cdk/trim.py",  # the build runs it, alone (test_image.py)
    }
    assert "handler/catalogue.yaml" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_function_url_requires_iam_auth(env: Synthesized) -> None:
    template = env.template(ROLE)
    template.resource_count_is("AWS::Lambda::Url", 1)
    template.has_resource_properties(
        "AWS::Lambda::Url",
        {"AuthType": "AWS_IAM", "InvokeMode": "BUFFERED", "TargetFunctionArn": Match.any_value()},
    )


def test_only_cloudfront_of_this_distribution_may_invoke(env: Synthesized) -> None:
    template = env.template(ROLE)
    distribution = env.logical_id(ROLE, env.stacks.api.edge.distribution)
    source_arn = {
        "Fn::Join": [
            "",
            Match.array_with([":distribution/", {"Ref": distribution}]),
        ]
    }
    permissions = template.find_resources("AWS::Lambda::Permission")
    # Both the URL permission and the InvokeFunction one OAC needs; nothing else.
    assert {p["Properties"]["Action"] for p in permissions.values()} == {
        "lambda:InvokeFunctionUrl",
        "lambda:InvokeFunction",
    }
    for action, extra in (
        ("lambda:InvokeFunctionUrl", {}),
        ("lambda:InvokeFunction", {"InvokedViaFunctionUrl": True}),
    ):
        template.has_resource_properties(
            "AWS::Lambda::Permission",
            {
                "Action": action,
                "Principal": "cloudfront.amazonaws.com",
                "SourceArn": source_arn,
                **extra,
            },
        )
    assert all(
        p["Properties"]["Principal"] == "cloudfront.amazonaws.com" for p in permissions.values()
    )


# --- IAM -----------------------------------------------------------------------------


def test_function_role_has_no_managed_policies(env: Synthesized) -> None:
    role = env.template(ROLE).find_resources("AWS::IAM::Role")[
        env.logical_id(ROLE, env.stacks.api.api.role)
    ]
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]


def test_function_default_policy_is_exactly_least_privilege(env: Synthesized) -> None:
    stack = env.stacks.api
    env.template(ROLE).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [_ref(env, stack.api.role)],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Sid": "WriteOwnLogs",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": _arn(env, stack.api.log_group),
                    },
                    {
                        # Stale refreshes: an asynchronous invocation of itself, by name.
                        "Sid": "RefreshInTheBackground",
                        "Effect": "Allow",
                        "Action": "lambda:InvokeFunction",
                        "Resource": [
                            _own_function_arn(env, stack.api.function_name),
                            _own_function_arn(env, stack.api.function_name, ":*"),
                        ],
                    },
                    {
                        # Added by Tracing.ACTIVE; X-Ray has no resource-level permissions.
                        "Effect": "Allow",
                        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                        "Resource": "*",
                    },
                    {
                        "Sid": "CacheTableItems",
                        "Effect": "Allow",
                        "Action": [
                            "dynamodb:GetItem",
                            "dynamodb:BatchGetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:DeleteItem",
                            "dynamodb:ConditionCheckItem",
                        ],
                        "Resource": _arn(env, stack.storage.table),
                    },
                    {
                        "Sid": "CacheOverflowObjects",
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": {
                            "Fn::Join": ["", [_arn(env, stack.storage.bucket), "/results/*"]]
                        },
                    },
                    {
                        "Sid": "ReadSecrets",
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": [
                            _ref(env, stack.secrets.databricks),
                            _ref(env, stack.secrets.admin_token),
                        ],
                    },
                ],
            },
        },
    )


def test_distribution_access_policy_is_scoped_to_this_distribution(env: Synthesized) -> None:
    stack = env.stacks.api
    distribution = env.logical_id(ROLE, stack.edge.distribution)
    parameter = env.logical_id(ROLE, stack.edge.distribution_id_parameter)
    env.template(ROLE).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [_ref(env, stack.api.role)],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Sid": "InvalidateOwnDistribution",
                        "Effect": "Allow",
                        "Action": "cloudfront:CreateInvalidation",
                        "Resource": {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    f":cloudfront::{env.config.account}:distribution/",
                                    {"Ref": distribution},
                                ],
                            ]
                        },
                    },
                    {
                        "Sid": "ReadDistributionId",
                        "Effect": "Allow",
                        "Action": "ssm:GetParameter",
                        "Resource": {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    f":ssm:{env.config.region}:{env.config.account}:parameter",
                                    {"Ref": parameter},
                                ],
                            ]
                        },
                    },
                ],
            },
        },
    )


def test_distribution_id_parameter_has_the_name_the_function_reads(env: Synthesized) -> None:
    env.template(ROLE).has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": f"/lakegate/{env.config.env_name}/distribution-id",
            "Type": "String",
            "Value": {"Ref": env.logical_id(ROLE, env.stacks.api.edge.distribution)},
        },
    )


def test_function_does_not_wait_for_the_distribution_policy(env: Synthesized) -> None:
    """The cycle break: function -> default policy only; the distribution policy comes later."""
    stack = env.stacks.api
    template = env.raw(ROLE)["Resources"]
    function = template[env.logical_id(ROLE, stack.api.function)]
    access = env.logical_id(ROLE, stack.distribution_access)
    assert access not in function.get("DependsOn", [])
    assert access not in json.dumps(function)
    # ...and the function's environment names the parameter, never the distribution.
    assert "EdgeDistribution" not in json.dumps(function["Properties"]["Environment"])
    # Template.from_json (in env.template) fails on a dependency cycle.
    env.template(ROLE)


def test_no_other_iam_than_the_function_role_and_cdk_providers(env: Synthesized) -> None:
    template = env.template(ROLE)
    roles = set(template.find_resources("AWS::IAM::Role"))
    gateway = env.stacks.api.gateway
    function_role = env.logical_id(ROLE, env.stacks.api.api.role)
    deploy_role = env.logical_id(ROLE, env.stacks.api.deployment.group.role)
    writer_role = env.logical_id(ROLE, gateway.writer_role)
    framework = gateway.node.find_child("RulesProvider").node.find_child("framework-onEvent")
    framework_role = env.logical_id(ROLE, framework.role)
    # CDK's own custom-resource providers (bucket auto-delete; the hand-off writer's).
    assert {
        r for r in roles if not r.startswith(("Custom", "AWS679f53fac002430cb0da5b7982bd2287"))
    } == {function_role, deploy_role, writer_role, framework_role}
    policies = template.find_resources("AWS::IAM::Policy")
    by_role: dict[str, list[dict[str, Any]]] = {}
    for policy in policies.values():
        (role,) = policy["Properties"]["Roles"]
        by_role.setdefault(role["Ref"], []).append(policy)
    assert len(by_role.pop(function_role)) == 2
    # The edge rules: the writer's (tests/cdk/test_gateway.py), the framework's invoke.
    (writer,) = by_role.pop(writer_role)
    (invoke,) = by_role.pop(framework_role)
    actions = [s["Action"] for s in invoke["Properties"]["PolicyDocument"]["Statement"]]
    assert {a for action in actions for a in ([action] if isinstance(action, str) else action)} == {
        "lambda:InvokeFunction",
        "lambda:GetFunction",
    }
    # The rest: the hand-off writer's (ssm:PutParameter on its parameter only).
    ((other,),) = by_role.values()
    assert json.dumps(other).count("ssm:PutParameter") == 1
    template.resource_count_is("AWS::IAM::User", 0)
    # The key store: only the rules writer may touch it; operators use their own credentials.
    key_store = env.logical_id(ROLE, gateway.key_store)
    assert [p for p in policies.values() if key_store in json.dumps(p)] == [writer]
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)


# --- cache storage -------------------------------------------------------------------


def test_cache_table_is_on_demand_keyed_by_pk_with_ttl(env: Synthesized) -> None:
    template = env.template(ROLE)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            },
            "DeletionPolicy": "Delete",
        },
    )


def test_overflow_bucket_is_private_encrypted_logged_and_expiring(env: Synthesized) -> None:
    stack = env.stacks.api
    env.template(ROLE).has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {
                    "Rules": [
                        Match.object_like(
                            {
                                "Prefix": "results/",
                                "ExpirationInDays": env.config.result_cache.overflow_expiry_days,
                                "Status": "Enabled",
                            }
                        )
                    ]
                },
                "LoggingConfiguration": {
                    "DestinationBucketName": _ref(env, stack.access_logs),
                    "LogFilePrefix": "s3/overflow/",
                },
            },
            "DeletionPolicy": "Delete",
        },
    )


def _bucket_policy(env: Synthesized, bucket: object) -> list[dict[str, Any]]:
    policies = env.template(ROLE).find_resources(
        "AWS::S3::BucketPolicy", {"Properties": {"Bucket": _ref(env, bucket)}}
    )
    (policy,) = policies.values()
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _denies_plain_http(statements: list[dict[str, Any]]) -> bool:
    return any(
        s["Effect"] == "Deny"
        and s["Action"] == "s3:*"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_buckets_refuse_plain_http(env: Synthesized) -> None:
    stack = env.stacks.api
    assert _denies_plain_http(_bucket_policy(env, stack.storage.bucket))
    assert _denies_plain_http(_bucket_policy(env, stack.access_logs))


def test_overflow_bucket_policy_admits_nobody_else(env: Synthesized) -> None:
    """Beyond the TLS rule, only CDK's auto-delete provider (so `cdk destroy` can empty it)."""
    statements = _bucket_policy(env, env.stacks.api.storage.bucket)
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (principal,) = allows[0]["Principal"]["AWS"]["Fn::GetAtt"][:1]
    assert principal.startswith("CustomS3AutoDeleteObjectsCustomResourceProviderRole")


def test_access_log_bucket_accepts_cloudfront_and_s3_logs(env: Synthesized) -> None:
    stack = env.stacks.api
    env.template(ROLE).has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    # CloudFront standard logging writes through the bucket ACL.
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]},
                    "LifecycleConfiguration": {
                        "Rules": [
                            {
                                "Id": "expire-logs",
                                "ExpirationInDays": env.config.log_retention_days,
                                "Status": "Enabled",
                            }
                        ]
                    },
                    "PublicAccessBlockConfiguration": Match.object_like(
                        {"BlockPublicAcls": True, "BlockPublicPolicy": True}
                    ),
                }
            ),
            "DeletionPolicy": "Retain" if env.config.retain_logs else "Delete",
        },
    )
    server_logs = [
        s
        for s in _bucket_policy(env, stack.access_logs)
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert server_logs == [
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Resource": {"Fn::Join": ["", [_arn(env, stack.access_logs), "/s3/overflow/*"]]},
            "Condition": {
                "ArnLike": {"aws:SourceArn": _arn(env, stack.storage.bucket)},
                "StringEquals": {"aws:SourceAccount": env.config.account},
            },
        }
    ]


# --- secrets -------------------------------------------------------------------------


def test_databricks_secret_holds_a_placeholder_not_a_credential(env: Synthesized) -> None:
    name = f"lakegate/{env.config.env_name}/databricks"
    secrets = env.template(ROLE).find_resources(
        "AWS::SecretsManager::Secret", {"Properties": {"Name": name}}
    )
    (secret,) = secrets.values()
    value = json.loads(secret["Properties"]["SecretString"])
    assert set(value) == {"placeholder"}  # no token/client_id: the runtime fails loudly


def test_admin_token_secret_is_generated(env: Synthesized) -> None:
    env.template(ROLE).has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": f"lakegate/{env.config.env_name}/admin-token",
            "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
        },
    )
    env.template(ROLE).resource_count_is("AWS::SecretsManager::Secret", 2)


# --- outputs and placement -----------------------------------------------------------


def test_stack_outputs(env: Synthesized) -> None:
    stack = env.stacks.api
    template = env.template(ROLE)
    distribution = env.logical_id(ROLE, stack.edge.distribution)
    expected = {
        "DistributionDomainName": {"Fn::GetAtt": [distribution, "DomainName"]},
        "DistributionId": {"Ref": distribution},
        "FunctionUrl": {"Fn::GetAtt": [env.logical_id(ROLE, stack.api.url), "FunctionUrl"]},
        "CacheTableName": _ref(env, stack.storage.table),
        "CacheBucketName": _ref(env, stack.storage.bucket),
        "DatabricksSecretArn": _ref(env, stack.secrets.databricks),
        "AdminTokenSecretArn": _ref(env, stack.secrets.admin_token),
        "AlarmTopicArn": _ref(env, stack.alarm_topic.topic),
        # What `lakegate keys` writes to (its ARN) and the console shows (its id).
        "ApiKeyStoreArn": _arn(env, stack.gateway.key_store),
        "ApiKeyStoreId": {"Fn::GetAtt": [env.logical_id(ROLE, stack.gateway.key_store), "Id"]},
        "GatewayFunctionName": f"lakegate-{env.config.env_name}-gateway",
        "GatewayRulesTag": stack.gateway.tag,
        "DashboardName": f"lakegate-{env.config.env_name}",
    }
    for name, value in expected.items():
        template.has_output(name, {"Value": value})
    if env.config.domain:
        template.has_output("ApiUrl", {"Value": f"https://{env.config.domain.name}"})


def test_lives_in_the_configured_region(env: Synthesized) -> None:
    assert env.stacks.api.region == env.config.region
    assert env.stacks.api.account == env.config.account


def test_synth_wrote_every_stack(env: Synthesized) -> None:
    names = {p.name for p in Path(env.outdir).glob("*.template.json")}
    assert names == {
        f"Lakegate-{env.config.env_name}-{role}.template.json"
        for role in ("EdgeSecurity", "Api", "EdgeMonitoring")
    }


def _own_function_arn(env: Synthesized, name: str, suffix: str = "") -> dict[str, object]:
    region, account = env.stacks.api.region, env.stacks.api.account
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":lambda:{region}:{account}:function:{name}{suffix}",
            ],
        ]
    }


def _api_function(env: Synthesized) -> dict[str, Any]:
    """The API function's resource (the rules writer is an image function too)."""
    resources = env.template(ROLE).find_resources("AWS::Lambda::Function")
    function: dict[str, Any] = resources[env.logical_id(ROLE, env.stacks.api.api.function)]
    return function


def _api_image(env: Synthesized) -> dict[str, Any]:
    """The API function's image asset (the rules writer's is tests/cdk/test_gateway.py's)."""
    assets = json.loads(
        (env.outdir / f"Lakegate-{env.config.env_name}-Api.assets.json").read_text()
    )
    (image,) = (
        i for i in assets["dockerImages"].values() if i["source"]["dockerFile"] == DOCKERFILE
    )
    found: dict[str, Any] = image
    return found
