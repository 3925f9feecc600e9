"""`lakegate loadtest` (`python -m loadtests`): one command from nothing to a latency report.

    lakegate loadtest --scenario steady [--users 30] [--duration 60] [--output reports] [--edge]
    lakegate loadtest --scenario steady --host https://d111111abcdef8.cloudfront.net

Without --host it starts the embedded stack (and, with --edge, nginx in front of it),
runs the scenario and stops everything. LAKEGATE_LOADTEST_HOST may name a running
local stack instead; only --host may name anything but a loopback address.
The embedded stack takes LAKEGATE_STATEMENT_BUDGET_PER_MINUTE and LAKEGATE_MISS_BUDGETS
from this environment; LAKEGATE_REQUIRE_KEYS=1 requires API keys, one per dashboard user.
Exit codes: 0 report written, 1 the run failed (or the 'loadtest' extra is missing),
2 usage (bad scenario, refused host, bounds).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lakegate.common import HelpFormatter, missing_extra
from loadtests.scenarios import SCENARIOS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HOST_VARIABLE = "LAKEGATE_LOADTEST_HOST"
PROG = "lakegate loadtest"


def build_parser() -> argparse.ArgumentParser:
    """The options of `lakegate loadtest`; the scenarios are the runner's own."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument(
        "--scenario",
        required=True,
        choices=list(SCENARIOS),
        help="; ".join(f"{s.name}: {s.summary}" for s in SCENARIOS.values()),
    )
    parser.add_argument(
        "--host",
        help="load this base URL instead of starting the embedded stack "
        f"(the only way to load a non-loopback host; default: ${HOST_VARIABLE} if set, "
        "else the embedded stack)",
    )
    parser.add_argument(
        "--users", type=int, help="dashboard users at the peak (default: the scenario's)"
    )
    parser.add_argument(
        "--duration", type=float, help="seconds, at most 3600 (default: the scenario's)"
    )
    parser.add_argument("--output", type=Path, default=Path("reports"), help="report root")
    parser.add_argument(
        "--edge",
        action="store_true",
        help="put the nginx edge in front of the embedded stack (nginx must be installed)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    missing = missing_extra("loadtest")
    if missing:
        print(f"{PROG}: {missing}", file=sys.stderr)
        return EXIT_FAILED
    # After the check: the runner imports matplotlib, and the stack DuckDB and moto.
    from loadtests.errors import LoadTestError, UsageError
    from loadtests.runner import run

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
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LoadTestError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; everything it started is stopped", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
