"""What each packaged roll-up costs a container: its fetch, its object, its memory.

Each roll-up is fetched in a fresh interpreter (`python -m tools.bench.rollup_memory URL
DATASET`, from the emulator over loopback, as a container's first derived miss would),
then read back from its Parquet object as another container would: the process's peak
resident memory (Linux's VmHWM, which starts afresh at exec) before and after, the frame
as held (polars' estimate, what `LAKEGATE_ROLLUP_MEMORY_BYTES` bounds) and the object.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from handler.catalogue import load_catalogue
from local.emulator import Emulator, EmulatorConfig
from tools.bench import Table


def section() -> Table:
    rows = []
    with Emulator(EmulatorConfig(port=0, latency_ms=0)) as emulator:
        for dataset in load_catalogue().datasets:
            for rollup in dataset.rollups:
                report = _probe(emulator, dataset.name)
                rows.append(
                    (
                        f"{dataset.name}: {rollup.name}",
                        f"{report['rows']:,}",
                        f"{report['fetch_ms']:,.0f}",
                        f"{report['object_bytes'] / 1e6:.1f}",
                        f"{report['decode_ms']:,.0f}",
                        f"{report['held_bytes'] / 1e6:.1f}",
                        f"{report['ready_rss_mb']:.0f}",
                        f"{report['peak_rss_mb']:.0f}",
                    )
                )
    return Table(
        title="Roll-ups: fetch, object and memory, each in a fresh interpreter",
        header=(
            "roll-up",
            "rows",
            "fetch ms",
            "object MB",
            "decode ms",
            "held MB",
            "RSS before MB",
            "peak RSS MB",
        ),
        rows=rows,
        note="fetch: the statement through the emulator (latency 0, Arrow external links) and "
        "the checks; object: its Parquet (zstd) in S3; decode: read back as another container "
        "would; held: polars' estimate of the frame a container keeps (the memory setting "
        "bounds the sum of these). Peak RSS is the whole interpreter's: handler imported, "
        "fetched, encoded and decoded once each.",
    )


def _probe(emulator: Emulator, dataset: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "tools.bench.rollup_memory", emulator.url, dataset],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=Path(__file__).resolve().parents[2],  # tools/ is the checkout's, not installed
    )
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report


def main(url: str, name: str) -> None:
    import requests
    from pydantic import SecretStr

    from handler.datasets import decode_rollup, fetch_rollup
    from handler.settings import WarehouseSettings
    from handler.warehouse import Deadline, WarehouseClient
    from handler.warehouse.auth import StaticToken
    from local.emulator.config import DEFAULT_TOKEN

    dataset = load_catalogue().get(name)
    assert dataset is not None and dataset.rollups
    settings = WarehouseSettings(
        host=url, warehouse_id="local-warehouse", token=SecretStr(DEFAULT_TOKEN)
    )
    client = WarehouseClient(settings, StaticToken(DEFAULT_TOKEN), requests.Session())
    import polars  # noqa: F401  (before the baseline: every derived miss has it loaded)

    ready = _peak_rss_mb()
    started = time.perf_counter()
    fetched = fetch_rollup(client, dataset, dataset.rollups[0], Deadline.after(300))
    fetch_ms = (time.perf_counter() - started) * 1000
    assert fetched.body is not None and fetched.decoded is not None
    started = time.perf_counter()
    decoded = decode_rollup(dataset, fetched.body)
    decode_ms = (time.perf_counter() - started) * 1000
    report = {
        "rows": fetched.rows,
        "fetch_ms": fetch_ms,
        "object_bytes": len(fetched.body),
        "decode_ms": decode_ms,
        "held_bytes": decoded.size,
        "ready_rss_mb": ready,
        "peak_rss_mb": _peak_rss_mb(),
    }
    sys.stdout.write(json.dumps(report) + "\n")


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
