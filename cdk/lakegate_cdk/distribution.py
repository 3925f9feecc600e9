"""The CloudFront distribution in front of the Function URL (its policies: edge_policies).

Behaviours: one per dataset (`/v1/<dataset>`, each running the edge gateway function,
lakegate_cdk.gateway, and answering CORS), `/v1` (the datasets, handler.discovery:
cached as the origin says, keyed on the path alone, with the data routes' CORS),
`/swagger*` (cached briefly),
`/admin/*` (never cached, all methods) and the default one for the rest (`/healthz`,
`/openapi.json`, and the handler's 404 for unknown paths): no function, no query
strings, no consumer headers.

Origin Shield (a regional cache layer in `edge_cache.origin_shield_region`) sits in
front of the Function URL: without it every edge location's misses reach the
function separately; with it they collapse onto one regional cache first.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from lakegate_cdk import edge_policies as policies
from lakegate_cdk.config import ConfigError, DomainConfig, LakegateConfig
from lakegate_cdk.gateway import EdgeGateway
from lakegate_cdk.nag import acknowledge

# CloudFront's names (as in the config file) for CDK's enum members.
PRICE_CLASSES = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}

# CloudFront's default quota of cache behaviours per distribution (adjustable through
# Service Quotas). Besides one per dataset there are `/v1`, `/swagger*` and `/admin/*`, so
# a catalogue of more than 72 datasets needs the increase before it can deploy.
MAX_CACHE_BEHAVIOURS = 75
DISCOVERY = "/v1"  # handler.discovery.ROUTE: the pattern is the exact path
FIXED_BEHAVIOURS = (DISCOVERY, "/swagger*", "/admin/*")


def distribution_id_parameter_name(env_name: str) -> str:
    """The SSM parameter through which the function learns its distribution's id."""
    return f"/lakegate/{env_name}/distribution-id"


