"""What the `lakegate` commands share: help with defaults, the version, and the extras' checks."""

from __future__ import annotations

import argparse
import re
import tomllib
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import handler
from lakegate.common import EXTRAS, HelpFormatter, missing_extra, package_version

PYPROJECT = tomllib.loads(
    (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
)
OPTIONAL = PYPROJECT["project"]["optional-dependencies"]


def requirement_names(extra: str) -> set[str]:
    """The distributions `lakegate[extra]` requires, through lakegate[...] self-references."""
    names: set[str] = set()
    for requirement in map(Requirement, OPTIONAL[extra]):
        if requirement.name == "lakegate":
            for inner in requirement.extras:
                names |= requirement_names(inner)
        else:
            names.add(_normalised(requirement.name))
    return names


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def help_of(**argument: object) -> str:
    parser = argparse.ArgumentParser(prog="x", formatter_class=HelpFormatter)
    parser.add_argument("--option", **argument)  # type: ignore[arg-type]
    return " ".join(parser.format_help().split())


def test_a_value_default_ends_the_help() -> None:
    assert "--option OPTION port (default: 8080)" in help_of(default=8080, help="port")
    assert "--option flag (default: False)" in help_of(action="store_true", help="flag")


@pytest.mark.parametrize(
    "argument",
    [
        {"help": "users (default: the scenario's)"},
        {"action": "append", "default": [], "help": "a filter (default: none)"},
        {"default": 3, "help": "said in words (default: three)"},
        {"required": True, "help": "must be given"},
    ],
)
def test_help_that_says_its_default_or_has_none_is_left_as_written(
    argument: dict[str, object],
) -> None:
    text = help_of(**argument)
    assert f"{argument['help']}" in text
    assert text.count("default") == ("default" in str(argument["help"]))


def test_the_version_is_the_runtimes_declared_once() -> None:
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "handler.__version__"}
    assert package_version() == handler.__version__


def test_an_installed_extra_passes() -> None:
    assert missing_extra("local", lambda module: True) is None


def test_a_missing_extra_is_one_line_naming_it_and_what_is_missing() -> None:
    message = missing_extra("loadtest", lambda module: module not in ("locust", "duckdb"))
    assert message == (
        "needs the 'loadtest' extra (locust, duckdb not installed): pip install 'lakegate[loadtest]'"
    )


def test_the_checks_run_here() -> None:
    """In the dev environment every extra is installed (or the checks look for the wrong names)."""
    assert [extra for extra in EXTRAS if missing_extra(extra)] == []


def top_level_modules(distribution_name: str) -> set[str]:
    """What `import` names the installed distribution provides."""
    files = distribution(distribution_name).files or []
    return {
        f.parts[0].removesuffix(".py")
        for f in files
        if f.parts[0] != ".." and not f.parts[0].endswith((".dist-info", ".data", ".pth"))
    }


@pytest.mark.parametrize("extra", ["local", "loadtest"])
def test_each_extra_checks_a_module_of_every_requirement(extra: str) -> None:
    for name in requirement_names(extra):
        assert top_level_modules(name) & set(EXTRAS[extra]), f"{extra}: nothing checks {name}"


def test_the_extras_are_pyprojects_and_dev_holds_them_all() -> None:
    assert set(EXTRAS) == set(OPTIONAL) - {"dev"}
    assert requirement_names("local") < requirement_names("loadtest") < requirement_names("dev")
