"""CloudFront: policies generated from the catalogue, behaviours, headers, TLS, logs, DNS."""

from __future__ import annotations

import pytest
import yaml
from aws_cdk.assertions import Match
from lakegate_cdk.distribution import MAX_CACHE_KEY_QUERY_STRINGS, cache_key_query_strings

from handler.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue

from .conftest import Synthesized

ROLE = "Api"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def _config(env: Synthesized) -> dict:
    (distribution,) = env.template(ROLE).find_resources("AWS::CloudFront::Distribution").values()
    return distribution["Properties"]["DistributionConfig"]


def _behaviours(env: Synthesized) -> dict[str, dict]:
    config = _config(env)
    return {"*": config["DefaultCacheBehavior"]} | {
        b["PathPattern"]: b for b in config["CacheBehaviors"]
    }


def _ref(env: Synthesized, construct: object) -> dict:
    return {"Ref": env.logical_id(ROLE, construct)}


# --- policies ------------------------------------------------------------------------


def test_query_string_allow_list_is_the_catalogue_union() -> None:
    catalogue = load_catalogue()
    expected = sorted({p for d in catalogue.datasets for p in d.query_parameter_names()})
    assert list(cache_key_query_strings(catalogue)) == expected
    assert {"fields", "limit", "offset", "format"} <= set(expected)


def test_too_many_query_strings_is_a_clear_error() -> None:
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    dataset = document["datasets"][0]
    filters = [{"name": f"p{i}", "column": "year", "type": "integer"} for i in range(10)]
    dataset["filters"] = [*dataset["filters"], *filters]
    catalogue = Catalogue.model_validate(document)
    assert len(catalogue.query_parameter_names()) > MAX_CACHE_KEY_QUERY_STRINGS
    with pytest.raises(ValueError, match="quota"):
        cache_key_query_strings(catalogue)


def test_data_cache_policy(env: Synthesized) -> None:
    catalogue = load_catalogue()
    edge = env.config.edge_cache
    env.template(ROLE).has_resource_properties(
        "AWS::CloudFront::CachePolicy",
        {
            "CachePolicyConfig": {
                "Name": Match.any_value(),
                "Comment": Match.any_value(),
                "MinTTL": edge.min_ttl_seconds,
                "DefaultTTL": edge.default_ttl_seconds,
                "MaxTTL": edge.max_ttl_seconds,
                "ParametersInCacheKeyAndForwardedToOrigin": {
                    "QueryStringsConfig": {
                        "QueryStringBehavior": "whitelist",
                        "QueryStrings": sorted(
                            {p for d in catalogue.datasets for p in d.query_parameter_names()}
                        ),
                    },
                    "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": ["Accept"]},
                    "CookiesConfig": {"CookieBehavior": "none"},
                    "EnableAcceptEncodingGzip": True,
                    "EnableAcceptEncodingBrotli": True,
                },
            }
        },
    )


def test_every_dataset_ttl_fits_the_edge_max_ttl(env: Synthesized) -> None:
    for dataset in load_catalogue().datasets:
        assert dataset.freshness.ttl_seconds <= env.config.edge_cache.max_ttl_seconds


def test_swagger_cache_policy_is_brief(env: Synthesized) -> None:
    ttl = env.config.edge_cache.swagger_ttl_seconds
    env.template(ROLE).has_resource_properties(
        "AWS::CloudFront::CachePolicy",
        {
            "CachePolicyConfig": Match.object_like(
                {
                    "MinTTL": 0,
                    "DefaultTTL": ttl,
                    "MaxTTL": ttl,
                    "ParametersInCacheKeyAndForwardedToOrigin": {
                        "QueryStringsConfig": {
                            "QueryStringBehavior": "whitelist",
                            "QueryStrings": ["format"],
                        },
                        "HeadersConfig": {"HeaderBehavior": "none"},
                        "CookiesConfig": {"CookieBehavior": "none"},
                        "EnableAcceptEncodingGzip": True,
                        "EnableAcceptEncodingBrotli": True,
                    },
                }
            )
        },
    )


@pytest.mark.parametrize(
    ("policy", "headers"),
    [
        ("data_origin_request_policy", ["Accept", "If-None-Match"]),
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
    resource = env.template(ROLE).find_resources("AWS::CloudFront::OriginRequestPolicy")[
        env.logical_id(ROLE, construct)
    ]
    config = resource["Properties"]["OriginRequestPolicyConfig"]
    # All query strings: the handler must see unknown parameters to answer 400.
    assert config["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert config["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": headers}
    assert config["CookiesConfig"] == {"CookieBehavior": "none"}


def test_response_headers_policy_sets_security_headers(env: Synthesized) -> None:
    env.template(ROLE).has_resource_properties(
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": Match.object_like(
                {
                    "SecurityHeadersConfig": {
                        "StrictTransportSecurity": {
                            "AccessControlMaxAgeSec": 63_072_000,
                            "IncludeSubdomains": True,
                            "Override": True,
                        },
                        "ContentTypeOptions": {"Override": True},
                        "FrameOptions": {"FrameOption": "DENY", "Override": True},
                        "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
                    }
                }
            )
        },
    )


# --- behaviours ----------------------------------------------------------------------


def test_three_behaviours(env: Synthesized) -> None:
    assert set(_behaviours(env)) == {"*", "/swagger*", "/admin/*"}


def test_data_behaviour_is_cached_read_only(env: Synthesized) -> None:
    edge = env.stacks.api.edge
    data = _behaviours(env)["*"]
    assert data["AllowedMethods"] == ["GET", "HEAD"]
    assert data["CachedMethods"] == ["GET", "HEAD"]
    assert data["CachePolicyId"] == _ref(env, edge.data_cache_policy)
    assert data["OriginRequestPolicyId"] == _ref(env, edge.data_origin_request_policy)
    assert data["Compress"] is True


def test_swagger_behaviour_uses_the_brief_policy(env: Synthesized) -> None:
    edge = env.stacks.api.edge
    swagger = _behaviours(env)["/swagger*"]
    assert swagger["AllowedMethods"] == ["GET", "HEAD"]
    assert swagger["CachePolicyId"] == _ref(env, edge.swagger_cache_policy)
    assert swagger["OriginRequestPolicyId"] == _ref(env, edge.data_origin_request_policy)


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
    headers = _ref(env, env.stacks.api.edge.response_headers_policy)
    origin_id = _config(env)["Origins"][0]["Id"]
    for behaviour in _behaviours(env).values():
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        assert behaviour["ResponseHeadersPolicyId"] == headers
        assert behaviour["TargetOriginId"] == origin_id


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
    # A cross-region reference: read by CDK's export reader from us-east-1 SSM.
    assert web_acl["Fn::GetAtt"][0].startswith("ExportsReader")
    assert "WebAclArn" in web_acl["Fn::GetAtt"][1]


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
    assert certificate["AcmCertificateArn"]["Fn::GetAtt"][0].startswith("ExportsReader")
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
