"""One cold container's first answer, as Lambda runs it: `import handler.app` (the init
phase), then one request, in a fresh interpreter with the function's environment.

    python -m tools.bench.cold_hit EVENT_JSON [--snapshot] [--aws]

prints a JSON report: seconds to import and to answer, the status, Cache-Status, and
what was loaded by the import and by the request (lakegate's modules, polars, X-Ray's
SDK, Powertools' OpenAPI models). `--snapshot` first runs the SnapStart hooks the
import registered, before-snapshot then after-restore, as Lambda does when it publishes
a version and when it resumes one: the runtime's `snapshot_restore_py` must then be
importable (tests put a stand-in with the same four functions on the path). `--aws`
also reports the AWS clients built and the calls made, by the import and by the
request (botocore loads before the clock starts then: not for timing).

`cold_hit(environment, event)` runs it; the cold-start bench and
tests/e2e/test_cold_start.py do.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# What a report lists as loaded: lakegate, and the dependencies a hit should not need.
WATCHED = (
    "handler",
    "cache",
    "polars",
    "aws_xray_sdk",
    "aws_lambda_powertools.event_handler.openapi.models",
)
ROOT = Path(__file__).resolve().parents[2]


class _Context:
    """What Lambda's runtime hands the handler (the fields Powertools reads)."""

    function_name = "lakegate-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:lakegate-bench"
    aws_request_id = "cold-hit"
    log_group_name = "/aws/lambda/lakegate-bench"
    log_stream_name = "bench"

    def __init__(self) -> None:
        self._deadline = time.monotonic() + 30.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _loaded() -> set[str]:
    return {m for m in sys.modules if m in WATCHED or m.split(".")[0] in WATCHED}


def _run_snapshot_hooks() -> None:
    from snapshot_restore_py import (  # type: ignore[import-not-found]
        get_after_restore,
        get_before_snapshot,
    )

    for hook, args, kwargs in reversed(get_before_snapshot()):  # Lambda's order
        hook(*args, **kwargs)
    for hook, args, kwargs in get_after_restore():
        hook(*args, **kwargs)


def _watch_aws() -> list[str]:
    """Record every client botocore builds ("client:s3") and every call ("BatchGetItem")."""
    import botocore.client
    import botocore.session

    seen: list[str] = []
    create_client = botocore.session.Session.create_client
    client_class: Any = botocore.client.BaseClient  # its stubs omit _make_api_call
    make_api_call = client_class._make_api_call

    def creating(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(f"client:{service_name}")
        return create_client(self, service_name, *args, **kwargs)

    def calling(self: Any, operation_name: str, api_params: Any) -> Any:
        seen.append(operation_name)
        return make_api_call(self, operation_name, api_params)

    botocore.session.Session.create_client = creating  # type: ignore[method-assign]
    client_class._make_api_call = calling
    return seen


def main() -> None:
    # As in the function's image, which installs the runtime dependencies alone: without
    # awscrt (botocore[crt], a dev extra here), which botocore would otherwise load.
    sys.modules.setdefault("awscrt", None)  # type: ignore[arg-type]
    event = json.loads(sys.argv[1])
    aws = _watch_aws() if "--aws" in sys.argv[2:] else []
    started = time.perf_counter()
    import handler.app

    imported = time.perf_counter()
    if "--snapshot" in sys.argv[2:]:
        _run_snapshot_hooks()
    before, aws_before = _loaded(), len(aws)
    served = time.perf_counter()
    response = handler.app.lambda_handler(event, _Context())  # type: ignore[arg-type]
    answered = time.perf_counter()
    report = {
        "import_s": imported - started,
        "first_request_s": answered - served,
        "status": response["statusCode"],
        "cache_status": response["headers"].get("Cache-Status"),
        "loaded_by_import": sorted(before),
        "loaded_by_request": sorted(_loaded() - before),
        "aws_by_import": aws[:aws_before],
        "aws_by_request": aws[aws_before:],
    }
    sys.stdout.write(json.dumps(report) + "\n")


def cold_hit(
    environment: Mapping[str, str],
    event: Mapping[str, Any],
    *,
    snapshot: bool = False,
    aws: bool = False,
) -> dict[str, Any]:
    """Run one cold container in a fresh interpreter; its report."""
    command = [sys.executable, "-m", "tools.bench.cold_hit", json.dumps(event)]
    command += ["--snapshot"] if snapshot else []
    command += ["--aws"] if aws else []
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=dict(environment),
        cwd=ROOT,  # tools/ runs from the checkout
    )
    # The last line: the handler writes its metrics (EMF) to stdout before it.
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


if __name__ == "__main__":
    main()
