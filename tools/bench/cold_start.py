"""Cold start: `import handler.app` against its dependencies' own imports, and the first hit.

Every figure is the median of fresh interpreters, so nothing is cached in sys.modules
between runs, configured as Lambda's init sees it:

- the function's settings (so the container builds what a deployed one builds), and
  LAMBDA_TASK_ROOT, without which X-Ray's SDK would also build two botocore clients
  for centralised sampling that Lambda never uses;
- compiled bytecode, as the image has (its Dockerfile runs compileall; this machine
  sets PYTHONDONTWRITEBYTECODE, which would otherwise recompile lakegate on every run);
- no awscrt (botocore[crt] is a dev extra here, not in the image), which botocore
  would otherwise load;
- tracing off, and tracing active (X-Ray's SDK is imported only then);
- botocore as the function's package holds it: its data trimmed to the services the
  function calls (lakegate_cdk.trim), shadowing the virtualenv's full copy;
- pydantic's plugin scan off (PYDANTIC_DISABLE_PLUGINS), as the function's environment
  sets it.

Three yardsticks for the import, each the one before plus more. The issue's line imports
each dependency's package; but pydantic's package is lazy (PEP 562): `import pydantic`
loads its core and nothing of BaseModel, Field or the validators, which load when their
names are first imported, and its first model loads the rest (its plugin loader, and
importlib.metadata with it). So the second line, "ready", also imports from pydantic the
names lakegate's modules import from it (read from their source) and builds one model:
what any code written with pydantic pays before its first model of its own. The third
adds one DynamoDB client, which "ready" leaves to lakegate's account.

The first hit runs `tools/bench/cold_hit.py` against moto and the emulator on
127.0.0.1: an entry is stored first, so the request is a hit.
"""

from __future__ import annotations

import ast
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore
from lakegate_cdk.trim import trim_botocore

from handler.settings import RollupSettings
from local.aws import CACHE_BUCKET, CACHE_TABLE, REGION
from local.function_url import LocalContext, build_event
from tools.bench import Table
from tools.bench.cache import local_parts
from tools.bench.cold_hit import cold_hit

RUNS = 7
ROOT = Path(__file__).resolve().parents[2]
HIT = "/v1/drivers?state=Alaska&year=2011"
LAMBDA_LIKE = {
    **os.environ,
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "LAMBDA_TASK_ROOT": os.path.join(os.environ.get("TMPDIR", "/tmp"), "lakegate-task-root"),
    "AWS_LAMBDA_FUNCTION_NAME": "lakegate-bench",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "DATABRICKS_HOST": "https://example.cloud.databricks.com",
    "DATABRICKS_WAREHOUSE_ID": "bench",
    "DATABRICKS_TOKEN": "bench",
    "LAKEGATE_CACHE_TABLE": CACHE_TABLE,
    "LAKEGATE_CACHE_BUCKET": CACHE_BUCKET,
    "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as cdk/lakegate_cdk/function.py sets it
}
TRACING = {
    "off": {"POWERTOOLS_TRACE_DISABLED": "true"},
    # A sampled trace header, as Lambda sets per invocation; segments go to the default
    # daemon address on 127.0.0.1, where nothing listens (UDP: nothing waits).
    "active": {
        "POWERTOOLS_TRACE_DISABLED": "false",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    },
}
# The issue's yardstick: the runtime dependencies the hit path imports, nothing more.
DEPENDENCIES = (
    "import boto3, aws_lambda_powertools.event_handler, aws_lambda_powertools.tracing, "
    "pydantic, requests, orjson, yaml"
)
# With tracing active, X-Ray's SDK and its patches of botocore and requests are theirs too.
TRACED_DEPENDENCIES = (
    f"{DEPENDENCIES}; import aws_xray_sdk.core, aws_xray_sdk.ext.botocore.patch, "
    "aws_xray_sdk.ext.requests.patch"
)
# Pydantic's first model (its internals load only then), after the names lakegate imports.
FIRST_MODEL = "; type('M', (pydantic.BaseModel,), {'__annotations__': {'x': int}})"
# What any function on these libraries pays before its first answer: pydantic ready, and
# boto3's one DynamoDB client.
CLIENT_BUILT = f"; boto3.session.Session(region_name={REGION!r}).client('dynamodb')"
NO_AWSCRT = "import sys; sys.modules['awscrt'] = None; "
# One DynamoDB client, timed after boto3 is imported (the packaging's saving).
CLIENT = f"import boto3; t = time.perf_counter(){CLIENT_BUILT}"


