"""The Lambda image is reproducible: the base image by digest, every runtime dependency
by version and hash, and the lock covers exactly what pyproject says the runtime needs."""

from __future__ import annotations

import re
import tomllib

from lakegate_cdk.function import LOCK_FILE, REPO_ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DOCKERFILE = (REPO_ROOT / "cdk" / "lambda" / "Dockerfile").read_text()
LOCK = (REPO_ROOT / LOCK_FILE).read_text()


def _locked() -> dict[str, str]:
    """Each locked distribution's version, by canonical name."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", LOCK, re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def _instructions() -> list[str]:
    return [line for line in DOCKERFILE.splitlines() if line and not line.startswith("#")]


def test_base_image_is_the_lambda_python_312_pinned_by_digest() -> None:
    assert re.fullmatch(
        r"FROM public\.ecr\.aws/lambda/python:3\.12@sha256:[0-9a-f]{64}", _instructions()[0]
    )


def test_dependencies_install_from_the_lock_with_hashes_only() -> None:
    assert "--require-hashes" in DOCKERFILE
    assert "-r /tmp/build/requirements.lock" in DOCKERFILE
    assert f"COPY {LOCK_FILE} " in DOCKERFILE
    # Nothing resolved at build time: no pyproject, no extras, no unpinned install.
    assert "pyproject" not in "\n".join(_instructions())
    assert "[dev]" not in DOCKERFILE and "optional-dependencies" not in DOCKERFILE
    assert _instructions()[-1] == 'CMD ["handler.app.lambda_handler"]'


def test_every_locked_distribution_is_pinned_with_a_hash() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.strip())
    entries = [e for e in entries if not e.startswith("#")]
    assert entries
    for entry in entries:
        assert "==" in entry.splitlines()[0], entry
        assert "--hash=sha256:" in entry, entry


def test_the_lock_covers_pyprojects_runtime_dependencies() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    locked = _locked()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in {LOCK_FILE}: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{LOCK_FILE} pins {name}=={locked[name]}, outside {requirement.specifier}: "
            "run `make lock`"
        )
    # Tracer's extra brings the X-Ray SDK: the image must have it.
    assert "aws-xray-sdk" in locked


def test_no_dev_only_package_reaches_the_image() -> None:
    locked = _locked()
    for dev_only in ("duckdb", "sqlglot", "moto", "aws-cdk-lib", "pytest", "locust", "pandas"):
        assert dev_only not in locked
