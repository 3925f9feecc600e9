"""The edge gateway: one CloudFront Function for every data route, its rules in the key store.

The function (`edge/gateway.js`, cloudfront-js-2.0, viewer request) runs on each
dataset's cache behaviour (`/v1/<dataset>`). It is a rule interpreter whose code is the
same whatever the catalogue (edge.function): CloudFront caps a function's code at
10 KB, and the rules of a catalogue outgrow that long before a dashboard's dozen filters
per dataset. The rules are data in the KeyValueStore the function reads, beside the API
keys (edge.rules decides them, edge.store lays them out under a tag). It
validates and canonicalises each request before the cache sees it, so the data cache key
can hold every query string whatever the catalogue's parameter count; it answers CORS
preflights, checks `x-api-key` against the store and, for the origin, replaces the key
with the consumer's id and tier.

Deploys keep rules and code in step: the rules' custom resource (`EdgeRules`, Lambda
code in lakegate_cdk.rules_writer) writes the new tag's keys before the function, which
depends on it, goes live with that tag inlined; the previous tag's keys stay for the
function still running at the edge until the next deploy.

Operators write API keys with `lakegate keys` (boto3's `cloudfront-keyvaluestore` client,
against the store ARN this stack outputs); the API's Lambda function never touches the
store, and the rules writer only ever touches keys under `rules/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from aws_cdk.aws_ecr_assets import Platform
from constructs import Construct

from edge.function import EdgeFunctionError, function_code
from edge.rules import edge_rules
from edge.store import EdgeRulesError, RuleEntries, rule_entries
from handler.catalogue import Catalogue
from lakegate_cdk.config import ConfigError, GatewayConfig, LakegateConfig
from lakegate_cdk.nag import acknowledge
from lakegate_cdk.retention import log_removal_policy, log_retention
from lakegate_cdk.rules_writer import encode_entries

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITER_DOCKERFILE = "cdk/rules_writer/Dockerfile"
WRITER_LOCK = "cdk/rules_writer/requirements.lock"
WRITER_MODULE = "cdk/lakegate_cdk/rules_writer.py"
# The writer's image depends on its Dockerfile, lock and module alone (function.py's way).
WRITER_CONTEXT_EXCLUDE = ("*", f"!{WRITER_DOCKERFILE}", f"!{WRITER_LOCK}", f"!{WRITER_MODULE}")
# CloudFormation hands a custom resource's properties to Lambda in an asynchronous
# invocation (256 KB payload); the rules travel gzipped and must leave room for the rest.
MAX_ENTRIES_PROPERTY = 200_000


def origin_environment(gateway: GatewayConfig) -> dict[str, str]:
    """The Lambda function's share of the gateway settings, as the origin reads them."""
    return {
        "LAKEGATE_REQUIRE_KEYS": "1" if gateway.require_keys else "0",
        "LAKEGATE_CORS_ORIGINS": ",".join(gateway.cors_origins),
        "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": str(gateway.statements_per_minute),
        "LAKEGATE_FAIR_SHARES": str(gateway.fair_shares),
        "LAKEGATE_ROLLUP_RESERVE_PER_MINUTE": str(gateway.rollup_reserve_per_minute),
        "LAKEGATE_MISS_BUDGETS": ",".join(
            f"{tier}={misses}" for tier, misses in sorted(gateway.miss_budgets.items())
        ),
    }


@dataclass(frozen=True)
class GatewayCode:
    """What the gateway deploys: its routes, its rules (one tag) and the code reading them."""

    routes: tuple[str, ...]
    rules: RuleEntries
    code: str
    # Routes whose every request needs a consumer's key (`access: key`, or keys required
    # everywhere): their answers are for that consumer, kept by no shared cache but
    # CloudFront's (the distribution's keyed behaviours).
    keyed_routes: frozenset[str] = frozenset()


def gateway_code(config: LakegateConfig, catalogue: Catalogue) -> GatewayCode:
    """The catalogue's rules and the function's code; ConfigError (which `cdk/app.py`
    reports without a traceback) where the rules cannot be laid out or sent."""
    try:
        rules = rule_entries(
            edge_rules(
                catalogue,
                require_keys=config.gateway.require_keys,
                cors_origins=config.gateway.cors_origins,
            ),
            catalogue.version,
        )
        code = function_code(rules.tag, "cloudfront")
    except (EdgeRulesError, EdgeFunctionError) as exc:
        raise ConfigError(f"edge gateway: {exc}") from exc
    encoded = len(encode_entries(rules.entries))
    if encoded > MAX_ENTRIES_PROPERTY:
        raise ConfigError(
            f"edge gateway: the rules take {encoded} bytes gzipped, over the "
            f"{MAX_ENTRIES_PROPERTY} a custom resource's properties may carry: declare "
            "fewer datasets or filters"
        )
    keyed = frozenset(
        d.route for d in catalogue.datasets if config.gateway.require_keys or d.access == "key"
    )
    return GatewayCode(tuple(d.route for d in catalogue.datasets), rules, code, keyed)


