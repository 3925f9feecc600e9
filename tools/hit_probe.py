"""Serve one request in a fresh interpreter and report what it imported and its memory.

Used by the cold-start test and `make bench`: a cache hit must not import polars
(nor DuckDB), because every cold container would pay for it; and the exports bench
reads the peak resident memory of a miss, which is what a Lambda container must hold.
`python -m tools.hit_probe SETTINGS_JSON PATH [TIMEOUT_SECONDS]` prints a JSON report;
LAKEGATE_CATALOGUE picks the catalogue, as in Lambda.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nothing more at run time: the probe measures its own imports
    from local.stack import EmbeddedStack


def main() -> None:
    started = time.perf_counter()
    import orjson

    from cache import CountingRecorder
    from handler.catalogue import load_catalogue
    from handler.container import new_container, wire
    from handler.settings import Settings, catalogue_path
    from local.function_url import LocalContext, build_event

    imported = time.perf_counter() - started
    settings = Settings.model_validate_json(sys.argv[1])
    recorder = CountingRecorder()
    handler = new_container(load_catalogue(catalogue_path()), wire(settings, recorder), recorder)
    timeout_s = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    ready_mb = _peak_rss_mb()
    event = build_event(
        "GET", sys.argv[2], [("accept-encoding", "gzip")], b"", "127.0.0.1", "probe"
    )
    served = time.perf_counter()
    response = handler(event, LocalContext("probe", timeout_s))
    finished = time.perf_counter()
    report = {
        "status": response["statusCode"],
        "cache_status": response["headers"].get("Cache-Status"),
        "import_s": imported,
        "first_request_s": finished - served,
        "polars_imported": "polars" in sys.modules,
        "duckdb_imported": "duckdb" in sys.modules,
        "pandas_imported": "pandas" in sys.modules,
        # The peak resident set: before the request, and at its end.
        "ready_rss_mb": ready_mb,
        "peak_rss_mb": _peak_rss_mb(),
    }
    sys.stdout.write(orjson.dumps(report).decode() + "\n")


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec; getrusage's
    ru_maxrss does not (a child of a large process inherits its parent's peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes / KiB


def probe(stack: EmbeddedStack, path: str, *, timeout_s: float = 30.0) -> dict[str, Any]:
    """Serve `path` once in a fresh interpreter with `stack`'s settings; the report."""
    import json
    import os
    import subprocess

    assert stack.settings is not None, "stack not started"
    # Secrets are masked by model_dump_json; the probe needs the real token.
    document = json.loads(stack.settings.model_dump_json())
    token = stack.settings.warehouse.token
    document["warehouse"]["token"] = token.get_secret_value() if token else None
    environment = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true"}
    if stack.config.catalogue_path is not None:
        environment["LAKEGATE_CATALOGUE"] = str(stack.config.catalogue_path)
    completed = subprocess.run(
        [sys.executable, "-m", "tools.hit_probe", json.dumps(document), path, str(timeout_s)],
        capture_output=True,
        text=True,
        timeout=timeout_s + 60,
        env=environment,
        # tools/ is run from the checkout, not installed: `-m` finds it from its root.
        cwd=Path(__file__).resolve().parents[1],
        check=True,
    )
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


if __name__ == "__main__":
    main()
