"""Exports: time to first byte of a 1M-row CSV export on the embedded stack.

The stack runs with a bench catalogue (exports_catalogue.yaml): the crashes four times
over, 1,192,176 rows, exported with `limit=1000000&format=csv`. Its CSV is far above
what a Function URL may answer, so the first byte a client sees is the 303's: the
whole miss (statement, EXTERNAL_LINKS Arrow download, CSV, gzip, S3 upload) comes
before it. Then the presigned URL is followed (moto's S3); and a second request is a
hit, the redirect from the cache alone. The emulator's latency is 0, so the miss is
lakegate's own work plus the emulator's; the table splits them (Server-Timing).
"""

from __future__ import annotations

import time
from pathlib import Path

import requests

from local.emulator import EmulatorConfig
from local.stack import EmbeddedStack, StackConfig
from tools.bench import Table
from tools.hit_probe import probe

CATALOGUE = Path(__file__).with_name("exports_catalogue.yaml")
EXPORT = "/v1/crashes_x4?limit=1000000&format=csv"
# The same export one row on: a key of its own, so the probe's request is a miss too.
PROBED = f"{EXPORT}&offset=1"


def _first_byte(url: str, **options: object) -> tuple[float, float, requests.Response, int]:
    """Seconds to the first byte and to the last; the response and its body's size."""
    started = time.perf_counter()
    with requests.get(url, stream=True, timeout=300, **options) as answer:  # type: ignore[arg-type]
        chunks = answer.iter_content(chunk_size=65_536)
        first = next(chunks, b"")
        first_at = time.perf_counter() - started
        size = len(first) + sum(len(chunk) for chunk in chunks)
        return first_at, time.perf_counter() - started, answer, size


def section() -> Table:
    config = StackConfig(
        port=0,
        # Databricks writes EXTERNAL_LINKS chunks of several MB; so does this emulator.
        emulator=EmulatorConfig(port=0, latency_ms=0, chunk_rows=100_000),
        admin=False,
        catalogue_path=CATALOGUE,
        # The emulator builds its Arrow files from Python cells (the JSON_ARRAY path's,
        # for fidelity): ~30 s for a million rows, where Databricks writes Arrow natively.
        # The budget is raised so the bench measures the path, not the emulator's limit.
        lambda_timeout_seconds=300,
        environment={"LAKEGATE_MAX_BUDGET_SECONDS": "290"},
    )
    rows: list[tuple[str, ...]] = []
    with EmbeddedStack(config) as stack:
        headers = {"Accept-Encoding": "gzip"}
        ttfb, _, miss, _ = _first_byte(stack.url + EXPORT, headers=headers, allow_redirects=False)
        assert miss.status_code == 303, miss.status_code
        rows.append(("miss: 303 See Other", f"{ttfb * 1000:.0f}", "", miss.headers["X-Row-Count"]))
        timing = miss.headers["Server-Timing"]
        # Identity, as a browser saving the file sees it once it has undone the gzip.
        first, total, download, size = _first_byte(miss.headers["Location"])
        assert download.status_code == 200, download.status_code
        rows.append(("download from S3 (moto)", f"{first * 1000:.0f}", f"{total * 1000:.0f}", ""))
        rows.append(
            ("first byte of the CSV, from the request", f"{(ttfb + first) * 1000:.0f}", "", "")
        )
        hit, _, again, _ = _first_byte(stack.url + EXPORT, headers=headers, allow_redirects=False)
        assert again.headers["Cache-Status"].startswith("lakegate; hit")
        rows.append(("hit: 303 from the cache", f"{hit * 1000:.0f}", "", ""))
        # The stack's containers share this process with the emulator; a fresh interpreter
        # holds lakegate alone, as a Lambda container does.
        cold = probe(stack, PROBED, timeout_s=config.lambda_timeout_seconds)
        assert cold["status"] == 303, cold
    return Table(
        "Exports: a 1M-row CSV export on the embedded stack",
        ("step", "first byte (ms)", "last byte (ms)", "rows"),
        rows,
        note=f"CSV: {size / 1e6:.1f} MB identity; the miss's Server-Timing: {timing}. "
        "One run: a miss happens once per key. Memory, for sizing the Lambda function: "
        f"the same export served in a fresh interpreter (tools.hit_probe) peaked at "
        f"{cold['peak_rss_mb']:.0f} MB resident, {cold['ready_rss_mb']:.0f} MB of it "
        "before the request (imports and the container).",
    )