def function_name(env_name: str) -> str:
    return f"lakegate-{env_name}-gateway"


class EdgeGateway(Construct):
    """The KeyValueStore (API keys and rules), the rules' writer, and the function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LakegateConfig,
        gateway: GatewayCode,
    ) -> None:
        super().__init__(scope, construct_id)
        env_name = config.env_name
        self.routes = gateway.routes
        self.keyed_routes = gateway.keyed_routes
        self.tag = gateway.rules.tag
        # A fixed name: if a change ever required replacing the store, CloudFormation
        # fails on the name instead of silently swapping in an empty store (every
        # consumer's key gone, every keyed request refused).
        self.key_store = cloudfront.KeyValueStore(
            self,
            "ApiKeys",
            key_value_store_name=f"lakegate-{env_name}-api-keys",
            comment=f"lakegate {env_name}: API keys (`lakegate keys`) and edge rules",
        )
        self.rules = self._rules(config, gateway.rules)
        self.function = cloudfront.Function(
            self,
            "Function",
            function_name=function_name(env_name),
            comment=f"lakegate {env_name}: validate and canonicalise the data routes",
            code=cloudfront.FunctionCode.from_inline(gateway.code),
            # KeyValueStore access needs runtime 2.0.
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            key_value_store=self.key_store,
        )
        # Its rules first: a function never goes live before the keys it reads.
        self.function.node.add_dependency(self.rules)

    def association(self, route: str) -> cloudfront.FunctionAssociation:
        """Run the function before the cache on every request of `route`'s behaviour."""
        if route not in self.routes:
            raise KeyError(route)
        return cloudfront.FunctionAssociation(
            function=self.function, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
        )

    def _rules(self, config: LakegateConfig, rules: RuleEntries) -> CustomResource:
        """The custom resource writing `rules` into the store (lakegate_cdk.rules_writer)."""
        self.writer_logs = logs.LogGroup(
            self,
            "RulesWriterLogs",
            retention=log_retention(config.log_retention_days),
            removal_policy=log_removal_policy(config),
        )
        # Its own role, not CDK's default one (the managed basic execution policy: logs:*
        # on every log group): its logs, and the store's describe, list and update.
        self.writer_role = iam.Role(
            self,
            "RulesWriterRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"lakegate {config.env_name}: writes the edge rules into the key store",
        )
        self.writer_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.writer_logs.log_group_arn],
            )
        )
        self.writer_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteEdgeRules",
                actions=[
                    "cloudfront-keyvaluestore:DescribeKeyValueStore",
                    "cloudfront-keyvaluestore:ListKeys",
                    "cloudfront-keyvaluestore:UpdateKeys",
                ],
                resources=[self.key_store.key_value_store_arn],
            )
        )
        self.writer = lambda_.DockerImageFunction(
            self,
            "RulesWriter",
            description=f"lakegate {config.env_name}: writes the edge rules (deploys only)",
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file=WRITER_DOCKERFILE,
                exclude=list(WRITER_CONTEXT_EXCLUDE),
                platform=Platform.LINUX_ARM64,
            ),
            architecture=lambda_.Architecture.ARM_64,
            memory_size=256,
            timeout=Duration.minutes(5),
            role=self.writer_role,
            log_group=self.writer_logs,
        )
        provider = cr.Provider(self, "RulesProvider", on_event_handler=self.writer)
        self._acknowledge_provider(provider)
        return CustomResource(
            self,
            "Rules",
            service_token=provider.service_token,
            resource_type="Custom::LakegateEdgeRules",
            properties={
                "KvsArn": self.key_store.key_value_store_arn,
                "Tag": rules.tag,
                # For reading a template: what the gzipped entries hold.
                "Keys": len(rules.entries),
                "Bytes": rules.size,
                "Entries": encode_entries(rules.entries),
            },
        )

    def _acknowledge_provider(self, provider: cr.Provider) -> None:
        # CDK's provider framework: a function it owns, run only during deploys, which
        # invokes the writer and answers CloudFormation.
        framework = provider.node.find_child("framework-onEvent")
        acknowledge(
            framework,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's custom resource provider framework runs only at deploy, to invoke the edge "
            "rules writer and answer CloudFormation; its role is CDK's own, with the basic "
            "execution policy for its logs. The writer itself has a role of its own.",
        )
        writer = Stack.of(self).resolve(self.writer.node.default_child.logical_id)
        acknowledge(
            framework,
            f"AwsSolutions-IAM5[Resource::<{writer}.Arn>:*]",
            "CDK's provider framework may invoke the rules writer and its versions "
            "(lambda:InvokeFunction on its ARN and ARN:*), nothing else.",
        )
