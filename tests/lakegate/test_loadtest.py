"""`lakegate loadtest` is the load-test runner (`python -m loadtests`) given its arguments unchanged.

The runner's options, scenarios and refusals are tests/loadtests/test_main.py's; here the
hand-over: in-process, then through the real command, which must refuse before starting
anything.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lakegate.cli import build_parser
from lakegate.loadtest import loadtest_command
from loadtests.scenarios import SCENARIOS
from tests.lakegate.test_cli import lakegate


def test_the_command_is_python_m_loadtests_with_the_arguments_unchanged() -> None:
    argv = ["--scenario", "steady", "--users", "3", "--edge"]
    assert loadtest_command(argv) == [sys.executable, "-m", "loadtests", *argv]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["-h"],
        ["--version"],
        ["--scenario", "smoke", "--host", "http://127.0.0.1:9", "--users=3", "--edge"],
        ["--scenario", "marathon", "--output", "serve"],
    ],
)
def test_every_argument_after_loadtest_is_passed_on_in_order(argv: list[str]) -> None:
    args, passed_on = build_parser().parse_known_args(["loadtest", *argv])
    assert (args.command, passed_on) == ("loadtest", argv)


@pytest.mark.slow
def test_help_is_the_runners() -> None:
    result = lakegate("loadtest", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: lakegate loadtest ")
    for name in SCENARIOS:
        assert name in result.stdout
    assert "(default: reports)" in result.stdout


@pytest.mark.slow
def test_an_unknown_scenario_is_a_usage_error() -> None:
    result = lakegate("loadtest", "--scenario", "marathon")
    assert result.returncode == 2
    assert "argument --scenario: invalid choice: 'marathon'" in result.stderr


@pytest.mark.slow
def test_a_non_loopback_host_from_the_environment_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "LAKEGATE_LOADTEST_HOST": "https://api.example.com"}
    output = tmp_path / "reports"
    result = lakegate("loadtest", "--scenario", "smoke", "--output", str(output), env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("lakegate loadtest: refusing to load api.example.com")
    assert "only loopback hosts" in result.stderr
    assert not output.exists(), "no report directory for a refused run"
