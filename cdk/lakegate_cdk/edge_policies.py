"""The distribution's policies: what each behaviour keys its cache on, what it forwards to
the Function URL, and the response headers (security, CORS for listed origins, and the
viewers' Cache-Control of keyed datasets).

Keyed answers (a dataset with `access: key`, or every dataset when keys are required)
are CloudFront's to cache and nobody else's. CloudFront may share them between
consumers because the edge function checks each request's key before the cache is
looked up; a shared cache in front of CloudFront (a corporate proxy) checks nothing.
So the origin's Cache-Control (`s-maxage`, `stale-while-revalidate`, ...) sets
CloudFront's TTLs as on every dataset, and the keyed behaviours' response headers
policy replaces it in what viewers receive with `private, no-cache`: no shared cache
may store the answer (RFC 9111 §5.2.2.7), the consumer's browser may, revalidating
each use with its ETag, answered 304 by CloudFront after the function has checked the
key again. A response headers policy changes only what viewers see, never what
CloudFront caches. (`Cache-Control: private` from the origin would not do: with a
minimum TTL of 0, CloudFront does not cache private answers at all; and CloudFront
has no targeted field such as CDN-Cache-Control.)
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

from handler import cors as declared_cors
from handler.admin import ADMIN_TOKEN_HEADER
from handler.consumers import CONSUMER_HEADER, TIER_HEADER
from lakegate_cdk.config import EdgeCacheConfig

# Headers the handler reads. `Accept` picks the representation (JSON, CSV, ...), so it is
# part of the cache key; `If-None-Match` lets the origin answer 304 on revalidation.
ORIGIN_HEADERS = ("Accept", "If-None-Match")
# On data routes the function has replaced the viewer's `x-api-key` with who is asking
# and their tier (the origin's miss budgets). The key itself is never forwarded, and
# only the dataset behaviours, where a function runs, forward these two: elsewhere a
# viewer could set them itself, and CloudFront forwards no header a policy does not name.
DATA_ORIGIN_HEADERS = (*ORIGIN_HEADERS, CONSUMER_HEADER, TIER_HEADER)
# Admin POSTs go through Origin Access Control, which needs the viewer's payload hash
# (`x-amz-content-sha256`, of the empty body) to sign the request to the Function URL.
ADMIN_ORIGIN_HEADERS = (*ORIGIN_HEADERS, ADMIN_TOKEN_HEADER, "x-amz-content-sha256")
SWAGGER_QUERY_STRINGS = ("format",)

# What a browser on a listed origin may send and read, and how long it may cache a
# preflight: the origin's own declaration (handler.cors).
CORS_METHODS = declared_cors.METHODS
CORS_ALLOW_HEADERS = declared_cors.ALLOW_HEADERS
CORS_EXPOSE_HEADERS = declared_cors.EXPOSE_HEADERS
CORS_MAX_AGE = Duration.seconds(declared_cors.MAX_AGE_SECONDS)

HSTS_MAX_AGE = Duration.days(730)


@dataclass(frozen=True)
class OriginRequest:
    """What one kind of behaviour forwards to the Function URL. Host never is: a Function
    URL only answers to its own host name."""

    construct_id: str
    comment: str
    headers: tuple[str, ...]
    # Every query string (the origin validates them again), or none.
    query_strings: bool = True


DATA_ORIGIN_REQUEST = OriginRequest(
    "DataOriginRequestPolicy",
    "lakegate data: all query strings, Accept, If-None-Match, consumer and tier",
    DATA_ORIGIN_HEADERS,
)
SWAGGER_ORIGIN_REQUEST = OriginRequest(
    "SwaggerOriginRequestPolicy",
    "lakegate swagger: all query strings, Accept, If-None-Match",
    ORIGIN_HEADERS,
)
# See fallback_cache_policy: no query strings reach the function from here.
FALLBACK_ORIGIN_REQUEST = OriginRequest(
    "FallbackOriginRequestPolicy",
    "lakegate default behaviour: Accept, If-None-Match; no query strings",
    ORIGIN_HEADERS,
    query_strings=False,
)
# The token travels in its own header: CloudFront's SigV4 signature to the Function URL
# occupies `Authorization`.
ADMIN_ORIGIN_REQUEST = OriginRequest(
    "AdminOriginRequestPolicy",
    "lakegate admin: all query strings, Accept, If-None-Match, admin token, payload hash",
    ADMIN_ORIGIN_HEADERS,
)
# What viewers of keyed answers are told (see the module docstring).
KEYED_CACHE_CONTROL = "private, no-cache"


def data_cache_policy(scope: Construct, edge: EdgeCacheConfig) -> cloudfront.CachePolicy:
    return cloudfront.CachePolicy(
        scope,
        "DataCachePolicy",
        # Every query string: the gateway function has already refused unknown
        # parameters and put the rest in one canonical form, so equal queries share
        # an entry and the catalogue may grow past CloudFront's allow-list quota.
        comment="lakegate data routes: all (canonical) query strings + Accept + encoding",
        query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
        header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Accept"),
        cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        min_ttl=Duration.seconds(edge.min_ttl_seconds),
        default_ttl=Duration.seconds(edge.default_ttl_seconds),
        max_ttl=Duration.seconds(edge.max_ttl_seconds),
        enable_accept_encoding_gzip=True,
        enable_accept_encoding_brotli=True,
    )


def swagger_cache_policy(scope: Construct, edge: EdgeCacheConfig) -> cloudfront.CachePolicy:
    return cloudfront.CachePolicy(
        scope,
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


def fallback_cache_policy(scope: Construct, edge: EdgeCacheConfig) -> cloudfront.CachePolicy:
    # The default behaviour runs no function, so nothing has made its query strings
    # canonical or checked them: it keys on and forwards none (nothing it serves takes
    # one, and a cache buster cannot reach the function through it), and only the two
    # headers any route reads. Its answers are short-lived (healthz says no-store).
    return cloudfront.CachePolicy(
        scope,
        "FallbackCachePolicy",
        comment="lakegate default behaviour: path only, briefly cached",
        query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
        header_behavior=cloudfront.CacheHeaderBehavior.none(),
        cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        min_ttl=Duration.seconds(0),
        default_ttl=Duration.seconds(0),
        max_ttl=Duration.seconds(edge.swagger_ttl_seconds),
        enable_accept_encoding_gzip=True,
        enable_accept_encoding_brotli=True,
    )


def origin_request_policy(
    scope: Construct, request: OriginRequest
) -> cloudfront.OriginRequestPolicy:
    """The policy forwarding what `request` declares, and no cookie."""
    query_strings = cloudfront.OriginRequestQueryStringBehavior
    return cloudfront.OriginRequestPolicy(
        scope,
        request.construct_id,
        comment=request.comment,
        query_string_behavior=query_strings.all()
        if request.query_strings
        else query_strings.none(),
        header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list(*request.headers),
        cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
    )


def data_response_headers(
    scope: Construct, cors_origins: tuple[str, ...]
) -> cloudfront.ResponseHeadersPolicy | None:
    # No listed origins, no CORS policy: the data behaviour gets the security headers.
    if not cors_origins:
        return None
    return response_headers(scope, "DataResponseHeaders", cors_origins=cors_origins)


def keyed_data_response_headers(
    scope: Construct, cors_origins: tuple[str, ...]
) -> cloudfront.ResponseHeadersPolicy:
    """The data behaviours' headers, viewers' Cache-Control replaced: for keyed datasets."""
    return response_headers(
        scope, "KeyedDataResponseHeaders", cors_origins=cors_origins, private=True
    )


def response_headers(
    scope: Construct, construct_id: str, *, cors_origins: tuple[str, ...], private: bool = False
) -> cloudfront.ResponseHeadersPolicy:
    """The security headers, with CORS for `cors_origins` when there are any, and with
    viewers told KEYED_CACHE_CONTROL when `private`.

    A behaviour takes one response headers policy, so the data behaviour's CORS policy
    repeats the security headers.
    """
    cors = None
    if cors_origins:
        cors = cloudfront.ResponseHeadersCorsBehavior(
            access_control_allow_origins=list(cors_origins),
            access_control_allow_methods=list(CORS_METHODS),
            access_control_allow_headers=list(CORS_ALLOW_HEADERS),
            access_control_expose_headers=list(CORS_EXPOSE_HEADERS),
            access_control_max_age=CORS_MAX_AGE,
            # Consumers authenticate with a header, never a cookie (config refuses
            # anything else), so browsers are never told to send credentials.
            access_control_allow_credentials=False,
            # CloudFront's answer wins over any CORS header the origin might send.
            origin_override=True,
        )
    custom = None
    if private:
        custom = cloudfront.ResponseCustomHeadersBehavior(
            custom_headers=[
                cloudfront.ResponseCustomHeader(
                    header="Cache-Control", value=KEYED_CACHE_CONTROL, override=True
                )
            ]
        )
    return cloudfront.ResponseHeadersPolicy(
        scope,
        construct_id,
        comment="lakegate: HSTS, nosniff, frame DENY, no referrer"
        + (", CORS" if cors else "")
        + (", private to viewers" if private else ""),
        cors_behavior=cors,
        custom_headers_behavior=custom,
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
