"""Serve one request in a fresh interpreter and report what it imported.

Used by the cold-start test and `make bench`: a cache hit must not import polars
(nor DuckDB), because every cold container would pay for it.
`python -m local.hit_probe SETTINGS_JSON PATH` prints a JSON report.
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    started = time.perf_counter()
    import orjson

    from cache import CountingRecorder
    from handler.catalogue import load_catalogue
    from handler.container import new_container, wire
    from handler.settings import Settings
    from local.function_url import LocalContext, build_event

    imported = time.perf_counter() - started
    settings = Settings.model_validate_json(sys.argv[1])
    recorder = CountingRecorder()
    handler = new_container(load_catalogue(), wire(settings, recorder), recorder)
    event = build_event(
        "GET", sys.argv[2], [("accept-encoding", "gzip")], b"", "127.0.0.1", "probe"
    )
    served = time.perf_counter()
    response = handler(event, LocalContext("probe", 30.0))
    finished = time.perf_counter()
    report = {
        "status": response["statusCode"],
        "cache_status": response["headers"].get("Cache-Status"),
        "import_s": imported,
        "first_request_s": finished - served,
        "polars_imported": "polars" in sys.modules,
        "duckdb_imported": "duckdb" in sys.modules,
        "pandas_imported": "pandas" in sys.modules,
    }
    sys.stdout.write(orjson.dumps(report).decode() + "\n")


if __name__ == "__main__":
    main()
