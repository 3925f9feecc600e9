"""`lakegate loadtest`: becomes the load-test runner, `python -m loadtests`, with the same arguments.

Nothing imports loadtests/ (an import-linter contract), so lakegate does not parse the
runner's options either: everything after `loadtest` goes to the runner, whose own
parser holds the options, the scenarios, their help and the exit codes
(`lakegate loadtest --help`). Replacing this process, rather than waiting on a child,
leaves Ctrl-C to the runner alone, which stops everything it started.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

RUNNER = "loadtests"


def add_loadtest_parser(commands: Any) -> None:
    """Add `loadtest` to the `lakegate` subcommands (an argparse subparsers object)."""
    # No options of its own, not even -h: `lakegate loadtest --help` is the runner's.
    commands.add_parser(
        "loadtest",
        help="run a Locust scenario and write a latency report (needs the 'loadtest' extra; "
        "lakegate loadtest --help for its options)",
        add_help=False,
    )


def loadtest_command(argv: Sequence[str]) -> list[str]:
    """The runner's command line for `lakegate loadtest ARGV`."""
    return [sys.executable, "-m", RUNNER, *argv]


def run_loadtest(argv: Sequence[str]) -> NoReturn:
    """Replace this process with the runner; its exit code is the command's."""
    command = loadtest_command(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
