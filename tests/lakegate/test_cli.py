"""`lakegate`: its options document themselves, and the runtime alone runs what needs no extra."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import handler
from lakegate.cli import build_parser, main
from loadtests.__main__ import build_parser as runner_parser

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSION = handler.__version__
_SCRIPT = Path(sys.executable).with_name("lakegate")
# The installed console script when there is one (it is what `pip install` gives).
LAKEGATE = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "lakegate.cli"]


def lakegate(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LAKEGATE, *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )


# --- help --------------------------------------------------------------------


def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """`parser` and every subcommand's parser under it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


# `lakegate loadtest` passes everything on to the runner: its options are the runner's parser.
EVERY_PARSER = [*parsers(build_parser()), runner_parser()]
NOT_OPTIONS = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)


def rendered(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The action's entry in `--help`, on one line."""
    formatter = parser.formatter_class(prog=parser.prog)
    formatter.add_argument(action)
    return " ".join(formatter.format_help().split())


def test_the_walk_reaches_every_command() -> None:
    assert [p.prog for p in EVERY_PARSER] == [
        "lakegate",
        "lakegate serve",
        "lakegate admin",
        "lakegate admin invalidate",
        "lakegate admin status",
        "lakegate keys",
        "lakegate keys create",
        "lakegate keys list",
        "lakegate keys revoke",
        "lakegate loadtest",  # lakegate's: no options of its own
        "lakegate loadtest",  # the runner's
    ]


@pytest.mark.parametrize("parser", EVERY_PARSER, ids=lambda p: p.prog)
def test_every_option_has_help_that_shows_its_default(parser: argparse.ArgumentParser) -> None:
    one_of_required = {
        a for g in parser._mutually_exclusive_groups if g.required for a in g._group_actions
    }
    for action in parser._actions:
        if isinstance(action, NOT_OPTIONS):
            continue
        entry = rendered(parser, action)
        assert action.help, f"{parser.prog} {action.option_strings} has no help"
        if action.required or action in one_of_required:
            continue  # no default: it must be given
        assert "default" in entry, f"{parser.prog}: {entry!r} does not show its default"


@pytest.mark.parametrize("parser", EVERY_PARSER, ids=lambda p: p.prog)
def test_every_subcommand_has_a_help_line(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{parser.prog} {choice.dest} has no help line"


@pytest.mark.parametrize("parser", EVERY_PARSER, ids=lambda p: p.prog)
def test_every_command_describes_itself_in_its_help(parser: argparse.ArgumentParser) -> None:
    if parser.add_help:  # `lakegate loadtest` hands --help to the runner's parser
        assert parser.description, f"`{parser.prog} --help` has no description"


def test_admin_url_says_what_it_defaults_to() -> None:
    status = next(p for p in parsers(build_parser()) if p.prog == "lakegate admin status")
    help_text = " ".join(status.format_help().split())
    assert "(default: $LAKEGATE_URL, else http://127.0.0.1:8080" in help_text


def test_a_value_default_is_shown_as_the_value() -> None:
    serve = next(p for p in parsers(build_parser()) if p.prog == "lakegate serve")
    help_text = " ".join(serve.format_help().split())
    assert "port the API listens on (default: 8080)" in help_text
    assert "(default: None)" not in help_text


# --- commands ----------------------------------------------------------------


def test_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"lakegate {VERSION}\n"


@pytest.mark.parametrize(
    "argv", [["serve", "--bogus"], ["admin", "status", "--bogus"], ["frobnicate"], []]
)
def test_unknown_arguments_are_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage: lakegate" in capsys.readouterr().err


# --- the runtime dependencies alone ------------------------------------------

# Everything `pip install lakegate` does not install that lakegate's tooling could reach for.
# polars too: the operator's install has none (pyproject's `lambda` extra holds it).
NOT_RUNTIME = (
    "polars", "duckdb", "sqlglot", "moto", "flask", "werkzeug", "locust", "gevent", "matplotlib",
    "pandas", "databricks", "aws_cdk", "constructs", "cdk_nag", "hypothesis", "schemathesis",
    "pytest",
)  # fmt: skip
# Imported by every Python started with it on PYTHONPATH: those packages become unimportable.
SITECUSTOMIZE = f"""
import sys

BLOCKED = frozenset({NOT_RUNTIME!r})


class NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled)
"""


@pytest.fixture(scope="module")
def runtime_only(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment in which only the operator's install (pyproject's dependencies, no
    extra) can be imported."""
    directory = tmp_path_factory.mktemp("runtime-only")
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(directory), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "LAKEGATE_ADMIN_TOKEN": "runtime-only-token"}


@pytest.mark.slow
@pytest.mark.parametrize("module", ["duckdb", "moto", "locust", "matplotlib"])
def test_control_the_blocked_packages_cannot_be_imported(
    runtime_only: dict[str, str], module: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env=runtime_only,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"ModuleNotFoundError: No module named '{module}'" in result.stderr


@pytest.mark.slow
def test_the_operators_install_alone_runs_version_admin_and_keys(
    runtime_only: dict[str, str], tmp_path: Path
) -> None:
    keys = lakegate(
        "keys", "create", "--consumer", "acme", "--keys-file", str(tmp_path / "k.json"),
        env=runtime_only,
    )  # fmt: skip
    assert keys.returncode == 0 and keys.stdout.splitlines()[-1].startswith("lk_"), keys.stderr
    listed = lakegate("keys", "list", "--keys-file", str(tmp_path / "k.json"), env=runtime_only)
    assert listed.returncode == 0 and "acme" in listed.stdout, listed.stderr
    version = lakegate("--version", env=runtime_only)
    assert (version.returncode, version.stdout) == (0, f"lakegate {VERSION}\n"), version.stderr
    help_ = lakegate("admin", "invalidate", "--help", env=runtime_only)
    assert help_.returncode == 0 and "--dataset" in help_.stdout, help_.stderr
    # As far as the network: nothing listens on port 9.
    status = lakegate("admin", "status", "--url", "http://127.0.0.1:9", env=runtime_only)
    assert status.returncode == 3, status.stderr
    assert status.stderr.startswith("lakegate admin: cannot reach http://127.0.0.1:9")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "extra"),
    [(["serve"], "local"), (["loadtest", "--scenario", "smoke"], "loadtest")],
    ids=["serve", "loadtest"],
)
def test_without_its_extra_a_command_says_which_to_install(
    runtime_only: dict[str, str], argv: list[str], extra: str
) -> None:
    result = lakegate(*argv, env=runtime_only)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert result.stderr.startswith(f"lakegate {argv[0]}: needs the '{extra}' extra (")
    assert result.stderr.rstrip().endswith(f"pip install 'lakegate[{extra}]'")
    assert "duckdb" in result.stderr


@pytest.mark.slow
def test_loadtest_help_needs_no_extra(runtime_only: dict[str, str]) -> None:
    result = lakegate("loadtest", "--help", env=runtime_only)
    assert result.returncode == 0, result.stderr
    assert "--scenario" in result.stdout
