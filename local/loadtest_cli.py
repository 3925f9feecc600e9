"""`lakegate loadtest`: one command from nothing to a latency report.

    lakegate loadtest --scenario steady [--users 30] [--duration 60] [--output reports] [--edge]
    lakegate loadtest --scenario steady --host https://d111111abcdef8.cloudfront.net

Without --host it starts the embedded stack (and, with --edge, nginx in front of it),
runs the scenario and stops everything. LAKEGATE_LOADTEST_HOST may name a running
local stack instead; only --host may name anything but a loopback address.
Exit codes: 0 report written, 1 the run failed, 2 usage (bad scenario, refused host).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HOST_VARIABLE = "LAKEGATE_LOADTEST_HOST"


def add_loadtest_parser(commands: Any) -> None:
    """Add `loadtest` to the `lakegate` subcommands (an argparse subparsers object)."""
    from loadtests.scenarios import SCENARIOS

    loadtest = commands.add_parser(
        "loadtest",
        help="run a Locust scenario and write a latency report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    loadtest.add_argument(
        "--scenario",
        required=True,
        choices=list(SCENARIOS),
        help="; ".join(f"{s.name}: {s.summary}" for s in SCENARIOS.values()),
    )
    loadtest.add_argument(
        "--host",
        help="load this base URL instead of starting the embedded stack "
        "(the only way to load a non-loopback host)",
    )
    loadtest.add_argument("--users", type=int, help="dashboard users at the peak")
    loadtest.add_argument("--duration", type=float, help="seconds (at most 3600)")
    loadtest.add_argument("--output", type=Path, default=Path("reports"), help="report root")
    loadtest.add_argument(
        "--edge",
        action="store_true",
        help="put the nginx edge in front of the embedded stack (nginx must be installed)",
    )
    loadtest.set_defaults(handler=run_loadtest)


def run_loadtest(args: argparse.Namespace) -> int:
    from loadtests.runner import LoadTestError, UsageError, run

    host, explicit = args.host, args.host is not None
    if host is None and os.environ.get(HOST_VARIABLE):
        host = os.environ[HOST_VARIABLE]
    try:
        run(
            args.scenario,
            host,
            args.users,
            args.duration,
            args.output,
            edge=args.edge,
            explicit_host=explicit,
        )
    except UsageError as exc:
        print(f"lakegate loadtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LoadTestError as exc:
        print(f"lakegate loadtest: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\nlakegate loadtest: interrupted; everything it started is stopped", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """`python -m local.loadtest_cli --scenario ...`, until `lakegate loadtest` is wired in."""
    parser = argparse.ArgumentParser(prog="lakegate")
    add_loadtest_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["loadtest", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
