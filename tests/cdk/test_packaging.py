"""The two packagings: an environment's `lambda.packaging: zip` synthesises a SnapStart zip
function (nag and cfn-lint clean, like the images), and the zip is bundled offline from
the locked wheels, with the runtime sources and hash-checked-free bytecode, botocore's
data cut to the API's services, within Lambda's size limit; `lambda.tracing: false`
leaves X-Ray out of the function."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from lakegate_cdk.function import HANDLER
from lakegate_cdk.packaging import MAX_UNZIPPED_BYTES, PackagingError, bundle
from lakegate_cdk.trim import SERVICES

from .conftest import Synthesized
from .test_cfn_lint import IGNORED
from .test_nag import EXPECTED, _acknowledgements

ROLE = "Api"


def _function(synth: Synthesized) -> dict[str, Any]:
    resources = synth.template(ROLE).find_resources("AWS::Lambda::Function")
    found: dict[str, Any] = resources[synth.logical_id(ROLE, synth.stacks.api.api.function)]
    return found


# --- synthesised ---------------------------------------------------------------------


def test_zip_packaging_is_python_312_on_arm64_with_snapstart(zipped: Synthesized) -> None:
    properties = _function(zipped)["Properties"]
    assert properties["Runtime"] == "python3.12"
    assert properties["Handler"] == HANDLER
    assert properties["Architectures"] == ["arm64"]
    assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert "PackageType" not in properties and "ImageConfig" not in properties
    assert set(properties["Code"]) == {"S3Bucket", "S3Key"}
    assert properties["Code"]["S3Key"].endswith(".zip")


def test_images_take_no_snapstart(env: Synthesized) -> None:
    properties = _function(env)["Properties"]
    assert properties["PackageType"] == "Image"
    assert "SnapStart" not in properties and "Runtime" not in properties


def test_the_url_serves_a_published_version_so_the_snapshot_is_used(zipped: Synthesized) -> None:
    """SnapStart snapshots published versions only: `live` must point at one, never $LATEST."""
    template = zipped.template(ROLE)
    api = zipped.stacks.api.api
    template.has_resource_properties(
        "AWS::Lambda::Alias",
        {
            "Name": "live",
            "FunctionVersion": {"Fn::GetAtt": [zipped.logical_id(ROLE, api.version), "Version"]},
        },
    )
    template.has_resource_properties("AWS::Lambda::Url", {"Qualifier": "live"})


def test_the_zip_asset_is_hashed_from_the_runtime_sources(zipped: Synthesized) -> None:
    assets = json.loads((zipped.outdir / "Lakegate-dev-Api.assets.json").read_text())
    key = _function(zipped)["Properties"]["Code"]["S3Key"]
    (asset,) = (a for h, a in assets["files"].items() if key.startswith(h))
    assert asset["source"]["packaging"] == "zip"


def test_without_tracing_there_is_no_xray_and_the_handler_is_told(zipped: Synthesized) -> None:
    properties = _function(zipped)["Properties"]
    assert properties.get("TracingConfig", {}).get("Mode") != "Active"
    assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    actions = json.dumps(zipped.template(ROLE).find_resources("AWS::IAM::Policy"))
    assert "xray:" not in actions


def test_the_zip_function_tells_pydantic_to_load_no_plugins(zipped: Synthesized) -> None:
    """As the images do (test_api_stack): looking for plugins would cost every cold start."""
    variables = _function(zipped)["Properties"]["Environment"]["Variables"]
    assert variables["PYDANTIC_DISABLE_PLUGINS"] == "__all__"


def test_with_tracing_the_handler_is_not_told_to_stop(env: Synthesized) -> None:
    variables = _function(env)["Properties"]["Environment"]["Variables"]
    assert "POWERTOOLS_TRACE_DISABLED" not in variables
    env.template(ROLE).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]}
                        )
                    ]
                )
            }
        },
    )


def test_zip_variant_acknowledgements_are_the_reviewed_ones(zipped: Synthesized) -> None:
    """Reaching here means its synth passed cdk-nag: Python 3.12 is acknowledged (L1), and
    without tracing there is no X-Ray wildcard to acknowledge."""
    prefix = "Lakegate-dev-"
    expected = EXPECTED["dev"] - {("Api/Api/Role", "AwsSolutions-IAM5[Resource::*]")}
    expected |= {("Api/Api/Function", "AwsSolutions-L1")}
    acks = _acknowledgements(zipped.app)
    assert {(path.removeprefix(prefix), rule) for path, rule in acks} == expected
    report = AwsSolutionsChecks().validate_scope(zipped.app)
    findings = {
        (resource.construct_path, violation.rule_name)
        for violation in report.violations
        for resource in violation.violating_resources
    }
    for path, rule in acks:
        assert any(p.startswith(path + "/") and r == rule for p, r in findings), (path, rule)


def test_zip_variant_template_is_cfn_lint_clean(zipped: Synthesized) -> None:
    matches = lint(
        zipped.template_path(ROLE).read_text(encoding="utf-8"),
        config=ManualArgs(regions=[zipped.config.region], ignore_checks=IGNORED),
    )
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


# --- bundled -------------------------------------------------------------------------


def _wheel(directory: Path, name: str, contents: dict[str, bytes]) -> Path:
    """A pure-Python wheel, as pip builds one: its files, its metadata and its RECORD."""
    path = directory / f"{name}-1.0-py3-none-any.whl"
    dist_info = f"{name}-1.0.dist-info"
    files = {
        **contents,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{file},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for file, data in files.items()
    ]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(path, "w") as archive:
        for file, data in files.items():
            archive.writestr(file, data)
    return path


# A botocore with data for the API's services and one more (the real one has ~440).
BOTOCORE_SERVICES = (*SERVICES, "ec2")


def _botocore() -> dict[str, bytes]:
    files = {"botocore/__init__.py": b""}
    for name in BOTOCORE_SERVICES:
        model = {"metadata": {"endpointPrefix": name}, "operations": {}}
        files[f"botocore/data/{name}/2020-01-01/service-2.json"] = json.dumps(model).encode()
    services: dict[str, Any] = {name: {"endpoints": {}} for name in BOTOCORE_SERVICES}
    endpoints = {"version": 3, "partitions": [{"partition": "aws", "services": services}]}
    files["botocore/data/endpoints.json"] = json.dumps(endpoints).encode()
    files["botocore/data/partitions.json"] = b'{"partitions": []}'
    return files


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A wheelhouse with two locked wheels (one a small botocore), their lock, and runtime
    sources (with a stray __pycache__ that must not travel)."""
    wheelhouse = tmp_path / "wheels"
    wheelhouse.mkdir()
    wheels = {
        "tinydep": _wheel(wheelhouse, "tinydep", {"tinydep.py": b"VALUE = 42\n"}),
        "botocore": _wheel(wheelhouse, "botocore", _botocore()),
    }
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "".join(
            f"{name}==1.0 \\\n    --hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}\n"
            for name, wheel in wheels.items()
        )
    )
    sources = tmp_path / "repo"
    for name, text in (("handler/app.py", "import tinydep\n"), ("cache/__init__.py", "")):
        (sources / name).parent.mkdir(parents=True, exist_ok=True)
        (sources / name).write_text(text)
    (sources / "handler" / "__pycache__").mkdir()
    (sources / "handler" / "__pycache__" / "stale.cpython-312.pyc").write_bytes(b"stale")
    return {"wheelhouse": wheelhouse, "lock": lock, "sources": sources, "out": tmp_path / "out"}


