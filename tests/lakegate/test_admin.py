"""`lakegate admin` against a running stack: output, exit codes, and the token kept out of both."""

import json
from collections.abc import Iterator

import pytest

from lakegate.cli import main
from local.emulator import EmulatorConfig
from local.processes import free_port
from local.stack import EmbeddedStack, StackConfig

TOKEN = "cli-admin-token-5d2e8f01"
LIMIT = 6


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=10),
        admin_token=TOKEN,
        environment={"LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE": str(LIMIT)},
    )
    with EmbeddedStack(config) as running:
        yield running


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LAKEGATE_ADMIN_TOKEN", TOKEN)
    return TOKEN


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["admin", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("token")
def test_invalidating_a_dataset(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "invalidate", "--url", stack.url, "--dataset", "drivers")
    assert (code, err) == (0, "")
    first, edge = out.splitlines()
    assert first.startswith("invalidated drivers (generation ")
    assert stack.admin is not None
    assert edge.startswith("edge: CloudFront invalidation ")
    assert f"on {stack.admin.distribution_id} for /v1/drivers*" in edge


@pytest.mark.usefixtures("token")
def test_invalidating_one_query(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "invalidate",
        "--url",
        stack.url,
        "--dataset",
        "drivers",
        "--param",
        "state=California",
        "--param",
        "year=2016",
    )
    assert code == 0
    assert "dropped one query of drivers (generation " in out
    assert "state=california, year=2016 (limit 1000, offset 0, json/csv)" in out
    assert "note: CloudFront cannot invalidate a single query string" in out


@pytest.mark.usefixtures("token")
def test_invalidating_everything_as_json(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "invalidate", "--url", stack.url, "--all", "--json")
    assert code == 0
    body = json.loads(out)
    assert body["scope"] == "all" and body["edge"]["status"] == "created"


@pytest.mark.usefixtures("token")
def test_status(stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]) -> None:
    # Its own invalidation first: under xdist the tests before it may run elsewhere.
    assert run(capsys, "invalidate", "--url", stack.url, "--dataset", "drivers")[0] == 0
    code, out, _ = run(capsys, "status", "--url", stack.url)
    assert code == 0
    header, drivers, crashes, limit = out.splitlines()
    assert header.split()[:2] == ["dataset", "generation"]
    assert drivers.split()[0] == "drivers" and drivers.endswith("300 s / 3600 s")
    assert crashes.split()[0] == "crashes" and crashes.endswith("600 s / 3600 s")
    assert "/current" in drivers, "who invalidated last: a token id"
    assert limit.endswith(f": {LIMIT}")


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--dataset", "nope"], "HTTP 404 not_found: No dataset named 'nope'."),
        (["--dataset", "drivers", "--param", "bogus=1"], "HTTP 400 unknown_parameter: "),
        (["--dataset", "drivers", "--param", "year=16"], "HTTP 400 invalid_parameter: "),
    ],
)
def test_refusals_exit_1_with_the_apis_message(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, "invalidate", "--url", stack.url, *argv)
    assert (code, out) == (1, "")
    assert err.startswith(f"lakegate admin: {expected}")


def test_a_wrong_token_exits_1_and_is_never_printed(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "cli-wrong-token-a7b3"
    monkeypatch.setenv("LAKEGATE_ADMIN_TOKEN", wrong)
    for argv in (["status"], ["invalidate", "--dataset", "drivers"]):
        code, out, err = run(capsys, *argv, "--url", stack.url)
        assert code == 1
        assert err == "lakegate admin: HTTP 401 unauthorized: Missing or invalid admin token.\n"
        assert wrong not in out + err and TOKEN not in out + err


def test_a_missing_token_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAKEGATE_ADMIN_TOKEN", raising=False)
    code, out, err = run(capsys, "status", "--url", "http://127.0.0.1:9")
    assert (code, out) == (2, "")
    assert "LAKEGATE_ADMIN_TOKEN" in err


@pytest.mark.usefixtures("token")
def test_an_unreachable_api_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(capsys, "status", "--url", url)
    assert code == 3
    assert err.startswith(f"lakegate admin: cannot reach {url}: ConnectionError")
    assert TOKEN not in err


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    "argv",
    [
        ["invalidate"],
        ["invalidate", "--dataset", "drivers", "--all"],
        ["invalidate", "--dataset", "drivers", "--param", "state"],
        ["frobnicate"],
    ],
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["admin", *argv])
    assert exited.value.code == 2


@pytest.mark.usefixtures("token")
def test_params_need_a_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "invalidate", "--all", "--param", "state=Ohio")
    assert code == 2 and "--param needs --dataset" in err


@pytest.mark.usefixtures("token")
def test_a_throttled_invalidation_says_when_to_retry(
    stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Last in this module: it spends the rest of this minute's allowance for drivers.
    for _ in range(2 * LIMIT + 2):
        code, _, err = run(capsys, "invalidate", "--url", stack.url, "--dataset", "drivers")
        if code != 0:
            break
    assert code == 1
    assert err.startswith("lakegate admin: HTTP 429 throttled: Dataset 'drivers' was invalidated")
    assert err.rstrip().endswith(" s)") and "(retry after " in err
