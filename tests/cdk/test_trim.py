"""botocore's data is cut to the services the runtime calls, and nothing those clients
resolve changes: SERVICES names every service a runtime `client(...)` call names; the
trim keeps exactly those services and every top-level data file, cuts endpoints.json's
service maps to their endpoint prefixes (read from the newest models), refuses a service
botocore does not know, and does the same the second time; on a copy of the real
botocore, every kept client resolves the same endpoints and signs the same URLs in every
partition as before, and a removed service's client can no longer be built."""

from __future__ import annotations

import ast
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore
import pytest
from lakegate_cdk import trim
from lakegate_cdk.trim import SERVICES, TrimError, trim_botocore

REPO_ROOT = Path(__file__).resolve().parents[2]
TRIM_SOURCE = Path(trim.__file__)

# --- SERVICES is what the runtime calls -----------------------------------------------


def _client_services(*packages: str) -> set[str]:
    """The string literal first argument of every call of a function named `client` (or
    `resource`) in `packages`: boto3.client, session.client, handler/container.py's helper."""
    found: set[str] = set()
    for package in packages:
        for path in (REPO_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                match node:
                    case ast.Call(
                        func=ast.Attribute(attr=name) | ast.Name(id=name),
                        args=[ast.Constant(value=str(service)), *_],
                    ) if name in ("client", "resource"):
                        found.add(service)
    return found


def test_services_name_every_client_the_runtime_creates() -> None:
    called = _client_services("handler", "cache")
    # The clients known today: a scan that finds fewer is broken, not reassuring.
    assert {"dynamodb", "s3", "lambda", "ssm", "secretsmanager", "cloudfront"} <= called
    assert called - set(SERVICES) == set(), "add these to lakegate_cdk.trim.SERVICES"


def test_trim_imports_only_the_standard_library() -> None:
    """The image's build runs it with the base image's bare Python, beside nothing else."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(TRIM_SOURCE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert imported
    assert imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names


# --- on a small botocore --------------------------------------------------------------

TOP_LEVEL = ("_retry.json", "partitions.json", "sdk-default-configuration.json")


def _write_json(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def _endpoints(site: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((site / "botocore/data/endpoints.json").read_text())
    return loaded


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site-packages whose botocore knows four services: `fancy`'s endpoint prefix is not
    its name, and changed in its newest model; `plain`'s model is gzipped."""
    data = tmp_path / "botocore" / "data"
    models = {
        "fancy/2019-01-01/service-2.json": "old-fancy",
        "fancy/2024-06-30/service-2.json": "fancy-api",
        "plain/2020-01-01/service-2.json.gz": "plain",
        "ec2/2016-11-15/service-2.json.gz": "ec2",
        "iam/2010-05-08/service-2.json": "iam",
    }
    for name, prefix in models.items():
        _write_json(data / name, {"metadata": {"endpointPrefix": prefix}, "operations": {}})
    (data / "fancy/2024-06-30/paginators-1.json").write_text("{}")
    (data / "fancy/2011-01-01").mkdir()  # an old version without a model, as dynamodb has
    services: dict[str, Any] = {p: {"endpoints": {"eu-west-1": {}}} for p in models.values()}
    services["sts"] = {"endpoints": {"eu-west-1": {}}}
    partition: dict[str, Any] = {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "regions": {"eu-west-1": {}},
    }
    _write_json(
        data / "endpoints.json",
        {
            "version": 3,
            "partitions": [
                {**partition, "services": services},
                {**partition, "partition": "aws-cn", "services": {"iam": {}, "plain": {}}},
            ],
        },
    )
    for name in TOP_LEVEL:
        (data / name).write_text(f'{{"file": "{name}"}}')
    return tmp_path


def test_only_the_services_directories_and_every_top_level_file_remain(site: Path) -> None:
    trim_botocore(site, ("fancy", "plain"))
    data = site / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == {"fancy", "plain"}
    assert {p.name for p in data.iterdir() if p.is_file()} == {"endpoints.json", *TOP_LEVEL}
    for name in TOP_LEVEL:
        assert (data / name).read_text() == f'{{"file": "{name}"}}'
    # A kept service keeps all it had.
    assert (data / "fancy/2024-06-30/paginators-1.json").is_file()
    assert (data / "fancy/2019-01-01/service-2.json").is_file()


def test_endpoints_keep_the_kept_services_prefixes_from_their_newest_models(site: Path) -> None:
    before = _endpoints(site)
    trim_botocore(site, ("fancy", "plain"))
    after = _endpoints(site)
    aws, cn = after["partitions"]
    assert set(aws["services"]) == {"fancy-api", "plain"}
    assert aws["services"]["fancy-api"] == before["partitions"][0]["services"]["fancy-api"]
    assert set(cn["services"]) == {"plain"}
    # Everything but the service maps is as botocore shipped it.
    for partition in (*before["partitions"], *after["partitions"]):
        del partition["services"]
    assert after == before


def test_an_unknown_service_is_refused_by_name_and_nothing_is_removed(site: Path) -> None:
    with pytest.raises(TrimError, match=r"botocore has no data for dynamodbb\b"):
        trim_botocore(site, ("fancy", "dynamodbb"))
    data = site / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == {"fancy", "plain", "ec2", "iam"}
    assert len(_endpoints(site)["partitions"][0]["services"]) == 6


def test_without_botocore_trimming_says_so(tmp_path: Path) -> None:
    with pytest.raises(TrimError, match="no botocore data in"):
        trim_botocore(tmp_path)


def test_trimming_shrinks_the_data_and_twice_is_once(site: Path) -> None:
    first = trim_botocore(site, ("plain", "fancy", "plain"))
    assert first.services == ("fancy", "plain")
    assert first.bytes_after < first.bytes_before
    data = site / "botocore" / "data"
    files = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    second = trim_botocore(site, ("fancy", "plain"))
    assert (second.bytes_before, second.bytes_after) == (first.bytes_after, first.bytes_after)
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == files


def test_the_script_runs_on_pythons_standard_library_alone(site: Path) -> None:
    """As the image's build runs it: no site-packages (-S), nothing of lakegate's."""
    for name in SERVICES:
        _write_json(site / f"botocore/data/{name}/2020-01-01/service-2.json", {"metadata": {}})
        _write_json(
            site / f"botocore/data/{name}/2020-01-02/service-2.json",
            {"metadata": {"endpointPrefix": name}},
        )
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(TRIM_SOURCE), str(site)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("botocore data: ")
    assert completed.stdout.rstrip().endswith(
        f"{len(SERVICES)} services ({', '.join(sorted(SERVICES))})"
    )
    assert {p.name for p in (site / "botocore/data").iterdir() if p.is_dir()} == set(SERVICES)


# --- on a copy of the real botocore ---------------------------------------------------

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1")
REMOVED = "ec2"
LOCAL_ENDPOINT = "http://127.0.0.1:1"

# Creates every kept client in every partition's region (and once for a local endpoint,
# as lakegate serve does), and presigns a request with each: the endpoint the rule set
# resolves, and the region and name it is signed for. Signed at a fixed instant without
# the CRT (Lambda's package has none), so the same inputs give the same URL.
PROBE = """
import datetime, json, sys
import boto3, botocore, botocore.auth
from botocore import xform_name
from botocore.config import Config

botocore.auth.get_current_datetime = lambda remove_tzinfo=True: datetime.datetime(2026, 1, 2, 3, 4, 5)
services, regions, local, removed = json.loads(sys.argv[1])
S3_GET = ("get_object", {"Bucket": "lakegate-answers", "Key": "answers/0f/key.json"})


def presigned(client):
    if client.meta.service_model.service_name == "s3":
        return [client.generate_presigned_url(*S3_GET)]
    model = client.meta.service_model
    operation = next(
        name for name in model.operation_names
        if not getattr(model.operation_model(name).input_shape, "required_members", None)
    )
    return [operation, client.generate_presigned_url(xform_name(operation), Params={})]


clients = {}
for region, endpoint_url in [*((r, None) for r in regions), ("us-east-1", local)]:
    session = boto3.session.Session(region_name=region)
    for service in services:
        config = Config(signature_version="s3v4") if service == "s3" else None
        try:
            client = session.client(service, endpoint_url=endpoint_url, config=config)
            clients[f"{service} {region} {endpoint_url}"] = [
                client.meta.endpoint_url, client.meta.region_name, *presigned(client)
            ]
        except Exception as error:
            clients[f"{service} {region} {endpoint_url}"] = repr(error)
try:
    boto3.session.Session(region_name="us-east-1").client(removed)
    outcome = "created"
except Exception as error:
    outcome = type(error).__name__
print(json.dumps({"botocore": botocore.__file__, "clients": clients, "removed": outcome}))
"""


def _probe(pythonpath: Path | None) -> dict[str, Any]:
    """What PROBE prints, run with `pythonpath` (a botocore's parent) ahead of the venv."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"
    }
    environment |= {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "BOTO_DISABLE_CRT": "true",
    }
    if pythonpath is not None:
        environment["PYTHONPATH"] = str(pythonpath)
    arguments = json.dumps([SERVICES, REGIONS, LOCAL_ENDPOINT, REMOVED])
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    probed: dict[str, Any] = json.loads(completed.stdout)
    return probed


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, trim.TrimReport]:
    """A copy of the venv's botocore (code and data, ~30 MB), trimmed: its parent, and
    the report."""
    site = tmp_path_factory.mktemp("site-packages")
    shutil.copytree(Path(botocore.__file__).parent, site / "botocore", symlinks=True)
    return site, trim_botocore(site)


def test_the_real_botocore_keeps_exactly_the_services_and_shrinks(
    trimmed: tuple[Path, trim.TrimReport],
) -> None:
    site, report = trimmed
    original = Path(botocore.__file__).parent / "data"
    data = site / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == set(SERVICES)
    assert {p.name for p in data.iterdir() if p.is_file()} == {
        p.name for p in original.iterdir() if p.is_file()
    }
    assert report.services == tuple(sorted(SERVICES))
    # Measured on botocore 1.44: 19.5 MB of data, 1.4 MB kept.
    assert report.bytes_after < report.bytes_before / 5


@pytest.fixture(scope="module")
def probed(trimmed: tuple[Path, trim.TrimReport]) -> dict[str, dict[str, Any]]:
    """PROBE's findings with the trimmed copy ("cut") and with the venv's botocore ("whole")."""
    site, _ = trimmed
    return {"cut": _probe(site), "whole": _probe(None)}


def test_every_kept_client_resolves_and_signs_as_with_the_whole_data(
    trimmed: tuple[Path, trim.TrimReport], probed: dict[str, dict[str, Any]]
) -> None:
    site, _ = trimmed
    cut, whole = probed["cut"], probed["whole"]
    # Each ran the botocore it was meant to.
    assert Path(cut["botocore"]).is_relative_to(site)
    assert not Path(whole["botocore"]).is_relative_to(site)
    # Every client built, in every partition: a comparison of failures would prove little.
    assert not [key for key, value in whole["clients"].items() if isinstance(value, str)]
    assert len(whole["clients"]) == len(SERVICES) * (len(REGIONS) + 1)
    assert cut["clients"] == whole["clients"]


def test_a_removed_services_client_cannot_be_built(probed: dict[str, dict[str, Any]]) -> None:
    """Proof the trimmed copy is what was probed: without trimming the client is built."""
    assert probed["cut"]["removed"] == "UnknownServiceError"
    assert probed["whole"]["removed"] == "created"
