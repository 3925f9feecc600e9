"""One cold container's first answer, as Lambda runs it: `import handler.app` (the init
phase), then one request. Run by the cold-start bench in a fresh interpreter:

    python -m tools.bench.cold_hit EVENT_JSON

with the function's environment (settings, LAMBDA_TASK_ROOT) in its own. Prints a JSON
report: seconds to import, seconds to answer, the status, Cache-Status, and whether
polars or X-Ray's SDK were loaded.
"""

from __future__ import annotations

import json
import sys
import time


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


def main() -> None:
    # As in the function's image, which installs the runtime dependencies alone: without
    # awscrt (botocore[crt], a dev extra here), which botocore would otherwise load.
    sys.modules.setdefault("awscrt", None)  # type: ignore[arg-type]
    event = json.loads(sys.argv[1])
    started = time.perf_counter()
    import handler.app

    imported = time.perf_counter()
    response = handler.app.lambda_handler(event, _Context())  # type: ignore[arg-type]
    answered = time.perf_counter()
    report = {
        "import_s": imported - started,
        "first_request_s": answered - imported,
        "status": response["statusCode"],
        "cache_status": response["headers"].get("Cache-Status"),
        "polars_imported": "polars" in sys.modules,
        "xray_imported": "aws_xray_sdk" in sys.modules,
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
