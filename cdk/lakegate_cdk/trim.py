"""botocore's data cut to the services the API function calls: a cold-start saving.

Creating the function's first boto3 client costs ~60 ms of a cold start, ~39 ms of it
botocore reading data for ~400 services the function never calls: its loader lists
every directory of botocore/data (twice, to find which services exist) and parses the
whole of endpoints.json (1.25 MB). Cut to the services below, with endpoints.json's
per-partition service maps cut to their endpoint prefixes, the same client costs ~21 ms.
Only the lookups shrink: the kept services' models, rule sets and partitions, and every
top-level file of botocore/data, are left exactly as botocore ships them
(tests/cdk/test_trim.py resolves every kept client's endpoints both ways and compares).

Standard library only, and imports nothing from lakegate_cdk: the image's Docker build
runs this file alone with the Lambda base image's bare Python (cdk/lambda/Dockerfile),
and lakegate_cdk.packaging calls it on the zip package.

    python trim.py SITE_PACKAGES    # prints what it kept, before and after
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The botocore service names the runtime creates clients for (handler/container.py,
# handler/refresh.py); tests/cdk/test_trim.py fails when a client(...) call names another.
SERVICES: tuple[str, ...] = ("dynamodb", "s3", "lambda", "ssm", "secretsmanager", "cloudfront")

ENDPOINTS = "endpoints.json"
# botocore's loader reads a data file as .json, else as .json.gz, in that order.
_EXTENSIONS = (".json", ".json.gz")


class TrimError(Exception):
    """botocore's data cannot be trimmed as asked: the message says which and why."""


@dataclass(frozen=True)
class TrimReport:
    """What `trim_botocore` left: botocore/data's size before and after, the kept services."""

    bytes_before: int
    bytes_after: int
    services: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"botocore data: {self.bytes_before / 1e6:.1f} MB → {self.bytes_after / 1e6:.1f} MB, "
            f"{len(self.services)} services ({', '.join(self.services)})"
        )


def trim_botocore(site_packages: Path, services: Iterable[str] = SERVICES) -> TrimReport:
    """Keep only `services`' directories in botocore/data, and only their endpoint
    prefixes in endpoints.json; refuse a service botocore has no data for. Idempotent."""
    data = site_packages / "botocore" / "data"
    if not data.is_dir():
        raise TrimError(f"no botocore data in {site_packages}: is botocore installed there?")
    kept = tuple(sorted(set(services)))
    missing = [name for name in kept if not (data / name).is_dir()]
    if missing:
        # A typo would otherwise ship a package that cannot build that client.
        raise TrimError(
            f"botocore has no data for {', '.join(missing)} (no {data}/<service> directory): "
            "check the service names"
        )
    # Everything read before anything is removed: a failure leaves the data whole.
    endpoints = _data_file(data / ENDPOINTS)
    trimmed = _only_services(_read(endpoints), {_endpoint_prefix(data / n) for n in kept})
    before = _size(data)
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in kept:
            shutil.rmtree(entry)
    _write(endpoints, trimmed)
    return TrimReport(bytes_before=before, bytes_after=_size(data), services=kept)


def _endpoint_prefix(service: Path) -> str:
    """The service's `metadata.endpointPrefix` in its newest model, as botocore picks it:
    endpoints.json names services by endpoint prefix, not by client name."""
    versions = [
        path
        for path in sorted(p for p in service.iterdir() if p.is_dir())
        if any((path / f"service-2{ext}").is_file() for ext in _EXTENSIONS)
    ]
    if not versions:
        raise TrimError(f"{service} holds no service-2 model: is botocore's layout different?")
    prefix = (
        _read(_data_file(versions[-1] / "service-2.json")).get("metadata", {}).get("endpointPrefix")
    )
    if not isinstance(prefix, str):
        raise TrimError(f"{versions[-1]}'s service model has no metadata.endpointPrefix")
    return prefix


def _only_services(endpoints: dict[str, Any], prefixes: set[str]) -> dict[str, Any]:
    """endpoints.json with each partition's `services` cut to `prefixes`; all else as is."""
    partitions = [
        {
            **partition,
            "services": {k: v for k, v in partition["services"].items() if k in prefixes},
        }
        for partition in endpoints["partitions"]
    ]
    return {**endpoints, "partitions": partitions}


def _data_file(path: Path) -> Path:
    """The file botocore's loader would read for `path` (name.json, else name.json.gz)."""
    stem = path.name.removesuffix(".json")
    for ext in _EXTENSIONS:
        candidate = path.with_name(stem + ext)
        if candidate.is_file():
            return candidate
    raise TrimError(f"no {stem}.json or {stem}.json.gz in {path.parent}")


def _read(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    return loaded


def _write(path: Path, document: dict[str, Any]) -> None:
    # Compact: the runtime parses this file on every cold start; no person reads it there.
    text = json.dumps(document, separators=(",", ":"))
    temporary = path.with_name(path.name + ".tmp")
    if path.suffix == ".gz":
        temporary.write_bytes(gzip.compress(text.encode(), mtime=0))
    else:
        temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)  # never half a file, if interrupted


def _size(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python trim.py", description="Cut botocore's data to the API function's services."
    )
    parser.add_argument("site_packages", type=Path, help="the directory botocore is installed in")
    arguments = parser.parse_args(argv)
    print(trim_botocore(arguments.site_packages))


if __name__ == "__main__":
    main()
