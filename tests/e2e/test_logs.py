"""The stack's log lines: each names its own invocation, and none holds a credential.

The embedded stack runs its simulated containers as threads of this process, all
writing JSON lines through the lakegate logger (captured here by `lakegate_log`), as
Lambda's would to CloudWatch.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
import requests

from local.stack import EmbeddedStack
from tests.e2e.conftest import set_faults


def log_lines(output: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_concurrent_invocations_each_log_their_own_request_id(
    stack: EmbeddedStack, api: requests.Session, lakegate_log: io.StringIO
) -> None:
    set_faults(stack, latency_ms=400)  # every statement overlaps the others
    paths = [f"/v1/drivers?state=Kansas&year={year}" for year in range(1990, 1998)]
    with ThreadPoolExecutor(len(paths)) as pool:
        responses = list(pool.map(lambda p: requests.get(f"{stack.url}{p}", timeout=30), paths))
    assert [r.status_code for r in responses] == [200] * len(paths)
    asked = {r.headers["x-amzn-RequestId"] for r in responses}
    finished = [
        line
        for line in log_lines(lakegate_log.getvalue())
        if line.get("message") == "warehouse statement finished"
    ]
    assert len(finished) == len(paths)
    assert sorted(line["function_request_id"] for line in finished) == sorted(asked), (
        "one line per invocation, each with its own request id"
    )


@pytest.mark.parametrize(
    "faults",
    [
        {"unauthenticated_next": 1},
        {"fail_next": 1},
        {"execute_status": 502},
        {"throttle_next": 1},
    ],
    ids=["401", "FAILED", "502-after-accepting", "429-retried"],
)
def test_no_warehouse_error_field_reaches_a_log_line(
    stack: EmbeddedStack,
    api: requests.Session,
    lakegate_log: io.StringIO,
    faults: dict[str, object],
) -> None:
    assert stack.emulator is not None
    set_faults(stack, echo_credentials=True, **faults)  # the token in every error field
    year = 1980 + len(str(faults)) % 10 + 10 * ("fail" in str(faults))
    response = api.get(f"{stack.url}/v1/drivers?state=Idaho&year={year}", timeout=30)
    output = lakegate_log.getvalue()
    assert "error_code" in output, "the warehouse's error was logged"
    token = stack.emulator.config.token
    for text in (output, response.text):
        assert token not in text and "Bearer" not in text
