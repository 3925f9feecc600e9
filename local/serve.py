"""`lakegate serve`: the embedded stack in the foreground, until Ctrl-C.

The command line is lakegate.cli's (its options are `args` here); this is what runs
once the 'local' extra is known to be installed. Exits 1 when the stack cannot start
(a port in use), 2 on a bad configuration (a catalogue or a setting, named).

The function reads its variables from the shell as Lambda reads its environment
(`LAKEGATE_STATEMENT_BUDGET_PER_MINUTE`, `LAKEGATE_MISS_BUDGETS`, `LAKEGATE_CATALOGUE`,
every variable handler.settings declares); the stack's own values fill in only what the
shell leaves unset, and the command's options win over both. Two kinds are the stack's
alone: the resources it runs itself (the cache table and bucket, their endpoint, the
admin secret and distribution parameter, AWS's region), which the shell's values would
point elsewhere, and the warehouse's, unless DATABRICKS_HOST names a real one.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from handler.errors import CatalogueError, ConfigurationError
from handler.settings import CATALOGUE_VARIABLE, catalogue_path, load_settings, variables
from local.edge import Edge, EdgeError, nginx_missing_message, nginx_path
from local.emulator import EmulatorConfig
from local.nginx_config import EdgeConfig
from local.stack import EmbeddedStack, PortInUse, StackConfig

EXIT_CANNOT_START, EXIT_CONFIGURATION = 1, 2
# What the stack runs itself: the shell's values would name resources it does not have.
STACK_OWNED = frozenset(
    {
        "LAKEGATE_CACHE_TABLE",
        "LAKEGATE_CACHE_BUCKET",
        "LAKEGATE_AWS_ENDPOINT_URL",
        "LAKEGATE_ADMIN_TOKEN_SECRET_ARN",
        "LAKEGATE_DISTRIBUTION_ID_PARAMETER",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
    }
)


def serve(args: argparse.Namespace) -> int:
    """Run the stack (and, with --edge, nginx in front) until SIGINT or SIGTERM; the exit code."""
    logging.basicConfig(level=logging.WARNING)
    try:
        warehouse = _real_warehouse(args.warehouse_url)
    except ConfigurationError as exc:
        print(f"lakegate: {exc}", file=sys.stderr)
        return EXIT_CONFIGURATION
    shell = function_environment(os.environ)
    config = StackConfig(
        host=args.host,
        port=args.port,
        emulator=EmulatorConfig(
            port=args.emulator_port, latency_ms=args.latency_ms, chunk_rows=args.chunk_rows
        ),
        catalogue_path=args.catalogue or catalogue_path(shell),
        environment={**shell, **warehouse, **_gateway_environment(args)},
    )
    stack = EmbeddedStack(config)
    try:
        stack.start()
    except PortInUse as exc:
        print(f"lakegate serve: {exc}", file=sys.stderr)
        stack.stop()
        return EXIT_CANNOT_START
    except (CatalogueError, ConfigurationError) as exc:
        print(f"lakegate serve: {exc}", file=sys.stderr)
        stack.stop()
        return EXIT_CONFIGURATION
    except OSError as exc:
        print(f"lakegate serve: cannot start: {exc}", file=sys.stderr)
        stack.stop()
        return EXIT_CANNOT_START
    stopped = threading.Event()
    # Explicit handlers, installed before the banner a caller waits for: a shell that
    # starts us in the background ignores SIGINT (Python then never raises
    # KeyboardInterrupt), and a Ctrl-C right after the banner must not be a traceback.
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    _announce(stack, args.keys_file.resolve())
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


def function_environment(shell: Mapping[str, str]) -> dict[str, str]:
    """The function's variables set in `shell`, but the stack's own and the warehouse's."""
    return {
        name: value
        for name, value in shell.items()
        if name in variables() and name not in STACK_OWNED and not name.startswith("DATABRICKS_")
    }


def _gateway_environment(args: argparse.Namespace) -> dict[str, str]:
    """The origin's gateway settings (handler.settings.GatewaySettings) from serve's options:
    what the command line says, over the shell's."""
    environment = {
        "LAKEGATE_REQUIRE_KEYS": "1" if args.require_keys else "0",
        "LAKEGATE_KEYS_FILE": str(args.keys_file.resolve()),
    }
    if args.cors_origin:
        environment["LAKEGATE_CORS_ORIGINS"] = ",".join(args.cors_origin)
    if args.catalogue:
        environment[CATALOGUE_VARIABLE] = str(args.catalogue.resolve())
    return environment


def _real_warehouse(url: str | None) -> dict[str, str]:
    """The DATABRICKS_* variables of a real warehouse, checked; none for the emulator."""
    if url is None and not os.environ.get("DATABRICKS_HOST"):
        return {}
    environ = {k: v for k, v in os.environ.items() if k.startswith("DATABRICKS_")}
    if url is not None:
        environ["DATABRICKS_HOST"] = url
    load_settings(environ)  # raises ConfigurationError naming what is missing or wrong
    return environ


def _announce(stack: EmbeddedStack, keys_file: Path | None = None) -> None:
    print(f"lakegate API     {stack.url}", flush=True)
    print(f"  datasets       curl -s {stack.url}/v1")
    print(
        f"  try            curl -s --compressed '{stack.url}/v1/drivers?state=California&year=2016'"
    )
    print(f"  OpenAPI        {stack.url}/swagger", flush=True)
    if keys_file is not None:
        print(f"  API keys       {keys_file}  (lakegate keys create --consumer NAME)", flush=True)
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
