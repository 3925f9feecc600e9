"""What `locust -f loadtests/locustfile.py` loads: the users, one scenario's shape, the recorder.

`lakegate loadtest` runs this headless and sets the environment below; it also works
by hand, e.g. with Locust's web UI against a running `lakegate serve`:

    LAKEGATE_SCENARIO=steady LAKEGATE_USERS=20 locust -f loadtests/locustfile.py \\
        --host http://127.0.0.1:8080

    LAKEGATE_SCENARIO          smoke | steady | step | spike | cold-start |
                               invalidation-storm | brownout | cache-buster  (default: smoke)
    LAKEGATE_USERS             dashboard users at the peak           (default: the scenario's)
    LAKEGATE_DURATION          seconds                               (default: the scenario's)
    LAKEGATE_WAREHOUSE_URL     the emulator, whose faults brownout switches
    LAKEGATE_ADMIN_TOKEN       enables OperatorUser
    LAKEGATE_LOADTEST_KEYS     comma-separated API keys for the dashboard users
    LAKEGATE_REQUIRE_KEYS      1: the target requires keys, so a key-less buster must be refused
    LAKEGATE_LOADTEST_OUT      directory for samples.csv and run.json when Locust quits
    LAKEGATE_PROGRESS_S        seconds between progress lines (0: none; default 5)

Every response is judged as it is recorded (loadtests/answers.py): its error code, and
whether it was a wrong answer, go to samples.csv beside its latency.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
import orjson
import requests
from locust import between, events
from locust.env import Environment

from loadtests import users as user_classes
from loadtests.answers import Answers
from loadtests.buster import must_refuse
from loadtests.gateway import NO_RETRY_AFTER
from loadtests.outcomes import OUTCOMES, classify, header
from loadtests.samples import SampleLog, write_samples
from loadtests.scenarios import BUSTER_PHASE, HEALTHY, SCENARIOS, Phase
from loadtests.shapes import shape_for
from loadtests.users import DRIVERS, DashboardUser

SCENARIO = SCENARIOS[os.environ.get("LAKEGATE_SCENARIO", "smoke")]
_users = os.environ.get("LAKEGATE_USERS")
_duration = os.environ.get("LAKEGATE_DURATION")
Shape = shape_for(
    SCENARIO.name, int(_users) if _users else None, float(_duration) if _duration else None
)

__all__ = ["DashboardUser", "Shape"]
if SCENARIO.operators is not None:
    # Only scenarios with operators expose the class: Locust runs every User class it finds.
    OperatorUser = user_classes.OperatorUser
    OperatorUser.fixed_count = SCENARIO.operators.count
    OperatorUser.wait_time = between(*SCENARIO.operators.wait_s)
    __all__.append("OperatorUser")
if SCENARIO.busters is not None:
    CacheBusterUser = user_classes.CacheBusterUser
    CacheBusterUser.fixed_count = SCENARIO.busters.count(Shape.users)
    CacheBusterUser.wait_time = between(*SCENARIO.busters.wait_s)
    __all__.append("CacheBusterUser")
DashboardUser.api_keys = tuple(
    k for k in os.environ.get("LAKEGATE_LOADTEST_KEYS", "").split(",") if k
)
REQUIRE_KEYS = os.environ.get("LAKEGATE_REQUIRE_KEYS") == "1"

WAREHOUSE_URL = os.environ.get("LAKEGATE_WAREHOUSE_URL")
OUT_DIR = os.environ.get("LAKEGATE_LOADTEST_OUT")
PROGRESS_S = float(os.environ.get("LAKEGATE_PROGRESS_S", "5"))

SAMPLES = SampleLog()
ANSWERS = Answers(DRIVERS)
_run: dict[str, Any] = {"faults": [], "peak_users": 0}


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    response_length: int,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    url: str | None = None,
    **_: Any,
) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    parts = urlsplit(url or name)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    code, wrong = _judge(name, path, status, headers, response)
    SAMPLES.record(
        route=name,
        outcome=classify(status, headers, failed=exception is not None),
        status=status,
        ms=float(response_time or 0.0),
        size=int(response_length or 0),
        url=path,
        started=start_time if start_time is not None else time.time(),
        code=code,
        wrong=wrong,
    )


def _judge(route: str, url: str, status: int, headers: Any, response: Any) -> tuple[str, str]:
    """The error code of a refusal, and why the answer was wrong ("" each when none)."""
    try:
        body = bytes(response.content or b"") if status == 200 or status >= 400 else b""
    except Exception:  # a broken body is Locust's failure to report, not ours
        body = b""
    code = ""
    if status >= 400 and body.startswith(b"{"):
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            code = str(orjson.loads(body)["error"]["code"])
    if status in (429, 503) and code and not header(headers, "retry-after"):
        code += NO_RETRY_AFTER  # a budget's refusal must say when to come back
    refused = must_refuse(route, require_keys=REQUIRE_KEYS)
    content_type = header(headers, "content-type").lower()
    wrong = ANSWERS.wrong(url, status, content_type, body, refused=refused)
    return code, wrong or ""


@events.test_start.add_listener
def _started(environment: Environment, **_: Any) -> None:
    SAMPLES.restart()
    _run["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _run["started"] = time.time()
    if SCENARIO.busters is not None:
        start_s = SCENARIO.phase_start(BUSTER_PHASE, Shape.duration_s) or 0.0
        user_classes.CacheBusterUser.starts_at = _run["started"] + start_s
    if WAREHOUSE_URL and any(p.faults is not None for p in SCENARIO.phases):
        gevent.spawn(_follow_phases, Shape.duration_s)
    if PROGRESS_S > 0:
        gevent.spawn(_progress, environment)


@events.test_stop.add_listener
def _stopped(environment: Environment, **_: Any) -> None:
    _run.setdefault("duration_s", round(time.time() - _run.get("started", time.time()), 3))
    if WAREHOUSE_URL and _run["faults"]:
        _set_faults(dict(HEALTHY), "stop")


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    if not OUT_DIR:
        return
    out = Path(OUT_DIR)
    out.mkdir(parents=True, exist_ok=True)
    write_samples(out / "samples.csv", SAMPLES.samples)
    total = environment.stats.total
    document = {
        **{k: v for k, v in _run.items() if k != "started"},
        "scenario": SCENARIO.name,
        "users": Shape.users,
        "planned_duration_s": Shape.duration_s,
        "operators": SCENARIO.operators.count if SCENARIO.operators else 0,
        "busters": SCENARIO.busters.count(Shape.users) if SCENARIO.busters else 0,
        "require_keys": REQUIRE_KEYS,
        "operator_enabled": bool(
            user_classes.OperatorUser.admin_token or os.environ.get("LAKEGATE_ADMIN_TOKEN")
        ),
        "locust": {"requests": total.num_requests, "failures": total.num_failures},
    }
    (out / "run.json").write_text(json.dumps(document, indent=2), encoding="utf-8")


def _follow_phases(duration_s: float) -> None:
    started = time.monotonic()
    for phase, start_s, _end in SCENARIO.phase_bounds(duration_s):
        if phase.faults is None:
            continue
        gevent.sleep(max(0.0, start_s - (time.monotonic() - started)))
        _set_faults(dict(phase.faults), phase.name)


def _set_faults(faults: dict[str, Any], phase: str) -> None:
    try:
        requests.post(
            f"{WAREHOUSE_URL}/__emulator/faults", json=faults, timeout=5
        ).raise_for_status()
    except requests.RequestException as exc:
        _line(f"could not set emulator faults for phase {phase!r}: {exc}", final=True)
        return
    changed = {k: v for k, v in faults.items() if HEALTHY.get(k) != v} or "healthy"
    _run["faults"].append(
        {"phase": phase, "at_s": round(time.time() - _run["started"], 2), "faults": changed}
    )
    _line(f"phase {phase}: warehouse {changed}", final=True)


def _progress(environment: Environment) -> None:
    runner = environment.runner
    while runner is not None and runner.state not in ("stopped", "quitting"):
        gevent.sleep(PROGRESS_S)
        _line(progress_line(environment, SCENARIO.phases))


def progress_line(environment: Environment, phases: tuple[Phase, ...]) -> str:
    total = environment.stats.total
    elapsed = time.time() - _run.get("started", time.time())
    users = environment.runner.user_count if environment.runner else 0
    _run["peak_users"] = max(_run["peak_users"], users)
    phase = SCENARIO.phase_at(elapsed, Shape.duration_s).name
    counts = {o: 0 for o in OUTCOMES}
    for sample in SAMPLES.samples[-2000:]:
        counts[sample.outcome] += 1
    recent = sum(counts.values()) or 1
    mix = " ".join(f"{o} {100 * n / recent:.0f}%" for o, n in counts.items() if n)
    p95 = total.get_current_response_time_percentile(0.95) or 0
    return (
        f"[{SCENARIO.name} {elapsed:4.0f}/{Shape.duration_s:.0f}s {phase}] users {users} "
        f"req {total.num_requests} ({total.current_rps:.0f}/s) fail {total.num_failures} "
        f"p95 {p95:.0f} ms | {mix}"
    )


def _line(text: str, final: bool = False) -> None:
    """A progress line on stdout: rewritten in place on a terminal, one per line otherwise."""
    terminal = sys.stdout.isatty()
    if terminal and not final:
        sys.stdout.write(f"\r\033[K{text}")
    else:
        sys.stdout.write(("\r\033[K" if terminal else "") + text + "\n")
    sys.stdout.flush()
