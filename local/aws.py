"""Local AWS: moto's server in its own process, speaking the real DynamoDB/S3 wire protocol.

boto3 reaches it exactly as it reaches AWS, only with an endpoint URL. A separate
process keeps moto's work off the handler's GIL, as a real service would be.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from types import TracebackType

import boto3
from botocore.exceptions import ClientError

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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise OSError(f"moto server exited with {self._process.returncode}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise OSError(f"moto server did not start on {self.url}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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
