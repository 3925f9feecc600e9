"""What each install holds: `pip install lakegate` (the operator's) pulls no polars, no DuckDB,
no CDK; `.[local]` (what `make serve` installs) is enough to serve.

Checked on the dependency metadata pip resolves from (the installed distributions'
`Requires-Dist`), walked through every requirement without an extra: what
`pip install lakegate` would bring, transitively. tests/lakegate/test_cli.py runs the
commands themselves with everything else made unimportable.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distributions, requires
from pathlib import Path

import pytest
import requests
from packaging.requirements import Requirement

from local.processes import free_port, start_listening, stop_process

HEAVY = ("polars", "duckdb", "sqlglot", "moto", "locust", "matplotlib", "aws-cdk-lib", "pandas")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def closure(distribution: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Every distribution `pip install distribution[extras]` brings, from installed metadata."""
    seen: set[str] = set()
    visited: set[tuple[str, str]] = set()  # (distribution, extra): each extra of each, once
    pending = [(_name(distribution), extra) for extra in ("", *extras)]
    while pending:
        name, extra = pending.pop()
        if (name, extra) in visited:
            continue
        visited.add((name, extra))
        try:
            lines = requires(name) or []
        except PackageNotFoundError:
            continue  # a requirement for another platform or Python
        for line in lines:
            requirement = Requirement(line)
            marker = requirement.marker
            # Without an extra, only what has no `extra ==` marker; with one, what it adds.
            if marker is None:
                if extra:
                    continue
            elif not marker.evaluate({"extra": extra}) or (
                extra and marker.evaluate({"extra": ""})
            ):
                continue
            dependency = _name(requirement.name)
            if dependency != _name(distribution):
                seen.add(dependency)
            pending.extend((dependency, e) for e in ("", *requirement.extras))
    return seen


def test_the_operators_install_pulls_nothing_heavy() -> None:
    operators = closure("lakegate")
    assert {"requests", "pydantic", "boto3", "aws-lambda-powertools"} <= operators
    assert not operators & set(HEAVY), sorted(operators & set(HEAVY))


def test_control_the_lambda_extra_does_pull_polars() -> None:
    assert "polars" in closure("lakegate", frozenset({"lambda"}))
    assert {"polars", "duckdb", "moto"} <= closure("lakegate", frozenset({"local"}))


# --- make serve installs the `local` extra alone: is that enough to serve? ------------------


def installed_alone(extras: frozenset[str], directory: Path) -> Path:
    """A virtual environment holding what `pip install -e .[extras]` would, and nothing else:
    the installed files of exactly those distributions, linked from this one. Its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = directory / "lib" / version / "site-packages"
    wanted = closure("lakegate", extras) | {"lakegate"}
    for found in distributions():
        if _name(found.metadata["Name"]) not in wanted:
            continue
        for file in found.files or []:
            if file.parts[0] == "..":
                continue  # console scripts: run as `python -m` here
            source, target = Path(str(found.locate_file(file))), site / file
            if source.exists() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(source)
    return directory / "bin" / "python"


@pytest.mark.slow
def test_the_local_extra_alone_serves(tmp_path: Path) -> None:
    """What `make serve` installs (`.[local]`) starts the stack and answers a query."""
    python = installed_alone(frozenset({"local"}), tmp_path / "venv")
    control = subprocess.run([python, "-c", "import selenium"], capture_output=True, check=False)
    assert control.returncode == 1, "control: a dev-only package is not installed there"
    port = free_port()
    serve = [str(python), "-m", "lakegate.cli", "serve", "--port", str(port)]
    process = start_listening(
        [*serve, "--keys-file", str(tmp_path / "keys.json")], "127.0.0.1", port, 120
    )
    try:
        answer = requests.get(
            f"http://127.0.0.1:{port}/v1/drivers?year=2016&state=Ohio&limit=2", timeout=120
        )
    finally:
        stop_process(process)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()) == 2
