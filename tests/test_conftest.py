"""tests/conftest.py's rules: slow tests marked by where they live and what they start;
nginx and Chromium, skipped or required."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local.edge import nginx_missing_message
from tests.conftest import (
    REQUIRE_BROWSER_VARIABLE,
    REQUIRE_EDGE_VARIABLE,
    Browser,
    browser_or_skip,
    edge_required,
    nginx_or_skip,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
# What `make unit` runs, listed; "(not slow)" rather than "not slow", which would leave
# tests/e2e uncollected and so untested by the rule.
COLLECT_FAST = (
    *(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"),
    *("-m", "(not slow)"),
)


def test_with_nginx_its_path_is_given() -> None:
    assert nginx_or_skip("/usr/sbin/nginx", {"CI": "true"}) == "/usr/sbin/nginx"


def test_without_nginx_an_edge_test_is_skipped_saying_how_to_install_it() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        nginx_or_skip(None, {})
    assert str(skipped.value).startswith(nginx_missing_message())
    assert "apt-get install nginx" in str(skipped.value)
    assert "brew install nginx" in str(skipped.value)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CI": "true"}, "CI=true"),
        ({"CI": "1"}, "CI=1"),
        ({REQUIRE_EDGE_VARIABLE: "1"}, f"{REQUIRE_EDGE_VARIABLE}=1"),
    ],
)
def test_where_the_edge_is_required_a_missing_nginx_fails(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        nginx_or_skip(None, environ)
    assert nginx_missing_message() in str(failed.value)
    assert f"Required here ({named})" in str(failed.value)


@pytest.mark.parametrize("environ", [{}, {"CI": "false"}, {REQUIRE_EDGE_VARIABLE: "0"}])
def test_elsewhere_the_edge_is_optional(environ: dict[str, str]) -> None:
    assert edge_required(environ) is None


def test_with_chromium_and_its_driver_they_are_given() -> None:
    found = Browser("/usr/bin/chromium", "/usr/bin/chromedriver")
    assert browser_or_skip(found, {"CI": "true"}) is found


def test_without_chromium_a_browser_test_is_skipped_saying_how_to_install_it() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        browser_or_skip(None, {REQUIRE_EDGE_VARIABLE: "1"})  # the edge's variable is not its
    assert "apt-get install chromium chromium-driver" in str(skipped.value)
    assert "\n" not in str(skipped.value)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CI": "true"}, "CI=true"),
        ({REQUIRE_BROWSER_VARIABLE: "1"}, f"{REQUIRE_BROWSER_VARIABLE}=1"),
    ],
)
def test_where_the_browser_is_required_a_missing_chromium_fails(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        browser_or_skip(None, environ)
    assert f"Required here ({named})" in str(failed.value)


@pytest.mark.slow
def test_make_unit_leaves_out_what_starts_servers() -> None:
    """What `-m 'not slow'` collects from tests/local, tests/lakegate and tests/e2e, by the rule alone."""
    collected = subprocess.run(
        [*COLLECT_FAST, "tests/local", "tests/lakegate", "tests/e2e"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    modules = {line.split("::")[0] for line in collected.stdout.splitlines() if "::" in line}
    assert "tests/local/test_sample_data.py" in modules, collected.stdout + collected.stderr
    assert "tests/lakegate/test_cli.py" in modules
    for slow in (
        "tests/lakegate/test_admin.py",  # the embedded stack
        "tests/local/emulator/test_api.py",  # the emulator (its conftest.py starts one)
        "tests/local/emulator/test_sdk.py",
        "tests/local/test_edge.py",  # nginx in front of the stack
    ):
        assert slow not in modules
    assert not {m for m in modules if m.startswith("tests/e2e/")}
    # test_cli.py mixes both: its subprocess tests carry the marker themselves.
    assert "tests/lakegate/test_cli.py::test_the_runtime_alone_runs_version_and_admin" not in (
        collected.stdout
    )
