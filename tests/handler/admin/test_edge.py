"""The edge: which paths are purged, and how a CloudFront or SSM failure is reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SSMProvider
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from handler.admin.edge import (
    DistributionIdUnavailable,
    EdgeInvalidator,
    edge_paths,
    ssm_distribution_id,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudfront.type_defs import DistributionConfigTypeDef, OriginTypeDef


def test_every_query_string_variant_of_a_route_is_covered() -> None:
    assert edge_paths(["/v1/drivers", "/v1/other"]) == ("/v1/drivers*", "/v1/other*")


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        origin: OriginTypeDef = {
            "Id": "o",
            "DomainName": "example.invalid",
            "CustomOriginConfig": {
                "HTTPPort": 80,
                "HTTPSPort": 443,
                "OriginProtocolPolicy": "https-only",
            },
        }
        config: DistributionConfigTypeDef = {
            "CallerReference": "test",
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {
                "TargetOriginId": "o",
                "ViewerProtocolPolicy": "https-only",
                "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            },
        }
        created = cloudfront.create_distribution(DistributionConfig=config)
        distribution = created["Distribution"]["Id"]
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/lakegate/test/distribution-id", Value=distribution, Type="String")
        yield {"cloudfront": cloudfront, "ssm": ssm, "distribution": distribution}


def test_an_invalidation_is_created_on_the_distribution_named_in_ssm(aws: dict[str, Any]) -> None:
    provider = SSMProvider(boto3_client=aws["ssm"])
    edge = EdgeInvalidator(
        lambda: aws["cloudfront"],
        ssm_distribution_id(lambda: provider, "/lakegate/test/distribution-id"),
    )
    result = edge.invalidate(["/v1/drivers*"], reference="request-1")
    assert result.status == "created" and result.distribution_id == aws["distribution"]
    assert result.invalidation_id is not None
    recorded = aws["cloudfront"].get_invalidation(
        DistributionId=aws["distribution"], Id=result.invalidation_id
    )["Invalidation"]["InvalidationBatch"]
    assert recorded["Paths"]["Items"] == ["/v1/drivers*"]
    assert recorded["CallerReference"] == "request-1"


def test_the_distribution_id_is_read_once_and_cached(aws: dict[str, Any]) -> None:
    provider = SSMProvider(boto3_client=aws["ssm"])
    distribution_id = ssm_distribution_id(lambda: provider, "/lakegate/test/distribution-id")
    assert distribution_id() == aws["distribution"]
    aws["ssm"].delete_parameter(Name="/lakegate/test/distribution-id")
    assert distribution_id() == aws["distribution"]


def test_without_a_parameter_there_is_no_distribution() -> None:
    assert ssm_distribution_id(lambda: None, None)() is None  # type: ignore[arg-type,return-value]


def test_an_unreadable_parameter_fails_the_edge_only(aws: dict[str, Any]) -> None:
    provider = SSMProvider(boto3_client=aws["ssm"])
    distribution_id = ssm_distribution_id(lambda: provider, "/lakegate/test/missing")
    with pytest.raises(DistributionIdUnavailable):
        distribution_id()
    result = EdgeInvalidator(lambda: aws["cloudfront"], distribution_id).invalidate(
        ["/v1/drivers*"], "request-2"
    )
    assert (result.status, result.reason) == ("failed", "distribution id parameter unreadable")


class Unreachable:
    def create_invalidation(self, **_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://cloudfront.amazonaws.com")


@pytest.mark.parametrize(
    ("cloudfront", "reason"),
    [
        (Unreachable(), "CloudFront invalidation failed (EndpointConnectionError)"),
        (None, "CloudFront invalidation failed (NoSuchDistribution)"),
    ],
)
def test_cloudfront_failures_are_reported_not_raised(
    aws: dict[str, Any], cloudfront: Any, reason: str
) -> None:
    client = cloudfront or aws["cloudfront"]
    result = EdgeInvalidator(lambda: client, lambda: "ENOSUCHDIST").invalidate(["/v1/x*"], "r")
    assert result.as_dict() == {
        "status": "failed",
        "paths": ["/v1/x*"],
        "distribution_id": "ENOSUCHDIST",
        "reason": reason,
    }
