"""The edge gateway: a CloudFront Function per dataset, and the one key store they all read.

Each function (`cdk/edge/gateway.js`, cloudfront-js-2.0, viewer request) runs on its
dataset's own cache behaviour (`/v1/<dataset>`) with only that dataset's rules inlined:
CloudFront caps a function's code at 10 KB, so one function holding every dataset's
rules would stop fitting as the catalogue grows; per dataset the quota bounds one
dataset's rules instead. A function validates and canonicalises each request before
the cache sees it, so the data cache key can hold
every query string without the catalogue's parameter count mattering; it answers CORS
preflights, checks `x-api-key` against the KeyValueStore and, for the origin, replaces
the key with the consumer's id and tier. Its rules come from the catalogue at synth
(`local.edge_function`), the same code the local edge and `node --test` run.

Operators write keys with `lakegate keys` (boto3's `cloudfront-keyvaluestore` client,
against the store ARN this stack outputs); the Lambda function never touches the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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
        "LAKEGATE_FAIR_SHARES": str(gateway.fair_shares),
        "LAKEGATE_ROLLUP_RESERVE_PER_MINUTE": str(gateway.rollup_reserve_per_minute),
        "LAKEGATE_MISS_BUDGETS": ",".join(
            f"{tier}={misses}" for tier, misses in sorted(gateway.miss_budgets.items())
        ),
    }


# CloudFront's function names: letters, digits, hyphens and underscores, 64 at most.
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class DatasetGateway:
    """One dataset's edge function: its route (the cache behaviour's path) and its code."""

    dataset: str
    route: str
    code: str
    # Every request needs a consumer's key (`access: key`, or keys required everywhere):
    # its answers are for that consumer, kept by no shared cache but CloudFront's.
    keyed: bool = False


def dataset_gateways(config: LakegateConfig, catalogue: Catalogue) -> tuple[DatasetGateway, ...]:
    """Each dataset's function code, with only its own rules inlined.

    Raises ConfigError (which `cdk/app.py` reports without a traceback) when a dataset's
    rules cannot be built or its code would exceed CloudFront's function size quota.
    """
    gateways = []
    for dataset in catalogue.datasets:
        try:
            rules = edge_rules(
                catalogue,
                require_keys=config.gateway.require_keys,
                cors_origins=config.gateway.cors_origins,
                datasets=[dataset.name],
            )
            code = function_code(rules, "cloudfront")
        except EdgeFunctionError as exc:
            raise ConfigError(f"edge gateway function of dataset {dataset.name!r}: {exc}") from exc
        keyed = config.gateway.require_keys or dataset.access == "key"
        gateways.append(DatasetGateway(dataset.name, dataset.route, code, keyed))
    return tuple(gateways)


def function_name(env_name: str, dataset: str) -> str:
    """The CloudFront Function of one dataset; ConfigError if CloudFront would refuse it."""
    name = f"lakegate-{env_name}-gw-{dataset}"
    if not _FUNCTION_NAME.fullmatch(name):
        raise ConfigError(
            f"dataset {dataset!r}: its edge function name {name!r} is over CloudFront's "
            "64 characters (or has characters it refuses): shorten the dataset name"
        )
    return name


class EdgeGateway(Construct):
    """The KeyValueStore of API keys and one viewer-request function per dataset reading it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        datasets: Sequence[DatasetGateway],
    ) -> None:
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
        # One store, many functions: CloudFront lets a store be associated with several
        # functions (each function with at most one store), so a key works on every dataset.
        # By route: the path pattern of the dataset's cache behaviour.
        self.functions: dict[str, cloudfront.Function] = {
            gateway.route: cloudfront.Function(
                self,
                f"Function-{gateway.dataset}",
                function_name=function_name(env_name, gateway.dataset),
                comment=f"lakegate {env_name}: validate and canonicalise {gateway.route}",
                code=cloudfront.FunctionCode.from_inline(gateway.code),
                # KeyValueStore access needs runtime 2.0.
                runtime=cloudfront.FunctionRuntime.JS_2_0,
                key_value_store=self.key_store,
            )
            for gateway in datasets
        }
        self.keyed_routes = frozenset(gateway.route for gateway in datasets if gateway.keyed)

    @property
    def routes(self) -> tuple[str, ...]:
        return tuple(self.functions)

    def association(self, route: str) -> cloudfront.FunctionAssociation:
        """Run the route's function before the cache on every request of its behaviour."""
        return cloudfront.FunctionAssociation(
            function=self.functions[route],
            event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
        )
