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
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lakegate.admin import add_admin_parser, run_admin
from lakegate.common import HelpFormatter, missing_extra, package_version
from lakegate.keys import KEYS_FILE_VARIABLE, add_keys_parser, default_keys_file, run_keys
from lakegate.loadtest import add_loadtest_parser, run_loadtest

EXIT_CANNOT_START = 1


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
        default=default_keys_file(),
        help=f"the key store `lakegate keys` writes (${KEYS_FILE_VARIABLE}, else the project's)",
    )
    serve.add_argument(
        "--catalogue",
        type=Path,
        help="the catalogue file to serve (default: $LAKEGATE_CATALOGUE, else the packaged one)",
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
    from local.serve import serve  # the embedded stack: reached only by `serve`

    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
