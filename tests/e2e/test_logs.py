"""The stack's log lines: each names its own invocation, and none holds a credential.

The embedded stack runs its simulated containers as threads of this process, all
writing JSON lines through the lakegate logger (captured here by `lakegate_log`), as
Lambda's would to CloudWatch.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
import requests

from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tests.e2e.conftest import set_faults, statement_path_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    """The statement path: every request below runs a statement of its own."""
    yield from statement_path_stack()


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


@pytest.fixture(scope="module")
def derived() -> Iterator[EmbeddedStack]:
    """Roll-ups on: the first query of a dataset fetches its roll-up, which meets the fault."""
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=10),
        # Each case retires the roll-up and fetches it again, at once.
        environment={
            "LAKEGATE_ERROR_HOLD_SECONDS": "0",
            "LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE": "100",
        },
    )
    with EmbeddedStack(config) as running:
        yield running


@pytest.mark.parametrize("path", ["statement", "rollup"])
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
    request: pytest.FixtureRequest,
    api: requests.Session,
    lakegate_log: io.StringIO,
    faults: dict[str, object],
    path: str,
) -> None:
    stack: EmbeddedStack = request.getfixturevalue("stack" if path == "statement" else "derived")
    assert stack.emulator is not None
    if path == "rollup":  # retire the roll-up a previous case may have fetched
        retired = requests.post(
            f"{stack.url}/admin/invalidate?dataset=drivers",
            headers={"x-lakegate-admin-token": stack.admin_token},
            timeout=30,
        )
        assert retired.status_code == 202
    set_faults(stack, echo_credentials=True, **faults)  # the token in every error field
    year = 1980 + len(str(faults)) % 10 + 10 * ("fail" in str(faults))
    response = api.get(f"{stack.url}/v1/drivers?state=Idaho&year={year}", timeout=30)
    output = lakegate_log.getvalue()
    assert "error_code" in output, "the warehouse's error was logged"
    token = stack.emulator.config.token
    for text in (output, response.text):
        assert token not in text and "Bearer" not in text
