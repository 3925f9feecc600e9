"""The CloudFront distribution in front of the Function URL, and its policies.

Three behaviours: the data routes (the default behaviour: everything that is not
swagger or admin is `/v1/<dataset>` or a 404 from the handler), `/swagger*`
(cached briefly) and `/admin/*` (never cached, all methods).
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

from handler.admin import ADMIN_TOKEN_HEADER
from handler.catalogue import Catalogue
from lakegate_cdk.config import LakegateConfig
from lakegate_cdk.nag import acknowledge

# CloudFront's default quota of query strings in one cache policy's allow list.
MAX_CACHE_KEY_QUERY_STRINGS = 10

# Headers the handler reads. `Accept` picks the representation (JSON, CSV, ...), so it is
# part of the cache key; `If-None-Match` lets the origin answer 304 on revalidation.
DATA_ORIGIN_HEADERS = ("Accept", "If-None-Match")
# Admin POSTs go through Origin Access Control, which needs the viewer's payload hash
# (`x-amz-content-sha256`, of the empty body) to sign the request to the Function URL.
ADMIN_ORIGIN_HEADERS = (*DATA_ORIGIN_HEADERS, ADMIN_TOKEN_HEADER, "x-amz-content-sha256")
SWAGGER_QUERY_STRINGS = ("format",)

# CloudFront's names (as in the config file) for CDK's enum members.
PRICE_CLASSES = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}

HSTS_MAX_AGE = Duration.days(730)


def distribution_id_parameter_name(env_name: str) -> str:
    """The SSM parameter through which the function learns its distribution's id."""
    return f"/lakegate/{env_name}/distribution-id"


def cache_key_query_strings(catalogue: Catalogue) -> tuple[str, ...]:
    """The data cache key allow list: the catalogue's, as the local edge's is."""
    names = catalogue.query_parameter_names()
    if len(names) > MAX_CACHE_KEY_QUERY_STRINGS:
        raise ValueError(
            f"the catalogue accepts {len(names)} distinct query parameters ({', '.join(names)}); "
            f"a CloudFront cache policy allows {MAX_CACHE_KEY_QUERY_STRINGS} without a quota "
            "increase. Raise the quota and MAX_CACHE_KEY_QUERY_STRINGS, or share filter names."
        )
    return names


class ApiDistribution(Construct):
    """Distribution, cache/origin-request/response-header policies, id parameter, DNS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LakegateConfig,
        function_url: lambda_.IFunctionUrl,
        query_strings: tuple[str, ...],
        web_acl_arn: str,
        log_bucket: s3.IBucket,
        certificate: acm.ICertificate | None,
    ) -> None:
        super().__init__(scope, construct_id)
        edge = config.edge_cache

        self.data_cache_policy = cloudfront.CachePolicy(
            self,
            "DataCachePolicy",
            comment="lakegate data routes: catalogue query strings + Accept + encoding",
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(*query_strings),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Accept"),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            min_ttl=Duration.seconds(edge.min_ttl_seconds),
            default_ttl=Duration.seconds(edge.default_ttl_seconds),
            max_ttl=Duration.seconds(edge.max_ttl_seconds),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        self.swagger_cache_policy = cloudfront.CachePolicy(
            self,
            "SwaggerCachePolicy",
            comment="lakegate /swagger: cached briefly, keyed on ?format",
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(
                *SWAGGER_QUERY_STRINGS
            ),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(edge.swagger_ttl_seconds),
            max_ttl=Duration.seconds(edge.swagger_ttl_seconds),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        # The origin sees every query string (not just the cache key's): the handler must
        # see unknown parameters to reject them with 400. Host is never forwarded: a
        # Function URL only answers to its own host name.
        self.data_origin_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "DataOriginRequestPolicy",
            comment="lakegate data and swagger: all query strings, Accept, If-None-Match",
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(*DATA_ORIGIN_HEADERS),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        # The token travels in its own header: CloudFront's SigV4 signature to the
        # Function URL occupies `Authorization`.
        self.admin_origin_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "AdminOriginRequestPolicy",
            comment="lakegate admin: all query strings, Accept, If-None-Match, admin token, payload hash",
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
            header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(
                *ADMIN_ORIGIN_HEADERS
            ),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.response_headers_policy = _security_headers(self)

        origin = origins.FunctionUrlOrigin.with_origin_access_control(
            function_url,
            # One second beyond the function's timeout, so the function's own timeout
            # (and the handler's shorter statement budget) answers first.
            read_timeout=Duration.seconds(config.function.timeout_seconds + 1),
        )

        def behaviour(
            cache_policy: cloudfront.ICachePolicy,
            origin_request_policy: cloudfront.IOriginRequestPolicy,
            *,
            read_only: bool,
        ) -> cloudfront.BehaviorOptions:
            # Every behaviour: the one origin, HTTPS only, the security headers.
            return cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                response_headers_policy=self.response_headers_policy,
                cache_policy=cache_policy,
                origin_request_policy=origin_request_policy,
                allowed_methods=(
                    cloudfront.AllowedMethods.ALLOW_GET_HEAD
                    if read_only
                    else cloudfront.AllowedMethods.ALLOW_ALL
                ),
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                # Compression only matters for cached bodies; admin answers are tiny.
                compress=read_only,
            )

        domain = config.domain
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"lakegate {config.env_name}",
            default_behavior=behaviour(
                self.data_cache_policy, self.data_origin_request_policy, read_only=True
            ),
            additional_behaviors={
                "/swagger*": behaviour(
                    self.swagger_cache_policy, self.data_origin_request_policy, read_only=True
                ),
                "/admin/*": behaviour(
                    cloudfront.CachePolicy.CACHING_DISABLED,
                    self.admin_origin_request_policy,
                    read_only=False,
                ),
            },
            # The data cache key holds only the catalogue's parameters, so a 400 for
            # `?year=2020&bogus=1` must not be cached: it would answer `?year=2020` too.
            error_responses=[cloudfront.ErrorResponse(http_status=400, ttl=Duration.seconds(0))],
            web_acl_id=web_acl_arn,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=PRICE_CLASSES[edge.price_class],
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            domain_names=[domain.name] if domain else None,
            certificate=certificate,
        )
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

        # The function needs the distribution id to create invalidations, but the
        # distribution needs the function's URL. Publishing the id in a parameter whose
        # *name* is fixed lets the function find it at runtime without a template cycle.
        self.distribution_id_parameter = ssm.StringParameter(
            self,
            "DistributionIdParameter",
            parameter_name=distribution_id_parameter_name(config.env_name),
            description="CloudFront distribution id of the lakegate API (read by the function)",
            string_value=self.distribution.distribution_id,
        )

        if domain is not None:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.zone_name
            )
            alias = route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution))
            route53.ARecord(self, "AliasV4", zone=zone, record_name=domain.name, target=alias)
            route53.AaaaRecord(self, "AliasV6", zone=zone, record_name=domain.name, target=alias)


def _security_headers(scope: Construct) -> cloudfront.ResponseHeadersPolicy:
    return cloudfront.ResponseHeadersPolicy(
        scope,
        "SecurityHeaders",
        comment="lakegate: HSTS, nosniff, frame DENY, no referrer",
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True
            ),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
            ),
        ),
    )