def _bundle(layout: dict[str, Path], limit: int = MAX_UNZIPPED_BYTES) -> int:
    return bundle(
        layout["out"],
        lock=layout["lock"],
        wheelhouse=layout["wheelhouse"],
        sources=layout["sources"],
        limit=limit,
    )


@pytest.mark.slow
def test_bundling_installs_the_locked_wheels_offline_beside_the_sources(
    layout: dict[str, Path],
) -> None:
    out = layout["out"]
    size = _bundle(layout)
    assert (out / "tinydep.py").read_text() == "VALUE = 42\n"
    assert (out / "handler" / "app.py").is_file() and (out / "cache" / "__init__.py").is_file()
    assert not (out / "handler" / "__pycache__" / "stale.cpython-312.pyc").exists()
    assert size == sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    # botocore's data holds the API's services alone (lakegate_cdk.trim): faster clients.
    data = out / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == set(SERVICES)
    assert {p.name for p in data.iterdir() if p.is_file()} == {"endpoints.json", "partitions.json"}
    (partition,) = json.loads((data / "endpoints.json").read_text())["partitions"]
    assert set(partition["services"]) == set(SERVICES)
    # Compiled for the runtime, never checked against its sources' timestamps (PEP 552):
    # the zip's fixed timestamps would otherwise make every .pyc stale in Lambda.
    (compiled,) = (out / "handler" / "__pycache__").glob("app.cpython-312.pyc")
    flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked


@pytest.mark.slow
def test_a_package_without_botocore_is_refused(layout: dict[str, Path]) -> None:
    """The runtime needs it: a lock without it is a broken lock, not a smaller package."""
    tinydep_only = layout["lock"].read_text().split("botocore==")[0]
    layout["lock"].write_text(tinydep_only)
    with pytest.raises(PackagingError, match="no botocore data in"):
        _bundle(layout)


@pytest.mark.slow
def test_a_wheel_the_lock_does_not_pin_is_refused(layout: dict[str, Path]) -> None:
    layout["lock"].write_text(f"tinydep==1.0 \\\n    --hash=sha256:{'0' * 64}\n")
    with pytest.raises(PackagingError, match="pip install failed"):
        _bundle(layout)


def test_without_wheels_bundling_says_what_to_run(layout: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="make lambda-wheels"):
        bundle(layout["out"], lock=layout["lock"], wheelhouse=tmp_path / "none")


@pytest.mark.slow
def test_a_package_over_lambdas_size_limit_is_refused(layout: dict[str, Path]) -> None:
    with pytest.raises(PackagingError, match="over Lambda's"):
        _bundle(layout, limit=100)
    assert MAX_UNZIPPED_BYTES == 250 * 1024 * 1024  # Lambda's unzipped limit, in bytes
