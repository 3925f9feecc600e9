"""Locust, headless, in a child process: its environment, its command line, its bounded wait.

A child, because Locust's gevent monkey-patching must not reach the embedded stack's
threads (DuckDB and the handler would stall the load generator). Bounded: the shape
stops at its duration and the child is terminated, then killed, if it outlives that
by GRACE_S.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from loadtests.errors import LoadTestError
from loadtests.scenarios import Scenario
from loadtests.target import Target

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
REPO_ROOT = Path(__file__).resolve().parents[1]
GRACE_S = 45.0  # Locust's start-up, --stop-timeout for the last page loads, its shutdown


def locust_environment(
    spec: Scenario, target: Target, users: int, duration_s: float, run_dir: Path, progress_s: float
) -> dict[str, str]:
    """The child's environment: the locustfile reads its run from these (see its docstring)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "LAKEGATE_SCENARIO": spec.name,
        "LAKEGATE_USERS": str(users),
        "LAKEGATE_DURATION": str(duration_s),
        "LAKEGATE_LOADTEST_OUT": str(run_dir),
        "LAKEGATE_PROGRESS_S": str(progress_s),
        "LAKEGATE_REQUIRE_KEYS": "1" if target.require_keys else "0",
        "LAKEGATE_LOADTEST_KEYS": ",".join(target.api_keys),
    }
    if target.warehouse_url:
        env["LAKEGATE_WAREHOUSE_URL"] = target.warehouse_url
    if target.admin_token:
        env["LAKEGATE_ADMIN_TOKEN"] = target.admin_token
    return env


def run_locust(
    spec: Scenario, target: Target, users: int, duration_s: float, run_dir: Path, progress_s: float
) -> None:
    env = locust_environment(spec, target, users, duration_s, run_dir, progress_s)
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", target.url,
        "--csv", str(run_dir / "locust"), "--csv-full-history",
        "--html", str(run_dir / "locust.html"),
        "--only-summary", "--loglevel", "WARNING", "--logfile", str(run_dir / "locust.log"),
        "--exit-code-on-error", "0",
        # Let page loads in flight finish: cut connections make the origin log broken pipes.
        "--stop-timeout", "10",
    ]  # fmt: skip
    with (run_dir / "locust-console.txt").open("wb") as console:
        # Progress lines come on stdout; Locust's own tables and tracebacks on stderr.
        child = subprocess.Popen(command, env=env, stderr=console, stdin=subprocess.DEVNULL)
        try:
            code = child.wait(timeout=duration_s + GRACE_S)
        except subprocess.TimeoutExpired:
            _stop(child)
            target.notes.append(f"hard stop: Locust outlived the run by {GRACE_S:.0f} s")
            code = 0
        except BaseException:
            _stop(child)
            raise
    if code != 0 or not (run_dir / "samples.csv").is_file():
        raise LoadTestError(
            f"Locust exited with {code} and no samples; see {run_dir / 'locust.log'}"
        )


def _stop(child: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets Locust write its stats and samples; SIGKILL if it does not comply.
    child.terminate()
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=5)