def _pydantic_ready() -> str:
    """`from pydantic import …` of every name lakegate's runtime modules import from it,
    then pydantic's first model."""
    names: set[str] = set()
    for package in ("handler", "cache"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "pydantic":
                    names.update(alias.name for alias in node.names)
    return f"; from pydantic import {', '.join(sorted(names))}{FIRST_MODEL}"


@contextmanager
def _packaged_botocore() -> Iterator[Path]:
    """A directory holding botocore as the function's package does: trimmed, compiled."""
    with tempfile.TemporaryDirectory(prefix="lakegate-bench-") as directory:
        site = Path(directory)
        installed = Path(botocore.__file__).parent
        shutil.copytree(installed, site / "botocore", ignore=shutil.ignore_patterns("__pycache__"))
        trim_botocore(site)
        compileall.compile_dir(site / "botocore", quiet=1)
        yield site


def _median_ms(code: str, environment: Mapping[str, str]) -> float:
    return statistics.median(_once_ms(code, environment) for _ in range(RUNS))


def _first_hits_and(
    codes: Mapping[str, str], environment: Mapping[str, str]
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """RUNS cold first hits, and the median of each snippet, run in turn (a hit, then one
    of each), so that the machine's drift falls on all of them alike and their ratios
    stay put."""
    event = build_event("GET", HIT, [("accept-encoding", "gzip")], b"", "127.0.0.1", "b")
    reports = []
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(RUNS):
        reports.append(cold_hit(environment, event))
        for name, code in codes.items():
            samples[name].append(_once_ms(code, environment))
    return reports, {name: statistics.median(values) for name, values in samples.items()}


def _once_ms(code: str, environment: Mapping[str, str]) -> float:
    timed = (
        f"{NO_AWSCRT}import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    )
    out = _run([sys.executable, "-c", timed], environment)
    return float(out.strip().splitlines()[-1]) * 1000


def _run(command: list[str], environment: Mapping[str, str]) -> str:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=dict(environment),
        cwd=ROOT,
    ).stdout


def _ms(reports: list[dict[str, Any]], *names: str) -> float:
    return statistics.median(sum(_seconds(r[n]) for n in names) * 1000 for r in reports)


def _seconds(value: object) -> float:
    assert isinstance(value, float)
    return value


def section() -> Table:
    compileall.compile_dir(ROOT / "handler", quiet=1)
    compileall.compile_dir(ROOT / "cache", quiet=1)
    columns: dict[str, dict[str, float]] = {}
    checks: dict[str, dict[str, Any]] = {}
    ready_code = _pydantic_ready()
    with local_parts() as parts, _packaged_botocore() as site:
        parts.container(RollupSettings())(
            build_event("GET", HIT, [], b"", "127.0.0.1", "store"), LocalContext("store", 30.0)
        )  # stores the entry: every cold container's first request is then a hit
        served = {
            **LAMBDA_LIKE,
            "PYTHONPATH": str(site),
            "DATABRICKS_HOST": parts.emulator.url,
            "DATABRICKS_WAREHOUSE_ID": parts.emulator.config.warehouse_id,
            "DATABRICKS_TOKEN": parts.emulator.config.token,
            "LAKEGATE_AWS_ENDPOINT_URL": parts.moto.url,
        }
        for name, switch in TRACING.items():
            environment = {**served, **switch}
            dependencies = TRACED_DEPENDENCIES if name == "active" else DEPENDENCIES
            reports, yardsticks = _first_hits_and(
                {
                    "alone": dependencies,
                    "ready": dependencies + ready_code,
                    "first_use": dependencies + ready_code + CLIENT_BUILT,
                },
                environment,
            )
            imported = _ms(reports, "import_s")
            alone, ready, first_use = (yardsticks[k] for k in ("alone", "ready", "first_use"))
            columns[name] = {
                "import": imported,
                "alone": alone,
                "ratio": imported / alone,
                "ready": ready,
                "ratio_ready": imported / ready,
                "first_use": first_use,
                "ratio_first_use": imported / first_use,
                "first_hit": _ms(reports, "import_s", "first_request_s"),
                "request": _ms(reports, "first_request_s"),
            }
            checks[name] = reports[-1]
        packaged = served | TRACING["off"]
        miss_adds = _median_ms("import handler.app; import handler.shaping", packaged)
        polars = _median_ms("import polars", packaged)
        client = _median_ms(CLIENT, packaged)
        full_client = _median_ms(CLIENT, {k: v for k, v in packaged.items() if k != "PYTHONPATH"})

    def row(label: str, key: str, fmt: str = "{:.0f}", note: str = "") -> tuple[str, ...]:
        return (label, fmt.format(columns["off"][key]), fmt.format(columns["active"][key]), note)

    off, active = checks["off"], checks["active"]

    def loaded(report: dict[str, Any], name: str) -> bool:
        return any(m.split(".")[0] == name for m in report["loaded_by_import"])

    return Table(
        title=f"Cold start, configured as in Lambda's init (median of {RUNS} fresh interpreters)",
        header=("", "tracing off", "tracing active", "what"),
        rows=[
            row("import handler.app", "import", note="ms: Lambda's init phase"),
            row(
                "dependencies alone",
                "alone",
                note="ms: the issue's line (with X-Ray's when active)",
            ),
            row("ratio", "ratio", "{:.2f}", "import / dependencies alone"),
            row(
                "dependencies, ready",
                "ready",
                note="ms: + pydantic's names lakegate imports, its first model",
            ),
            row("ratio to ready", "ratio_ready", "{:.2f}", "import / that (goal: <= 1.25)"),
            row(
                "dependencies, first used",
                "first_use",
                note="ms: ready + a DynamoDB client",
            ),
            row(
                "ratio to first use",
                "ratio_first_use",
                "{:.2f}",
                "import / dependencies first used",
            ),
            row("first hit after import", "first_hit", note="ms: import + one served hit"),
            row("  of which the hit", "request", note="ms: the first request alone"),
        ],
        note=f"The first request was `{off['status']}` `{off['cache_status']}`; it loaded "
        f"{', '.join(off['loaded_by_request']) or 'nothing more'}. X-Ray's SDK loaded: "
        f"{loaded(off, 'aws_xray_sdk')} (off) / {loaded(active, 'aws_xray_sdk')} (active); "
        f"polars: {loaded(off, 'polars')}. The first miss adds polars and the miss path: "
        f"`import handler.app; import handler.shaping` takes {miss_adds:.0f} ms (polars "
        f"alone {polars:.0f} ms). A DynamoDB client (after `import boto3`) takes "
        f"{client:.0f} ms with the packaged botocore, {full_client:.0f} ms with all its "
        "data. tests/e2e/test_cold_start.py proves what a hit leaves unloaded.",
    )