class ApiDistribution(Construct):
    """Distribution, cache/origin-request/response-header policies, id parameter, DNS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LakegateConfig,
        function_url: lambda_.IFunctionUrl,
        gateway: EdgeGateway,
        web_acl_arn: str,
        log_bucket: s3.IBucket,
        certificate: acm.ICertificate | None,
    ) -> None:
        super().__init__(scope, construct_id)
        edge = config.edge_cache
        # In this order: the template lists resources in the order they are created.
        self.data_cache_policy = policies.data_cache_policy(self, edge)
        self.swagger_cache_policy = policies.swagger_cache_policy(self, edge)
        self.data_origin_request_policy = policies.origin_request_policy(
            self, policies.DATA_ORIGIN_REQUEST
        )
        self.swagger_origin_request_policy = policies.origin_request_policy(
            self, policies.SWAGGER_ORIGIN_REQUEST
        )
        self.fallback_cache_policy = policies.fallback_cache_policy(self, edge)
        self.fallback_origin_request_policy = policies.origin_request_policy(
            self, policies.FALLBACK_ORIGIN_REQUEST
        )
        self.admin_origin_request_policy = policies.origin_request_policy(
            self, policies.ADMIN_ORIGIN_REQUEST
        )
        self.response_headers_policy = policies.response_headers(
            self, "SecurityHeaders", cors_origins=()
        )
        self.data_response_headers_policy = policies.data_response_headers(
            self, config.gateway.cors_origins
        )
        # Only where some dataset needs a key (edge_policies: CloudFront's, no other cache's).
        self.keyed_data_response_headers_policy = (
            policies.keyed_data_response_headers(self, config.gateway.cors_origins)
            if gateway.keyed_routes
            else None
        )

        self.distribution = self._distribution(
            config,
            origin=_function_url_origin(config, function_url),
            gateway=gateway,
            web_acl_arn=web_acl_arn,
            log_bucket=log_bucket,
            certificate=certificate,
        )
        self._acknowledge_viewer_findings(certificate)
        self.distribution_id_parameter = self._distribution_id_parameter(config.env_name)
        if config.domain is not None:
            self._alias_records(config.domain)

    def _distribution(
        self,
        config: LakegateConfig,
        *,
        origin: cloudfront.IOrigin,
        gateway: EdgeGateway,
        web_acl_arn: str,
        log_bucket: s3.IBucket,
        certificate: acm.ICertificate | None,
    ) -> cloudfront.Distribution:
        domain = config.domain
        return cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"lakegate {config.env_name}",
            default_behavior=self._behaviour(
                origin,
                self.fallback_cache_policy,
                self.fallback_origin_request_policy,
                read_only=True,
            ),
            additional_behaviors={
                **self._data_behaviours(origin, gateway),
                # The default behaviour's policies (the path alone, no query strings, the
                # origin's Cache-Control up to the brief maximum); a browser's dashboard
                # reads it too, so the data routes' CORS answers.
                DISCOVERY: self._behaviour(
                    origin,
                    self.fallback_cache_policy,
                    self.fallback_origin_request_policy,
                    read_only=True,
                    cors=True,
                ),
                "/swagger*": self._behaviour(
                    origin,
                    self.swagger_cache_policy,
                    self.swagger_origin_request_policy,
                    read_only=True,
                ),
                "/admin/*": self._behaviour(
                    origin,
                    cloudfront.CachePolicy.CACHING_DISABLED,
                    self.admin_origin_request_policy,
                    read_only=False,
                ),
            },
            # A 400 is never cached: the gateway answers most of them at the edge, and one
            # the origin gives must not outlive the catalogue deploy that makes it valid.
            error_responses=[cloudfront.ErrorResponse(http_status=400, ttl=Duration.seconds(0))],
            web_acl_id=web_acl_arn,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=PRICE_CLASSES[config.edge_cache.price_class],
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            domain_names=[domain.name] if domain else None,
            certificate=certificate,
            # CacheHitRate, OriginLatency and error rates by status for the dashboard.
            publish_additional_metrics=True,
        )

    def _data_behaviours(
        self, origin: cloudfront.IOrigin, gateway: EdgeGateway
    ) -> dict[str, cloudfront.BehaviorOptions]:
        """One behaviour per dataset, each running the gateway function."""
        behaviours = len(gateway.routes) + len(FIXED_BEHAVIOURS)
        if behaviours > MAX_CACHE_BEHAVIOURS:
            raise ConfigError(
                f"{len(gateway.routes)} datasets need {behaviours} cache behaviours, over "
                f"CloudFront's default quota of {MAX_CACHE_BEHAVIOURS} per distribution: "
                "request an increase, then raise MAX_CACHE_BEHAVIOURS"
            )
        # A dataset's path pattern is its exact route: `/v1/drivers` matches the path
        # alone (CloudFront matches patterns against the path, not the query string).
        return {
            route: self._behaviour(
                origin,
                self.data_cache_policy,
                self.data_origin_request_policy,
                read_only=True,
                gateway_function=gateway.association(route),
                keyed=route in gateway.keyed_routes,
            )
            for route in gateway.routes
        }

    def _behaviour(
        self,
        origin: cloudfront.IOrigin,
        cache_policy: cloudfront.ICachePolicy,
        origin_request_policy: cloudfront.IOriginRequestPolicy,
        *,
        read_only: bool,
        gateway_function: cloudfront.FunctionAssociation | None = None,
        keyed: bool = False,
        cors: bool = False,
    ) -> cloudfront.BehaviorOptions:
        """A behaviour on a data route when `gateway_function` (the gateway's) is given;
        `keyed`: its answers are private to viewers (edge_policies); `cors`: the data
        routes' response headers without being one."""
        # Every behaviour: the one origin, HTTPS only, the security headers.
        data_route = gateway_function is not None
        if data_route:
            # OPTIONS reaches the gateway, which answers CORS preflights itself.
            methods = cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS
        elif read_only:
            methods = cloudfront.AllowedMethods.ALLOW_GET_HEAD
        else:
            methods = cloudfront.AllowedMethods.ALLOW_ALL
        headers = (
            (data_route or cors) and self.data_response_headers_policy
        ) or self.response_headers_policy
        if keyed and self.keyed_data_response_headers_policy is not None:
            headers = self.keyed_data_response_headers_policy
        return cloudfront.BehaviorOptions(
            origin=origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            response_headers_policy=headers,
            cache_policy=cache_policy,
            origin_request_policy=origin_request_policy,
            allowed_methods=methods,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
            function_associations=[gateway_function] if gateway_function is not None else None,
            # Compression only matters for cached bodies; admin answers are tiny.
            compress=read_only,
        )

    def _acknowledge_viewer_findings(self, certificate: acm.ICertificate | None) -> None:
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "The API serves public open data to dashboards wherever they run; there is no "
            "legal or licensing reason to restrict countries. Abuse is handled by WAF.",
        )
        if certificate is None:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR4",
                "No custom domain in this environment: viewers use the *.cloudfront.net "
                "certificate, whose security policy CloudFront fixes and cannot be raised. "
                "Environments with a domain (prod) enforce TLSv1.2_2021.",
            )

    def _distribution_id_parameter(self, env_name: str) -> ssm.StringParameter:
        # The function needs the distribution id to create invalidations, but the
        # distribution needs the function's URL. Publishing the id in a parameter whose
        # *name* is fixed lets the function find it at runtime without a template cycle.
        return ssm.StringParameter(
            self,
            "DistributionIdParameter",
            parameter_name=distribution_id_parameter_name(env_name),
            description="CloudFront distribution id of the lakegate API (read by the function)",
            string_value=self.distribution.distribution_id,
        )

    def _alias_records(self, domain: DomainConfig) -> None:
        """The custom domain's A and AAAA alias records, pointing at the distribution."""
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.zone_name
        )
        alias = route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution))
        route53.ARecord(self, "AliasV4", zone=zone, record_name=domain.name, target=alias)
        route53.AaaaRecord(self, "AliasV6", zone=zone, record_name=domain.name, target=alias)


def _function_url_origin(
    config: LakegateConfig, function_url: lambda_.IFunctionUrl
) -> cloudfront.IOrigin:
    """The Function URL, signed by origin access control, behind Origin Shield if configured."""
    edge = config.edge_cache
    return origins.FunctionUrlOrigin.with_origin_access_control(
        function_url,
        # One second beyond the function's timeout, so the function's own timeout
        # (and the handler's shorter statement budget) answers first.
        read_timeout=Duration.seconds(config.function.timeout_seconds + 1),
        origin_shield_enabled=edge.origin_shield_region is not None,
        origin_shield_region=edge.origin_shield_region,
    )
