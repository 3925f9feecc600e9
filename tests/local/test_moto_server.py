"""moto behind one lock: conditional writes are atomic, as DynamoDB's are.

Through the real server and boto3: many threads race to take the same lease with a
conditional UpdateItem; exactly one may win, every time.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local.aws import REGION, MotoServer, create_cache_resources, use_local_credentials
from local.moto_server import one_at_a_time


def test_requests_are_applied_one_at_a_time() -> None:
    inside, most = [0], [0]
    lock = threading.Lock()

    def application(environ: dict[str, object], start_response: object) -> list[bytes]:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        threading.Event().wait(0.01)
        with lock:
            inside[0] -= 1
        return [b"ok"]

    serialised = one_at_a_time(application)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: serialised({}, lambda *a: None), range(16)))
    assert answers == [[b"ok"]] * 16
    assert most[0] == 1


def test_racing_conditional_writes_have_exactly_one_winner() -> None:
    use_local_credentials()
    table = f"race-{uuid.uuid4().hex[:8]}"
    with MotoServer() as moto:
        create_cache_resources(moto.url, table, f"{table}-bucket")
        client = boto3.client(
            "dynamodb",
            endpoint_url=moto.url,
            region_name=REGION,
            config=Config(max_pool_connections=32),
        )

        def take(owner: int) -> bool:
            try:
                client.update_item(
                    TableName=table,
                    Key={"pk": {"S": "q#the-key"}},
                    UpdateExpression="SET lease_owner = :owner",
                    ConditionExpression="attribute_not_exists(lease_owner)",
                    ExpressionAttributeValues={":owner": {"S": str(owner)}},
                )
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
                return False
            return True

        for round_ in range(40):
            client.delete_item(TableName=table, Key={"pk": {"S": "q#the-key"}})
            with ThreadPoolExecutor(max_workers=32) as pool:
                winners = sum(pool.map(take, range(round_ * 100, round_ * 100 + 32)))
            assert winners == 1
