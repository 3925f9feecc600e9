"""CloudFront: policies, behaviours and the gateway on them, headers, CORS, TLS, logs, DNS."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from aws_cdk import App
from aws_cdk.assertions import Match, Template
from lakegate_cdk import edge_policies
from lakegate_cdk.application import build

from handler.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from handler.consumers import CONSUMER_HEADER, TIER_HEADER
from handler.cors import EXPOSE_HEADERS as EXPOSED
from local import nginx_config as local_edge

from .conftest import Synthesized

ROLE = "Api"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def _config(env: Synthesized) -> dict[str, Any]:
    (distribution,) = env.template(ROLE).find_resources("AWS::CloudFront::Distribution").values()
    config: dict[str, Any] = distribution["Properties"]["DistributionConfig"]
    return config


def _behaviours(env: Synthesized) -> dict[str, dict[str, Any]]:
    config = _config(env)
    return {"*": config["DefaultCacheBehavior"]} | {
        b["PathPattern"]: b for b in config["CacheBehaviors"]
    }


def _ref(env: Synthesized, construct: object) -> dict[str, Any]:
    return {"Ref": env.logical_id(ROLE, construct)}


def _resource(env: Synthesized, kind: str, construct: object) -> dict[str, Any]:
    resource: dict[str, Any] = env.template(ROLE).find_resources(kind)[
        env.logical_id(ROLE, construct)
    ]
    return resource


SECURITY_HEADERS = {
    "StrictTransportSecurity": {
        "AccessControlMaxAgeSec": 63_072_000,
        "IncludeSubdomains": True,
        "Override": True,
    },
    "ContentTypeOptions": {"Override": True},
    "FrameOptions": {"FrameOption": "DENY", "Override": True},
    "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
}


# --- policies ------------------------------------------------------------------------


def test_data_cache_policy_keys_on_every_query_string(env: Synthesized) -> None:
    """The gateway made them canonical: no allow list, so nothing caps the catalogue."""
    edge = env.config.edge_cache
    resource = _resource(env, "AWS::CloudFront::CachePolicy", env.stacks.api.edge.data_cache_policy)
    config = resource["Properties"]["CachePolicyConfig"]
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (
        edge.min_ttl_seconds,
        edge.default_ttl_seconds,
        edge.max_ttl_seconds,
    )
    assert config["ParametersInCacheKeyAndForwardedToOrigin"] == {
        "QueryStringsConfig": {"QueryStringBehavior": "all"},
        "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": ["Accept"]},
        "CookiesConfig": {"CookieBehavior": "none"},
        "EnableAcceptEncodingGzip": True,
        "EnableAcceptEncodingBrotli": True,
    }


def test_every_dataset_ttl_fits_the_edge_max_ttl(env: Synthesized) -> None:
    for dataset in load_catalogue().datasets:
        assert dataset.freshness.ttl_seconds <= env.config.edge_cache.max_ttl_seconds


def test_swagger_cache_policy_is_brief(env: Synthesized) -> None:
    ttl = env.config.edge_cache.swagger_ttl_seconds
    resource = _resource(
        env, "AWS::CloudFront::CachePolicy", env.stacks.api.edge.swagger_cache_policy
    )
    config = resource["Properties"]["CachePolicyConfig"]
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, ttl, ttl)
    assert config["ParametersInCacheKeyAndForwardedToOrigin"] == {
        "QueryStringsConfig": {"QueryStringBehavior": "whitelist", "QueryStrings": ["format"]},
        "HeadersConfig": {"HeaderBehavior": "none"},
        "CookiesConfig": {"CookieBehavior": "none"},
        "EnableAcceptEncodingGzip": True,
        "EnableAcceptEncodingBrotli": True,
    }


@pytest.mark.parametrize(
    ("policy", "headers"),
    [
        # The function's consumer and tier, on the one behaviour where it sets them.
        (
            "data_origin_request_policy",
            ["Accept", "If-None-Match", "x-lakegate-consumer", "x-lakegate-tier"],
        ),
        ("swagger_origin_request_policy", ["Accept", "If-None-Match"]),
        (
            "admin_origin_request_policy",
            ["Accept", "If-None-Match", "x-lakegate-admin-token", "x-amz-content-sha256"],
        ),
    ],
)
def test_origin_request_policies_forward_only_what_the_handler_reads(
    env: Synthesized, policy: str, headers: list[str]
) -> None:
    construct = getattr(env.stacks.api.edge, policy)
    resource = _resource(env, "AWS::CloudFront::OriginRequestPolicy", construct)
    config = resource["Properties"]["OriginRequestPolicyConfig"]
    # All query strings: the handler still validates what it is given.
    assert config["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert config["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": headers}
    assert config["CookiesConfig"] == {"CookieBehavior": "none"}


def test_the_api_key_never_reaches_the_origin(env: Synthesized) -> None:
    """Not forwarded by any policy (so not in the origin's logs), nor part of a cache key."""
    template = env.template(ROLE)
    for kind, path in (
        ("AWS::CloudFront::OriginRequestPolicy", ("OriginRequestPolicyConfig", "HeadersConfig")),
        (
            "AWS::CloudFront::CachePolicy",
            ("CachePolicyConfig", "ParametersInCacheKeyAndForwardedToOrigin", "HeadersConfig"),
        ),
    ):
        for resource in template.find_resources(kind).values():
            headers = resource["Properties"]
            for step in path:
                headers = headers[step]
            assert headers["HeaderBehavior"] in ("whitelist", "none")
            assert "x-api-key" not in [h.lower() for h in headers.get("Headers", [])]


def test_security_headers_policy(env: Synthesized) -> None:
    resource = _resource(
        env, "AWS::CloudFront::ResponseHeadersPolicy", env.stacks.api.edge.response_headers_policy
    )
    config = resource["Properties"]["ResponseHeadersPolicyConfig"]
    assert config["SecurityHeadersConfig"] == SECURITY_HEADERS
    assert "CorsConfig" not in config


def test_data_cors_policy_allows_the_configured_origins_without_credentials(
    env: Synthesized,
) -> None:
    origins = env.config.gateway.cors_origins
    assert origins  # both shipped environments list some; see the probe below for none
    policy = env.stacks.api.edge.data_response_headers_policy
    resource = _resource(env, "AWS::CloudFront::ResponseHeadersPolicy", policy)
    config = resource["Properties"]["ResponseHeadersPolicyConfig"]
    assert config["CorsConfig"] == {
        "AccessControlAllowOrigins": {"Items": list(origins)},
        "AccessControlAllowMethods": {"Items": ["GET", "HEAD", "OPTIONS"]},
        "AccessControlAllowHeaders": {"Items": ["x-api-key", "if-none-match", "accept"]},
        # What dashboards read in JavaScript: pages, validators, counts, back-off.
        "AccessControlExposeHeaders": {"Items": list(EXPOSED)},
        "AccessControlAllowCredentials": False,
        "AccessControlMaxAgeSec": 600,
        "OriginOverride": True,
    }
    # One policy per behaviour: the CORS one must carry the security headers too.
    assert config["SecurityHeadersConfig"] == SECURITY_HEADERS


def test_no_cors_origins_no_cors_policy(dev: Synthesized) -> None:
    gateway = dev.config.gateway.model_copy(update={"cors_origins": ()})
    stacks = build(App(), dev.config.model_copy(update={"gateway": gateway}))
    template = Template.from_stack(stacks.api)
    (policy,) = template.find_resources("AWS::CloudFront::ResponseHeadersPolicy").values()
    assert "CorsConfig" not in policy["Properties"]["ResponseHeadersPolicyConfig"]
    assert stacks.api.edge.data_response_headers_policy is None
    (distribution,) = template.find_resources("AWS::CloudFront::Distribution").values()
    default = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    security = stacks.api.resolve(
        stacks.api.edge.response_headers_policy.node.default_child.logical_id
    )
    assert default["ResponseHeadersPolicyId"] == {"Ref": security}
    # The environment still tells the origin there are none.
    fn = template.find_resources("AWS::Lambda::Function")[
        stacks.api.resolve(stacks.api.api.function.node.default_child.logical_id)
    ]
    assert fn["Properties"]["Environment"]["Variables"]["LAKEGATE_CORS_ORIGINS"] == ""


def test_public_datasets_need_no_private_policy(env: Synthesized) -> None:
    assert env.stacks.api.gateway.keyed_routes == frozenset()
    assert env.stacks.api.edge.keyed_data_response_headers_policy is None


def test_the_local_edge_tells_viewers_what_the_keyed_policy_does() -> None:
    assert local_edge.KEYED_CACHE_CONTROL == edge_policies.KEYED_CACHE_CONTROL


def _keyed_catalogue() -> Catalogue:
    document = load_catalogue().model_dump(mode="json")
    drivers = document["datasets"][0]
    document["datasets"].append({**drivers, "name": "keyed", "title": "For keys", "access": "key"})
    return Catalogue.model_validate(document)


def _policy_of(template: Template, stack: Any, behaviour: dict[str, Any]) -> dict[str, Any]:
    (logical_id,) = behaviour["ResponseHeadersPolicyId"].values()
    policies = template.find_resources("AWS::CloudFront::ResponseHeadersPolicy")
    config: dict[str, Any] = policies[logical_id]["Properties"]["ResponseHeadersPolicyConfig"]
    return config


@pytest.mark.parametrize("require_keys", [False, True])
def test_keyed_answers_are_private_to_viewers_and_cached_by_cloudfront(
    dev: Synthesized, require_keys: bool
) -> None:
    gateway = dev.config.gateway.model_copy(update={"require_keys": require_keys})
    config = dev.config.model_copy(update={"gateway": gateway})
    stacks = build(App(), config, _keyed_catalogue())
    template = Template.from_stack(stacks.api)
    (distribution,) = template.find_resources("AWS::CloudFront::Distribution").values()
    behaviours = {
        b["PathPattern"]: b
        for b in distribution["Properties"]["DistributionConfig"]["CacheBehaviors"]
    }
    keyed = {"/v1/keyed"} | ({"/v1/drivers", "/v1/crashes"} if require_keys else set())
    assert stacks.api.gateway.keyed_routes == keyed
    data_cache = stacks.api.resolve(stacks.api.edge.data_cache_policy.node.default_child.logical_id)
    for route in ("/v1/keyed", "/v1/drivers", "/v1/crashes"):
        behaviour = behaviours[route]
        # CloudFront caches keyed answers as any other: the function checked the key first.
        assert behaviour["CachePolicyId"] == {"Ref": data_cache}
        policy = _policy_of(template, stacks.api, behaviour)
        assert policy["SecurityHeadersConfig"] == SECURITY_HEADERS
        assert policy["CorsConfig"]["AccessControlAllowOrigins"]["Items"] == list(
            config.gateway.cors_origins
        )
        custom = policy.get("CustomHeadersConfig", {}).get("Items", [])
        if route in keyed:
            assert custom == [
                {"Header": "Cache-Control", "Value": "private, no-cache", "Override": True}
            ]
        else:
            assert custom == []


# --- behaviours ----------------------------------------------------------------------


def _routes() -> set[str]:
    return {d.route for d in load_catalogue().datasets}


def test_a_behaviour_per_dataset_besides_discovery_swagger_admin_and_the_default(
    env: Synthesized,
) -> None:
    assert set(_behaviours(env)) == {"*", "/v1", "/swagger*", "/admin/*"} | _routes()


def test_discovery_is_cached_on_its_path_alone_with_the_data_routes_cors(
    env: Synthesized,
) -> None:
    edge = env.stacks.api.edge
    discovery = _behaviours(env)["/v1"]
    assert "FunctionAssociations" not in discovery
    assert discovery["AllowedMethods"] == ["GET", "HEAD"]
    assert discovery["CachePolicyId"] == _ref(env, edge.fallback_cache_policy)
    assert discovery["OriginRequestPolicyId"] == _ref(env, edge.fallback_origin_request_policy)
    assert discovery["ResponseHeadersPolicyId"] == _ref(env, edge.data_response_headers_policy)


def test_each_dataset_behaviour_is_cached_read_only_behind_the_gateway_function(
    env: Synthesized,
) -> None:
    edge = env.stacks.api.edge
    function = env.stacks.api.gateway.function
    behaviours = _behaviours(env)
    for route in _routes():
        data = behaviours[route]
        # OPTIONS reaches the gateway, which answers CORS preflights; only GET/HEAD cached.
        assert data["AllowedMethods"] == ["GET", "HEAD", "OPTIONS"]
        assert data["CachedMethods"] == ["GET", "HEAD"]
        assert data["CachePolicyId"] == _ref(env, edge.data_cache_policy)
        assert data["OriginRequestPolicyId"] == _ref(env, edge.data_origin_request_policy)
        assert data["ResponseHeadersPolicyId"] == _ref(env, edge.data_response_headers_policy)
        assert data["Compress"] is True
        assert data["FunctionAssociations"] == [
            {
                "EventType": "viewer-request",
                "FunctionARN": {"Fn::GetAtt": [env.logical_id(ROLE, function), "FunctionARN"]},
            }
        ]


def test_default_behaviour_runs_no_function_and_forwards_no_query_strings(
    env: Synthesized,
) -> None:
    edge = env.stacks.api.edge
    default = _behaviours(env)["*"]
    assert "FunctionAssociations" not in default
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert default["CachePolicyId"] == _ref(env, edge.fallback_cache_policy)
    assert default["OriginRequestPolicyId"] == _ref(env, edge.fallback_origin_request_policy)
    policy = _resource(
        env, "AWS::CloudFront::OriginRequestPolicy", edge.fallback_origin_request_policy
    )["Properties"]["OriginRequestPolicyConfig"]
    assert policy["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    cache = _resource(env, "AWS::CloudFront::CachePolicy", edge.fallback_cache_policy)
    keyed = cache["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keyed["QueryStringsConfig"] == {"QueryStringBehavior": "none"}


def test_only_behaviours_with_a_function_forward_the_consumer_headers(env: Synthesized) -> None:
    """A viewer's own x-lakegate-consumer / -tier never reach the origin: where no function
    replaced them, no policy names them, and CloudFront forwards no other header."""
    policies = env.template(ROLE).find_resources("AWS::CloudFront::OriginRequestPolicy")
    cache_policies = env.template(ROLE).find_resources("AWS::CloudFront::CachePolicy")
    for pattern, behaviour in _behaviours(env).items():
        forwarded: list[str] = []
        origin_policy = policies.get(behaviour["OriginRequestPolicyId"].get("Ref", ""))
        if origin_policy:
            config = origin_policy["Properties"]["OriginRequestPolicyConfig"]
            forwarded += config["HeadersConfig"].get("Headers", [])
            assert config["HeadersConfig"]["HeaderBehavior"] in ("whitelist", "none")
        cache_ref = behaviour["CachePolicyId"]
        if isinstance(cache_ref, dict):
            config = cache_policies[cache_ref["Ref"]]["Properties"]["CachePolicyConfig"]
            headers = config["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]
            forwarded += headers.get("Headers", [])
        spoofable = {h.lower() for h in forwarded} & {CONSUMER_HEADER, TIER_HEADER}
        assert bool(spoofable) == ("FunctionAssociations" in behaviour), pattern


def test_origin_shield_in_the_configured_region(env: Synthesized) -> None:
    (origin,) = _config(env)["Origins"]
    assert origin["OriginShield"] == {
        "Enabled": True,
        "OriginShieldRegion": env.config.edge_cache.origin_shield_region,
    }


def test_additional_metrics_are_on_for_the_cache_hit_rate(env: Synthesized) -> None:
    env.template(ROLE).has_resource_properties(
        "AWS::CloudFront::MonitoringSubscription",
        {
            "MonitoringSubscription": {
                "RealtimeMetricsSubscriptionConfig": {
                    "RealtimeMetricsSubscriptionStatus": "Enabled"
                }
            }
        },
    )


def test_more_datasets_than_cache_behaviours_is_a_config_error(dev: Synthesized) -> None:
    from lakegate_cdk.config import ConfigError
    from lakegate_cdk.distribution import FIXED_BEHAVIOURS, MAX_CACHE_BEHAVIOURS

    too_many = MAX_CACHE_BEHAVIOURS - len(FIXED_BEHAVIOURS) + 1
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    template = document["datasets"][0]
    document["datasets"] = [{**template, "name": f"d{n}"} for n in range(too_many)]
    with pytest.raises(ConfigError, match="cache behaviours"):
        build(App(), dev.config, Catalogue.model_validate(document))


def test_swagger_and_admin_run_no_function(env: Synthesized) -> None:
    behaviours = _behaviours(env)
    for pattern in ("/v1", "/swagger*", "/admin/*", "*"):
        assert "FunctionAssociations" not in behaviours[pattern]
        assert "LambdaFunctionAssociations" not in behaviours[pattern]


def test_swagger_behaviour_uses_the_brief_policy(env: Synthesized) -> None:
    edge = env.stacks.api.edge
    swagger = _behaviours(env)["/swagger*"]
    assert swagger["AllowedMethods"] == ["GET", "HEAD"]
    assert swagger["CachePolicyId"] == _ref(env, edge.swagger_cache_policy)
    assert swagger["OriginRequestPolicyId"] == _ref(env, edge.swagger_origin_request_policy)


def test_admin_behaviour_is_uncached_with_all_methods(env: Synthesized) -> None:
    admin = _behaviours(env)["/admin/*"]
    assert admin["CachePolicyId"] == CACHING_DISABLED
    assert set(admin["AllowedMethods"]) == {
        "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"
    }  # fmt: skip
    assert admin["OriginRequestPolicyId"] == _ref(
        env, env.stacks.api.edge.admin_origin_request_policy
    )


def test_every_behaviour_is_https_only_with_security_headers(env: Synthesized) -> None:
    edge = env.stacks.api.edge
    security = _ref(env, edge.response_headers_policy)
    origin_id = _config(env)["Origins"][0]["Id"]
    behaviours = _behaviours(env)
    for pattern, behaviour in behaviours.items():
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        assert behaviour["TargetOriginId"] == origin_id
        if pattern not in {*_routes(), "/v1"}:  # a CORS policy repeats them (tested above)
            assert behaviour["ResponseHeadersPolicyId"] == security


# --- origin --------------------------------------------------------------------------


def test_single_origin_is_the_function_url_through_oac(env: Synthesized) -> None:
    (origin,) = _config(env)["Origins"]
    url = env.logical_id(ROLE, env.stacks.api.api.url)
    assert origin["DomainName"] == {
        "Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": [url, "FunctionUrl"]}]}]
    }
    assert origin["CustomOriginConfig"] == {
        "OriginProtocolPolicy": "https-only",
        "OriginSSLProtocols": ["TLSv1.2"],
        "OriginReadTimeout": env.config.function.timeout_seconds + 1,
    }
    assert "OriginAccessControlId" in origin
    env.template(ROLE).has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {
                    "OriginAccessControlOriginType": "lambda",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            )
        },
    )


