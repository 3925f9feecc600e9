"""The API function's zip package (`lambda.packaging: zip`, for SnapStart), bundled offline.

The image (the default) is built by Docker at deploy time from cdk/lambda/Dockerfile.
A zip on the managed Python 3.12 runtime is what SnapStart needs instead (it does not
snapshot images), and it is assembled here, on the deploying machine, without Docker
and without the network:

    make lambda-wheels   # once per lock: the locked wheels for Lambda's arm64 Python 3.12,
                         # from PyPI, hashes checked, into build/lambda-wheels/
    make synth / cdk deploy   # bundles: installs them from there (--no-index), trims
                              # botocore's data (lakegate_cdk.trim), adds handler/ and
                              # cache/, compiles, checks the size

Bytecode is compiled with unchecked hashes (PEP 552): CDK zips with fixed timestamps,
so timestamp-checked .pyc files would all look stale in Lambda's read-only task root
and every cold start would compile the whole package again. The unzipped package must
stay within Lambda's 250 MB (polars' runtime alone is ~160 MB of it): `bundle` refuses
a larger one, naming the size.

Synthesis without bundling (the tests: context `aws:cdk:bundling-stacks` = []) records
the asset from its sources alone; the wheels are not needed then.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from py_compile import PycInvalidationMode

import jsii
from aws_cdk import ILocalBundling

from lakegate_cdk.trim import TrimError, trim_botocore

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_FILE = REPO_ROOT / "cdk" / "lambda" / "requirements.lock"
WHEELHOUSE = REPO_ROOT / "build" / "lambda-wheels"
SOURCES = ("handler", "cache")
# Lambda's limit for a function's unzipped code (and layers): 250 MB.
MAX_UNZIPPED_BYTES = 262_144_000
# Lambda's arm64 Python 3.12: the wheels pip may choose (the lock was compiled for
# aarch64-manylinux_2_28, `make lock`).
TARGET = (
    "--only-binary=:all:",
    "--implementation=cp",
    "--python-version=3.12",
    *(f"--platform={tag}" for tag in ("manylinux_2_28_aarch64", "manylinux2014_aarch64")),
    *(f"--abi={abi}" for abi in ("cp312", "abi3", "none")),
)


class PackagingError(Exception):
    """The zip package cannot be built: the message says why and what to run."""


def download(lock: Path = LOCK_FILE, wheelhouse: Path = WHEELHOUSE) -> None:
    """Fetch every locked wheel for Lambda's platform into `wheelhouse` (the network, once)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    _pip(
        "download",
        "--dest",
        str(wheelhouse),
        "--require-hashes",
        "--no-deps",
        *TARGET,
        "-r",
        str(lock),
    )


def bundle(
    output: Path,
    *,
    lock: Path = LOCK_FILE,
    wheelhouse: Path = WHEELHOUSE,
    sources: Path = REPO_ROOT,
    limit: int = MAX_UNZIPPED_BYTES,
) -> int:
    """The package's files in `output`, from the wheelhouse alone; its unzipped size."""
    if not wheelhouse.is_dir() or not any(wheelhouse.glob("*.whl")):
        raise PackagingError(
            f"no wheels in {wheelhouse}: run `make lambda-wheels` (it downloads the locked "
            "dependencies for Lambda's arm64 Python 3.12 once), then synthesise again"
        )
    _pip(
        "install",
        "--no-index",
        "--find-links",
        str(wheelhouse),
        "--require-hashes",
        "--no-deps",
        "--no-compile",
        *TARGET,
        "--target",
        str(output),
        "-r",
        str(lock),
    )
    # botocore's data for the API's services alone: a client's creation ~40 ms faster on
    # every cold start (lakegate_cdk.trim says why), as in the image.
    try:
        trim_botocore(output)
    except TrimError as error:
        raise PackagingError(f"botocore's data cannot be trimmed: {error}") from error
    for name in SOURCES:
        shutil.copytree(
            sources / name, output / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    if sys.version_info[:2] == (3, 12):  # bytecode only for the interpreter Lambda runs
        compileall.compile_dir(
            output, quiet=2, invalidation_mode=PycInvalidationMode.UNCHECKED_HASH
        )
    size = sum(f.stat().st_size for f in output.rglob("*") if f.is_file())
    if size > limit:
        raise PackagingError(
            f"the zip package would unzip to {size:,} bytes, over Lambda's {limit:,}: "
            "use `packaging: image` for this environment"
        )
    return size


@jsii.implements(ILocalBundling)
class LocalZipBundling:
    """CDK's local bundling for the zip asset: `bundle` into the asset's output directory."""

    def try_bundle(self, output_dir: str, options: object) -> bool:
        bundle(Path(output_dir))
        return True


def _pip(*arguments: str) -> None:
    command = [sys.executable, "-m", "pip", *arguments, "--quiet", "--disable-pip-version-check"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise PackagingError(f"pip {arguments[0]} failed:\n{completed.stderr.strip()}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lakegate_cdk.packaging")
    parser.add_argument("command", choices=["download"])
    parser.parse_args(argv)
    download()
    print(f"locked wheels for Lambda's arm64 Python 3.12 are in {WHEELHOUSE}")


if __name__ == "__main__":
    main()
