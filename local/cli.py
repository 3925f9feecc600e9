"""`lakegate`: the developer's command line (serve the embedded stack, operate a running one)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from handler.errors import ConfigurationError
from handler.settings import WarehouseSettings, load_settings
from local.admin_cli import add_admin_parser, run_admin
from local.edge import Edge, EdgeConfig, EdgeError, nginx_missing_message, nginx_path
from local.emulator import EmulatorConfig
from local.loadtest_cli import add_loadtest_parser, run_loadtest
from local.stack import EmbeddedStack, StackConfig


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakegate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API on the embedded stack")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--warehouse-url",
        help="serve from this Databricks workspace instead of the emulator "
        "(also DATABRICKS_HOST; credentials and warehouse from the DATABRICKS_* variables)",
    )
    serve.add_argument("--emulator-port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--latency-ms", type=int, default=300, help="emulated statement latency")
    serve.add_argument("--chunk-rows", type=int, default=10_000)
    serve.add_argument(
        "--edge", action="store_true", help="put an nginx edge cache (a local CloudFront) in front"
    )
    serve.add_argument("--edge-port", type=int, default=8081)
    add_admin_parser(commands)
    add_loadtest_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "admin":
        return run_admin(args)
    if args.command == "loadtest":
        return run_loadtest(args)
    return 2  # pragma: no cover - argparse enforces the choices


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    try:
        warehouse = _real_warehouse(args.warehouse_url)
    except ConfigurationError as exc:
        print(f"lakegate: {exc}", file=sys.stderr)
        return 2
    config = StackConfig(
        host=args.host,
        port=args.port,
        warehouse=warehouse,
        emulator=EmulatorConfig(
            port=args.emulator_port, latency_ms=args.latency_ms, chunk_rows=args.chunk_rows
        ),
    )
    stack = EmbeddedStack(config)
    try:
        stack.start()
    except OSError as exc:
        print(f"lakegate: cannot start: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    _announce(stack)
    edge = _start_edge(stack, args.edge_port) if args.edge else None
    stopped = threading.Event()
    # Explicit handlers: a shell that starts us in the background ignores SIGINT, and
    # Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    try:
        # Wake regularly: the OS may deliver the signal to another thread, and a main
        # thread blocked forever on a lock would never run the Python handler.
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("\nlakegate: stopping", flush=True)
        if edge is not None:
            edge.stop()
        stack.stop()
    return 0


def _start_edge(stack: EmbeddedStack, port: int) -> Edge | None:
    """nginx in front of the Function URL server; without nginx, say so and go on without it."""
    if nginx_path() is None:
        print(f"lakegate: {nginx_missing_message()} Serving without the edge.", file=sys.stderr)
        return None
    try:
        edge = Edge(EdgeConfig(origin_url=stack.url, port=port, host=stack.config.host)).start()
    except EdgeError as exc:
        print(f"lakegate: edge not started ({exc}); serving without it.", file=sys.stderr)
        return None
    print(f"edge (nginx)     {edge.url}  (cached like CloudFront)", flush=True)
    return edge


def _real_warehouse(url: str | None) -> WarehouseSettings | None:
    if url is None and not os.environ.get("DATABRICKS_HOST"):
        return None
    environ = dict(os.environ)
    if url is not None:
        environ["DATABRICKS_HOST"] = url
    return load_settings(environ).warehouse


def _announce(stack: EmbeddedStack) -> None:
    print(f"lakegate API     {stack.url}", flush=True)
    print(
        f"  try            curl -s --compressed '{stack.url}/v1/drivers?state=California&year=2016'"
    )
    print(f"  OpenAPI        {stack.url}/swagger", flush=True)
    if stack.admin is not None:
        print(f"admin            lakegate admin status --url {stack.url}", flush=True)
        if stack.admin_token_generated:
            # The developer's terminal, not a log: shown once so the flow can be tried by hand.
            print(
                f"  admin token    export LAKEGATE_ADMIN_TOKEN={stack.admin_token}"
                "  (generated: set it yourself to keep one across restarts)",
                flush=True,
            )
        else:
            print("  admin token    from LAKEGATE_ADMIN_TOKEN", flush=True)
    if stack.emulator is not None:
        print(f"warehouse        {stack.emulator.url} (emulator, DuckDB)", flush=True)
        print(f"  stats          {stack.emulator.url}/__emulator/stats", flush=True)
    else:
        print("warehouse        Databricks (from DATABRICKS_* settings)", flush=True)
    print("Ctrl-C stops everything.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