# --- distribution-wide ---------------------------------------------------------------


def test_waf_is_attached_from_us_east_1(env: Synthesized) -> None:
    web_acl = _config(env)["WebACLId"]
    # The hand-off parameter the edge security stack writes here, resolved at deploy.
    parameter = env.raw(ROLE)["Parameters"][web_acl["Ref"]]
    assert parameter["Default"] == f"/lakegate/{env.config.env_name}/handoff/web-acl-arn"


def test_access_logging_goes_to_the_log_bucket(env: Synthesized) -> None:
    assert _config(env)["Logging"] == {
        "Bucket": {
            "Fn::GetAtt": [env.logical_id(ROLE, env.stacks.api.access_logs), "RegionalDomainName"]
        },
        "Prefix": "cloudfront/",
    }


def test_400s_are_never_cached(env: Synthesized) -> None:
    assert _config(env)["CustomErrorResponses"] == [{"ErrorCode": 400, "ErrorCachingMinTTL": 0}]


def test_protocol_and_price_settings(env: Synthesized) -> None:
    config = _config(env)
    assert config["Enabled"] is True
    assert config["HttpVersion"] == "http2and3"
    assert config["PriceClass"] == env.config.edge_cache.price_class


def test_dev_uses_the_cloudfront_name_only(dev: Synthesized) -> None:
    config = _config(dev)
    assert "Aliases" not in config
    assert "ViewerCertificate" not in config
    dev.template(ROLE).resource_count_is("AWS::Route53::RecordSet", 0)


def test_prod_custom_domain_with_tls_1_2(prod: Synthesized) -> None:
    domain = prod.config.domain
    assert domain is not None
    config = _config(prod)
    assert config["Aliases"] == [domain.name]
    certificate = config["ViewerCertificate"]
    assert certificate["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate["SslSupportMethod"] == "sni-only"
    parameter = prod.raw(ROLE)["Parameters"][certificate["AcmCertificateArn"]["Ref"]]
    assert parameter["Default"] == "/lakegate/prod/handoff/certificate-arn"
    template = prod.template(ROLE)
    for record_type in ("A", "AAAA"):
        template.has_resource_properties(
            "AWS::Route53::RecordSet",
            {
                "Name": f"{domain.name}.",
                "Type": record_type,
                "HostedZoneId": domain.hosted_zone_id,
                "AliasTarget": {
                    "DNSName": {
                        "Fn::GetAtt": [
                            prod.logical_id(ROLE, prod.stacks.api.edge.distribution),
                            "DomainName",
                        ]
                    },
                    "HostedZoneId": Match.any_value(),
                },
            },
        )
