"""What stops a load test, and the exit code each means (`python -m loadtests`).

LoadTestError       the run could not start or finish: exit code 1
└── UsageError      the request itself is wrong (unknown scenario, refused host,
                    bounds, an option the target cannot honour): exit code 2
"""

from __future__ import annotations


class LoadTestError(Exception):
    """The run could not start or finish (exit code 1)."""


class UsageError(LoadTestError):
    """The request itself is wrong: unknown scenario, refused host, bad bounds (exit code 2)."""
