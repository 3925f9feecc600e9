"""Local AWS: moto's server in its own process, speaking the real AWS wire protocols.

boto3 reaches it exactly as it reaches AWS, only with an endpoint URL. A separate
process keeps moto's work off the handler's GIL, as a real service would be.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any, Self

import boto3
from botocore.exceptions import ClientError

from local.processes import StartupError, free_port, start_listening, stop_process
from local.running import Running

REGION = "us-east-1"
CACHE_TABLE = "lakegate-cache"
CACHE_BUCKET = "lakegate-cache-overflow"
# moto accepts any credentials; these keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "lakegate-local",
    "AWS_SECRET_ACCESS_KEY": "lakegate-local",
}


def use_local_credentials() -> None:
    """Give boto3 fake credentials unless the developer has some (moto ignores them)."""
    for name, value in FAKE_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)


class MotoServer(Running):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self, timeout: float = 30.0) -> Self:
        command = [sys.executable, "-m", "local.moto_server", self.host, str(self.port)]
        try:
            self._process = start_listening(command, self.host, self.port, timeout)
        except StartupError as error:
            raise StartupError(f"moto server {error}") from None
        # A stack that forgets to stop (a crashed test run) must not leave moto behind.
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)
            atexit.unregister(self.stop)


def create_cache_resources(
    endpoint_url: str, table: str = CACHE_TABLE, bucket: str = CACHE_BUCKET
) -> None:
    """The cache table (TTL on `expires_at`) and the overflow bucket, as the CDK stack makes them."""
    use_local_credentials()
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=REGION)
    try:
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=REGION)
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


ADMIN_TOKEN_SECRET = "lakegate/local/admin-token"
DISTRIBUTION_ID_PARAMETER = "/lakegate/local/distribution-id"


@dataclass(frozen=True)
class AdminResources:
    secret_arn: str
    distribution_id: str
    distribution_id_parameter: str


def create_admin_resources(endpoint_url: str, token: str) -> AdminResources:
    """The admin token secret, a CloudFront distribution and the SSM parameter naming it.

    As the CDK stack makes them: the function finds the distribution through the
    parameter, and the token's AWSCURRENT version is `token`.
    """
    use_local_credentials()
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint_url, region_name=REGION)
    try:
        arn = secrets.create_secret(Name=ADMIN_TOKEN_SECRET, SecretString=token)["ARN"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceExistsException":
            raise
        arn = secrets.put_secret_value(SecretId=ADMIN_TOKEN_SECRET, SecretString=token)["ARN"]
    cloudfront = boto3.client("cloudfront", endpoint_url=endpoint_url, region_name=REGION)
    distribution = cloudfront.create_distribution(DistributionConfig=_distribution_config())
    distribution_id = distribution["Distribution"]["Id"]
    ssm = boto3.client("ssm", endpoint_url=endpoint_url, region_name=REGION)
    ssm.put_parameter(
        Name=DISTRIBUTION_ID_PARAMETER, Value=distribution_id, Type="String", Overwrite=True
    )
    return AdminResources(arn, distribution_id, DISTRIBUTION_ID_PARAMETER)


def _distribution_config() -> Any:
    # The least moto accepts; nothing serves through it, it only records invalidations.
    return {
        "CallerReference": f"lakegate-local-{uuid.uuid4()}",
        "Comment": "lakegate local stack",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "function-url",
                    "DomainName": "function-url.invalid",
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "https-only",
                    },
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "function-url",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",  # managed CachingDisabled
        },
    }
