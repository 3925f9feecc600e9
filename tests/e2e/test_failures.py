"""Warehouse failures become clean 502/503/504s; nothing from Databricks leaks to clients or logs."""

import time
from collections.abc import Iterator

import pytest
import requests

from local.stack import EmbeddedStack
from tests.e2e.conftest import set_faults, statement_path_stack, warehouse_url


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    """The statement path: every request below meets the warehouse's fault itself."""
    yield from statement_path_stack()


# Each test asks a different query: a failure holds its key briefly (error_hold).
URL = "/v1/drivers?state=Nevada&year={year}"


@pytest.fixture
def short_lambda(stack: EmbeddedStack) -> Iterator[None]:
    """Simulated containers with a 4 s timeout: a ~2 s warehouse budget keeps failures quick."""
    assert stack.server is not None
    stack.server.timeout_seconds = 4.0
    yield
    stack.server.timeout_seconds = 30.0


@pytest.mark.parametrize(
    ("faults", "status", "code", "retry_after", "year"),
    [
        ({"fail_next": 1}, 502, "warehouse_error", None, 2001),
        ({"unavailable_next": 1000}, 503, "warehouse_unavailable", True, 2002),
        ({"throttle_next": 1000}, 503, "warehouse_unavailable", True, 2003),
    ],
)
@pytest.mark.usefixtures("short_lambda")
def test_warehouse_failures_are_clean_errors(
    stack: EmbeddedStack,
    api: requests.Session,
    capfd: pytest.CaptureFixture[str],
    faults: dict[str, object],
    status: int,
    code: str,
    retry_after: bool | None,
    year: int,
) -> None:
    set_faults(stack, **faults)
    response = api.get(f"{stack.url}{URL.format(year=year)}", timeout=60)
    assert response.status_code == status
    body = response.json()["error"]
    assert body["code"] == code and body["request_id"]
    assert ("Retry-After" in response.headers) is bool(retry_after)
    assert response.headers["Cache-Control"] == "no-store"
    assert_nothing_leaks(stack, response.text + capfd.readouterr().out)
    if "throttle_next" in faults:
        wait_out_the_throttle(stack, api)


@pytest.mark.usefixtures("short_lambda")
def test_after_a_429_the_container_holds_back_instead_of_every_key_retrying(
    stack: EmbeddedStack, api: requests.Session
) -> None:
    set_faults(stack, throttle_next=1000)
    first = api.get(f"{stack.url}{URL.format(year=2005)}", timeout=60)
    assert first.status_code == 503
    before = emulator_stats(stack)
    others = [api.get(f"{stack.url}{URL.format(year=y)}", timeout=60) for y in (2006, 2007)]
    assert [o.status_code for o in others] == [503, 503]
    assert all(1 <= int(o.headers["Retry-After"]) <= 30 for o in others)
    assert emulator_stats(stack)["executes_received"] == before["executes_received"], (
        "other keys failed fast: no execute reached the throttling warehouse"
    )
    wait_out_the_throttle(stack, api)


def wait_out_the_throttle(stack: EmbeddedStack, api: requests.Session) -> None:
    """Clear the faults, then poll (bounded) until the container's hold has passed."""
    requests.post(f"{warehouse_url(stack)}/__emulator/reset", timeout=5).raise_for_status()
    for attempt in range(60):
        # A new query each time: only a miss shows that executes are sent again.
        fresh = f"/v1/drivers?state=Nevada&year=1999&limit={attempt + 1}"
        if api.get(f"{stack.url}{fresh}", timeout=30).ok:
            return
        time.sleep(0.1)
    raise AssertionError("the container never sent to the warehouse again")


def emulator_stats(stack: EmbeddedStack) -> dict[str, int]:
    return dict(requests.get(f"{warehouse_url(stack)}/__emulator/stats", timeout=5).json())


@pytest.mark.usefixtures("short_lambda")
def test_a_hung_statement_is_cancelled_and_answered_504(
    stack: EmbeddedStack, api: requests.Session, capfd: pytest.CaptureFixture[str]
) -> None:
    set_faults(stack, hang=True)
    response = api.get(f"{stack.url}{URL.format(year=2004)}", timeout=30)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "warehouse_timeout"
    assert "Retry-After" in response.headers
    stats = requests.get(f"{warehouse_url(stack)}/__emulator/stats", timeout=5).json()
    assert stats["cancelled"] == 1
    assert_nothing_leaks(stack, response.text + capfd.readouterr().out)


@pytest.mark.parametrize(
    ("faults", "code", "year"),
    [
        ({"wrong_counts": "absent", "chain_ends_after": 0}, "warehouse_error", 2010),
        ({"wrong_columns": "extra"}, "bad_upstream_data", 2011),
        ({"wrong_columns": "upper_case"}, "bad_upstream_data", 2012),
        ({"wrong_columns": "reordered"}, "bad_upstream_data", 2013),
        ({"column_type": "VARIANT"}, "bad_upstream_data", 2014),
        ({"column_type": "GEOGRAPHY"}, "bad_upstream_data", 2015),
    ],
    ids=["chain-stops-early", "extra-column", "upper-case", "reordered", "variant", "geography"],
)
def test_a_wrong_answer_is_a_502_and_never_stored(
    stack: EmbeddedStack,
    api: requests.Session,
    capfd: pytest.CaptureFixture[str],
    faults: dict[str, object],
    code: str,
    year: int,
) -> None:
    # Every row of a year: 1,001 rows asked, three chunks of 500.
    path = f"/v1/drivers?year={year}"
    set_faults(stack, **faults)
    response = api.get(f"{stack.url}{path}", timeout=60)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == code
    assert "secret" not in response.text and "not for clients" not in response.text
    assert_nothing_leaks(stack, response.text + capfd.readouterr().out)
    requests.post(f"{warehouse_url(stack)}/__emulator/reset", timeout=5).raise_for_status()
    for _ in range(100):  # the key is held failing for a moment (error_hold)
        again = api.get(f"{stack.url}{path}", timeout=60)
        if again.status_code == 200:
            break
        time.sleep(0.1)
    assert again.status_code == 200
    assert "fwd=miss" in again.headers["Cache-Status"], "nothing was stored"
    assert len(again.json()) == 1000


def assert_nothing_leaks(stack: EmbeddedStack, text: str) -> None:
    assert stack.emulator is not None
    for secret in (
        "licensed_drivers",
        "lakegate.dmv",
        stack.emulator.url,
        stack.emulator.config.token,
        "Injected",
        "injected",
    ):
        assert secret not in text, f"{secret!r} leaked"
