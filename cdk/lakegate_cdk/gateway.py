"""The edge gateway: a CloudFront Function on every data request, and the key store it reads.

The function (`cdk/edge/gateway.js`, cloudfront-js-2.0, viewer request) validates and
canonicalises each request before the cache sees it, so the data cache key can hold
every query string without the catalogue's parameter count mattering; it answers CORS
preflights, checks `x-api-key` against the KeyValueStore and, for the origin, replaces
the key with the consumer's id and tier. Its rules come from the catalogue at synth
(`local.edge_function`), the same code the local edge and `node --test` run.

Operators write keys with `lakegate keys` (boto3's `cloudfront-keyvaluestore` client,
against the store ARN this stack outputs); the Lambda function never touches the store.
"""

from __future__ import annotations

from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

from handler.catalogue import Catalogue
from lakegate_cdk.config import ConfigError, GatewayConfig, LakegateConfig
from local.edge_function import EdgeFunctionError, edge_rules, function_code


def origin_environment(gateway: GatewayConfig) -> dict[str, str]:
    """The Lambda function's share of the gateway settings, as the origin reads them."""
    return {
        "LAKEGATE_REQUIRE_KEYS": "1" if gateway.require_keys else "0",
        "LAKEGATE_CORS_ORIGINS": ",".join(gateway.cors_origins),
        "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": str(gateway.statements_per_minute),
        "LAKEGATE_MISS_BUDGETS": ",".join(
            f"{tier}={misses}" for tier, misses in sorted(gateway.miss_budgets.items())
        ),
    }


def gateway_code(config: LakegateConfig, catalogue: Catalogue) -> str:
    """The function's code with this environment's rules inlined.

    Raises ConfigError (which `cdk/app.py` reports without a traceback) when the rules
    cannot be built or the code would exceed CloudFront's function size quota.
    """
    try:
        rules = edge_rules(
            catalogue,
            require_keys=config.gateway.require_keys,
            cors_origins=config.gateway.cors_origins,
        )
        return function_code(rules, "cloudfront")
    except EdgeFunctionError as exc:
        raise ConfigError(f"edge gateway function: {exc}") from exc


class EdgeGateway(Construct):
    """The KeyValueStore of API keys and the viewer-request function associated with it."""

    def __init__(self, scope: Construct, construct_id: str, *, env_name: str, code: str) -> None:
        super().__init__(scope, construct_id)
        # A fixed name: if a change ever required replacing the store, CloudFormation
        # fails on the name instead of silently swapping in an empty store (every
        # consumer's key gone, every keyed request refused).
        self.key_store = cloudfront.KeyValueStore(
            self,
            "ApiKeys",
            key_value_store_name=f"lakegate-{env_name}-api-keys",
            comment=f"lakegate {env_name}: API keys (written by `lakegate keys`)",
        )
        self.function = cloudfront.Function(
            self,
            "Function",
            function_name=f"lakegate-{env_name}-gateway",
            comment=f"lakegate {env_name}: validate and canonicalise data requests",
            code=cloudfront.FunctionCode.from_inline(code),
            # KeyValueStore access needs runtime 2.0.
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            key_value_store=self.key_store,
        )

    def association(self) -> cloudfront.FunctionAssociation:
        """Run before the cache on every request of a behaviour."""
        return cloudfront.FunctionAssociation(
            function=self.function, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
        )
