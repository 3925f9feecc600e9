"""`lakegate`: the developer's command line (serve the embedded stack, operate a running one).

    lakegate serve [--port 8080] [--edge]       the API on the embedded stack ('local' extra)
    lakegate admin status --url URL             operate a running lakegate (runtime only)
    lakegate keys create --consumer acme        a consumer's API key (runtime only)
    lakegate loadtest --scenario steady         a Locust scenario and its report ('loadtest' extra)

`lakegate serve` exits 1 when it cannot start (a port in use, the 'local' extra not
installed) and 2 on a bad configuration; `lakegate admin --help` and `lakegate loadtest
--help` give theirs.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from handler.errors import ConfigurationError
from handler.settings import load_settings
from lakegate.admin import add_admin_parser, run_admin
from lakegate.common import HelpFormatter, missing_extra, package_version
from lakegate.keys import DEFAULT_KEYS_FILE, KEYS_FILE_VARIABLE, add_keys_parser, run_keys
from lakegate.loadtest import add_loadtest_parser, run_loadtest
from local.edge import Edge, EdgeError, nginx_missing_message, nginx_path
from local.nginx_config import EdgeConfig

if TYPE_CHECKING:  # the stack needs the 'local' extra: imported by `serve` alone
    from local.stack import EmbeddedStack

EXIT_CANNOT_START, EXIT_CONFIGURATION = 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # `loadtest` hands everything after it to the load-test runner, which owns its options.
    args, passed_on = parser.parse_known_args(argv)
    if args.command == "loadtest":
        run_loadtest(passed_on)
    if passed_on:
        parser.error(f"unrecognized arguments: {' '.join(passed_on)}")
    if args.command == "serve":
        return _serve(args)
    if args.command == "admin":
        return run_admin(args)
    if args.command == "keys":
        return run_keys(args)
    return 2  # pragma: no cover - argparse enforces the choices


def build_parser() -> argparse.ArgumentParser:
    """The `lakegate` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="lakegate", description=__doc__, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the API on the embedded stack (needs the 'local' extra)",
        description="Run the API on the embedded stack: the handler behind a local Function URL,\n"
        "DynamoDB and S3 from moto, the warehouse from the DuckDB emulator. Ctrl-C stops it.",
        formatter_class=HelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address the API listens on")
    serve.add_argument("--port", type=int, default=8080, help="port the API listens on")
    serve.add_argument(
        "--warehouse-url",
        help="a Databricks workspace to serve from, its credentials and warehouse from the "
        "DATABRICKS_* variables (default: $DATABRICKS_HOST if set, else the emulator)",
    )
    serve.add_argument(
        "--emulator-port", type=int, default=0, help="the emulator's port (0 picks a free one)"
    )
    serve.add_argument(
        "--latency-ms", type=int, default=300, help="emulated statement latency in ms"
    )
    serve.add_argument(
        "--chunk-rows", type=int, default=10_000, help="rows per result chunk the emulator sends"
    )
    serve.add_argument(
        "--edge", action="store_true", help="put an nginx edge cache (a local CloudFront) in front"
    )
    serve.add_argument("--edge-port", type=int, default=8081, help="port the nginx edge listens on")
    serve.add_argument(
        "--require-keys",
        action="store_true",
        default=os.environ.get("LAKEGATE_REQUIRE_KEYS") == "1",
        help="every data route needs an API key (also LAKEGATE_REQUIRE_KEYS=1); "
        "default: only datasets the catalogue declares `access: key`",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser origin allowed to call the API, e.g. http://localhost:3000 "
        "(repeatable; default: none)",
    )
    serve.add_argument(
        "--keys-file",
        type=Path,
        default=Path(os.environ.get(KEYS_FILE_VARIABLE) or DEFAULT_KEYS_FILE),
        help=f"the key store `lakegate keys` writes (${KEYS_FILE_VARIABLE})",
    )
    add_admin_parser(commands)
    add_keys_parser(commands)
    add_loadtest_parser(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    missing = missing_extra("local")
    if missing:
        print(f"lakegate serve: {missing}", file=sys.stderr)
        return EXIT_CANNOT_START
    from local.emulator import EmulatorConfig
    from local.stack import EmbeddedStack, StackConfig

    logging.basicConfig(level=logging.WARNING)
    try:
        warehouse = _real_warehouse(args.warehouse_url)
    except ConfigurationError as exc:
        print(f"lakegate: {exc}", file=sys.stderr)
        return EXIT_CONFIGURATION
    config = StackConfig(
        host=args.host,
        port=args.port,
        emulator=EmulatorConfig(
            port=args.emulator_port, latency_ms=args.latency_ms, chunk_rows=args.chunk_rows
        ),
        environment={**warehouse, **_gateway_environment(args)},
    )
    stack = EmbeddedStack(config)
    try:
        stack.start()
    except (OSError, ConfigurationError) as exc:
        print(f"lakegate: cannot start: {exc}", file=sys.stderr)
        stack.stop()
        return EXIT_CANNOT_START
    stopped = threading.Event()
    # Explicit handlers, installed before the banner a caller waits for: a shell that
    # starts us in the background ignores SIGINT (Python then never raises
    # KeyboardInterrupt), and a Ctrl-C right after the banner must not be a traceback.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    _announce(stack)
    edge = _start_edge(stack, args) if args.edge else None
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


def _start_edge(stack: EmbeddedStack, args: argparse.Namespace) -> Edge | None:
    """nginx running the edge function in front of the Function URL server; without nginx,
    say so and go on without it."""
    if nginx_path() is None:
        print(f"lakegate: {nginx_missing_message()} Serving without the edge.", file=sys.stderr)
        return None
    config = EdgeConfig(
        origin_url=stack.url,
        port=args.edge_port,
        host=stack.config.host,
        catalogue=stack.catalogue,
        require_keys=args.require_keys,
        cors_origins=tuple(args.cors_origin),
        keys_file=args.keys_file.resolve(),
    )
    try:
        edge = Edge(config).start()
    except EdgeError as exc:
        print(f"lakegate: edge not started ({exc}); serving without it.", file=sys.stderr)
        return None
    print(
        f"edge (nginx)     {edge.url}  (the edge function and cache, like CloudFront)", flush=True
    )
    return edge


def _gateway_environment(args: argparse.Namespace) -> dict[str, str]:
    """The origin's gateway settings (handler.settings.GatewaySettings) from serve's options."""
    return {
        "LAKEGATE_REQUIRE_KEYS": "1" if args.require_keys else "0",
        "LAKEGATE_CORS_ORIGINS": ",".join(args.cors_origin),
        "LAKEGATE_KEYS_FILE": str(args.keys_file.resolve()),
    }


def _real_warehouse(url: str | None) -> dict[str, str]:
    """The DATABRICKS_* variables of a real warehouse, checked; none for the emulator."""
    if url is None and not os.environ.get("DATABRICKS_HOST"):
        return {}
    environ = {k: v for k, v in os.environ.items() if k.startswith("DATABRICKS_")}
    if url is not None:
        environ["DATABRICKS_HOST"] = url
    load_settings(environ)  # raises ConfigurationError naming what is missing or wrong
    return environ


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
