"""python -m local.emulator: run the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading

from local.emulator.config import DEFAULT_TOKEN, EmulatorConfig, InitialFaults
from local.emulator.server import Emulator


def parse_args(argv: list[str] | None = None) -> EmulatorConfig:
    parser = argparse.ArgumentParser(
        prog="python -m local.emulator",
        description="Databricks SQL Statement Execution API emulator backed by DuckDB",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="accepted personal access token")
    parser.add_argument("--latency-ms", type=int, default=300, help="time from accept to done")
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--warehouse-id", default="local-warehouse")
    parser.add_argument(
        "--link-ttl-s", type=float, default=900.0, help="lifetime of EXTERNAL_LINKS links"
    )
    parser.add_argument("--throttle-next", type=int, default=0, help="answer the next N with 429")
    parser.add_argument("--unavailable-next", type=int, default=0, help="next N with 503")
    parser.add_argument("--fail-next", type=int, default=0, help="next N statements end FAILED")
    parser.add_argument("--hang", action="store_true", help="statements run until cancelled")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction that fail")
    parser.add_argument("--seed", type=int, default=0, help="seed for --error-rate")
    args = parser.parse_args(argv)
    if not 0.0 <= args.error_rate <= 1.0:
        parser.error("--error-rate must be between 0 and 1")
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        token=args.token,
        latency_ms=args.latency_ms,
        chunk_rows=args.chunk_rows,
        warehouse_id=args.warehouse_id,
        link_ttl_s=args.link_ttl_s,
        seed=args.seed,
        faults=InitialFaults(
            throttle_next=args.throttle_next,
            unavailable_next=args.unavailable_next,
            fail_next=args.fail_next,
            hang=args.hang,
            error_rate=args.error_rate,
        ),
    )


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    stop = threading.Event()
    # Both signals only set the event, so Ctrl-C can arrive at any point (even while
    # the banner is printing) without a KeyboardInterrupt escaping as a traceback.
    # SIGTERM (docker stop, make's kill) shuts down as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Emulator(config) as emulator:
        print(f"Databricks SQL emulator on {emulator.url}", flush=True)
        print(f"  token {config.token}  warehouse_id {config.warehouse_id}", flush=True)
        print(f"  controls {emulator.url}/__emulator/stats | faults | reset", flush=True)
        # Waking now and then lets the handler run: once polars has started its
        # threads, a signal may land on one of them and never wake an untimed wait.
        while not stop.wait(0.25):
            pass
    print("emulator stopped", flush=True)


if __name__ == "__main__":
    main()
