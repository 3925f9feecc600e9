"""The operator's install is light: `pip install lakegate` pulls no polars, no DuckDB, no CDK.

Checked on the dependency metadata pip resolves from (the installed distributions'
`Requires-Dist`), walked through every requirement without an extra: what
`pip install lakegate` would bring, transitively. tests/lakegate/test_cli.py runs the
commands themselves with everything else made unimportable.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, requires

from packaging.requirements import Requirement

HEAVY = ("polars", "duckdb", "sqlglot", "moto", "locust", "matplotlib", "aws-cdk-lib", "pandas")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def closure(distribution: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Every distribution `pip install distribution[extras]` brings, from installed metadata."""
    seen: set[str] = set()
    pending = [(distribution, extras)]
    while pending:
        name, wanted = pending.pop()
        try:
            lines = requires(name) or []
        except PackageNotFoundError:
            continue  # a requirement for another platform or Python
        for line in lines:
            requirement = Requirement(line)
            if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra})  # over the default environment
                for extra in (wanted or {""})
            ):
                continue
            dependency = _name(requirement.name)
            if dependency == _name(distribution):
                pending.append((dependency, frozenset(requirement.extras)))
            elif dependency not in seen:
                seen.add(dependency)
                pending.append((dependency, frozenset(requirement.extras)))
    return seen


def test_the_operators_install_pulls_nothing_heavy() -> None:
    operators = closure("lakegate")
    assert {"requests", "pydantic", "boto3", "aws-lambda-powertools"} <= operators
    assert not operators & set(HEAVY), sorted(operators & set(HEAVY))


def test_control_the_lambda_extra_does_pull_polars() -> None:
    assert "polars" in closure("lakegate", frozenset({"lambda"}))
    assert {"polars", "duckdb", "moto"} <= closure("lakegate", frozenset({"local"}))
