"""The Lambda images are reproducible: the base image by digest, every dependency by
version and hash; the API's lock covers exactly what pyproject says the runtime needs, its
build copies only what its context admits and trims botocore's data where it installs it;
the edge rules writer's holds boto3 with the CRT."""

from __future__ import annotations

import re
import tomllib

from lakegate_cdk.function import IMAGE_CONTEXT_EXCLUDE, LOCK_FILE, REPO_ROOT, TRIM_SCRIPT
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


def test_every_file_the_build_copies_is_in_its_context() -> None:
    """The context admits only what IMAGE_CONTEXT_EXCLUDE re-admits: a COPY of anything
    else would fail at deploy, the first time Docker builds."""
    copies = [line.split()[1] for line in _instructions() if line.startswith("COPY ")]
    assert TRIM_SCRIPT in copies
    for source in copies:
        assert "!" + source.rstrip("/") in IMAGE_CONTEXT_EXCLUDE, source


def test_botocore_is_trimmed_where_it_is_installed_before_compiling() -> None:
    """In the install's own layer (a later one would leave the files in the image below),
    with the script copied beside the lock, on the task root, before bytecode is made."""
    instructions = _instructions()
    assert f"COPY {TRIM_SCRIPT} /tmp/build/trim.py" in instructions
    install = DOCKERFILE.index("RUN pip install")
    trim = DOCKERFILE.index('python /tmp/build/trim.py "${LAMBDA_TASK_ROOT}"')
    cleanup = DOCKERFILE.index("rm -rf /tmp/build")
    assert install < trim < cleanup < DOCKERFILE.index("compileall")
    assert "RUN" not in DOCKERFILE[install + len("RUN") : trim]


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
    # The operator's install, and the runtime's extra beyond it.
    for line in (*project["dependencies"], *project["optional-dependencies"]["lambda"]):
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


# --- the edge rules writer's image (lakegate_cdk/gateway.py, rules_writer.py) ----------

WRITER_DOCKERFILE = (REPO_ROOT / "cdk" / "rules_writer" / "Dockerfile").read_text()
WRITER_LOCK = (REPO_ROOT / "cdk" / "rules_writer" / "requirements.lock").read_text()


def test_the_writers_image_shares_the_base_and_installs_its_lock_with_hashes_only() -> None:
    instructions = [
        line for line in WRITER_DOCKERFILE.splitlines() if line and not line.startswith("#")
    ]
    assert instructions[0] == _instructions()[0]  # one base image, pinned once
    assert "--require-hashes" in WRITER_DOCKERFILE
    assert "COPY cdk/rules_writer/requirements.lock " in WRITER_DOCKERFILE
    # Its module alone, as a top-level module: it imports nothing from lakegate.
    assert "COPY cdk/lakegate_cdk/rules_writer.py ${LAMBDA_TASK_ROOT}/rules_writer.py" in (
        WRITER_DOCKERFILE
    )
    assert instructions[-1] == 'CMD ["rules_writer.on_event"]'


def test_the_writers_lock_pins_boto3_with_the_crt_for_sigv4a() -> None:
    entries = [e for e in re.split(r"\n(?=[A-Za-z0-9])", WRITER_LOCK.strip()) if e[0] != "#"]
    pinned = {canonicalize_name(e.split("==")[0]) for e in entries}
    assert {"boto3", "botocore", "awscrt"} <= pinned
    for entry in entries:
        assert "==" in entry.splitlines()[0] and "--hash=sha256:" in entry, entry


def test_the_writer_imports_only_the_standard_library_and_boto3() -> None:
    source = (REPO_ROOT / "cdk" / "lakegate_cdk" / "rules_writer.py").read_text()
    imported = set(re.findall(r"^\s*(?:from|import) ([A-Za-z_][\w.]*)", source, re.MULTILINE))
    assert imported == {
        "__future__",
        "base64",
        "gzip",
        "json",
        "collections.abc",
        "typing",
        "boto3",
    }
