"""moto behind a readers-writer lock: conditional writes are atomic, as DynamoDB's are.

Writes are applied alone and reads side by side (never beside a write). Through the real
server and boto3: many threads race to take the same lease with a conditional
UpdateItem; exactly one may win, every time.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local.aws import REGION, MotoServer, create_cache_resources, use_local_credentials
from local.moto_server import is_read, one_write_at_a_time


def overlap(kinds: list[str]) -> tuple[int, int]:
    """The most requests inside the application at once: (overall, beside a write)."""
    inside, most, beside_write = [0, 0], [0], [0]  # [readers, writers]
    lock = threading.Lock()

    def application(environ: dict[str, object], start_response: object) -> list[bytes]:
        slot = 0 if environ["REQUEST_METHOD"] == "GET" else 1
        with lock:
            inside[slot] += 1
            most[0] = max(most[0], sum(inside))
            if inside[1] and sum(inside) > 1:
                beside_write[0] += 1
        threading.Event().wait(0.01)
        with lock:
            inside[slot] -= 1
        return [b"ok"]

    guarded = one_write_at_a_time(application)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda m: guarded({"REQUEST_METHOD": m}, lambda *a: None), kinds))
    assert answers == [[b"ok"]] * len(kinds)
    return most[0], beside_write[0]


def test_writes_are_applied_alone() -> None:
    assert overlap(["POST"] * 16) == (1, 0)
    assert overlap(["GET", "POST"] * 8)[1] == 0, "never a read beside a write"


def test_reads_run_side_by_side() -> None:
    assert overlap(["GET"] * 16)[0] > 1


def test_what_counts_as_a_read() -> None:
    def dynamodb(action: str) -> dict[str, str]:
        return {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": f"DynamoDB_20120810.{action}"}

    assert is_read(dynamodb("GetItem")) and is_read(dynamodb("BatchGetItem"))
    for write in ("UpdateItem", "PutItem", "TransactWriteItems", "DeleteItem"):
        assert not is_read(dynamodb(write)), write
    assert is_read({"REQUEST_METHOD": "GET"}) and not is_read({"REQUEST_METHOD": "PUT"})


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
