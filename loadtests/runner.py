"""One load test from start to report: `run("steady")` → reports/steady-20261125-101500/.

Without a host it starts the embedded stack (and the nginx edge when asked and
installed), runs Locust headless in a child process (Locust's gevent monkey-patching
must not reach the stack's threads, or DuckDB and the handler would stall the load
generator), then writes Locust's CSV and HTML, samples.csv, summary.json, summary.md
and latency.png. Every run is bounded: the shape stops at its duration and the child
is terminated, then killed, if it outlives that by GRACE_S.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from loadtests.report import write_chart
from loadtests.samples import read_samples
from loadtests.scenarios import HEALTHY, SCENARIOS, Scenario, check_bounds
from loadtests.summary import RunFacts, render_markdown, summarise

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
REPO_ROOT = Path(__file__).resolve().parents[1]
GRACE_S = 45.0  # Locust's start-up, --stop-timeout for the last page loads, its shutdown
EMULATOR_LATENCY_MS = 300  # what `lakegate serve` uses: a warm warehouse's small query
LAMBDA_CONTAINERS = 20  # the CDK's default reserved concurrency

Print = Callable[[str], None]


class LoadTestError(Exception):
    """The run could not start or finish (exit code 1)."""


class UsageError(LoadTestError):
    """The request itself is wrong: unknown scenario, refused host, bad bounds (exit code 2)."""


@dataclass
class Target:
    url: str
    local: bool
    edge: bool = False
    warehouse_url: str | None = None
    admin_token: str | None = None
    notes: list[str] = field(default_factory=list)


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(url: str, explicit: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--host must be an http(s) URL such as http://127.0.0.1:8080, not {url!r}"
        )
    if not explicit and not is_loopback(url):
        raise UsageError(
            f"refusing to load {parts.hostname}: only loopback hosts are loaded unless the host "
            "is given explicitly with --host (a load test against a deployed API costs money "
            "and can trip its WAF rate limit)"
        )


def run(
    scenario: str,
    host: str | None = None,
    users: int | None = None,
    duration: float | None = None,
    output: Path = Path("reports"),
    *,
    edge: bool = False,
    explicit_host: bool = True,
    progress_s: float = 5.0,
    say: Print = print,
) -> Path:
    """Run one scenario and return the directory holding its report."""
    spec = SCENARIOS.get(scenario)
    if spec is None:
        raise UsageError(f"unknown scenario {scenario!r}; one of: {', '.join(SCENARIOS)}")
    users = spec.users if users is None else users
    duration_s = float(spec.duration_s if duration is None else duration)
    try:
        check_bounds(users, duration_s)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if host is not None:
        check_host(host, explicit_host)
        if spec.needs_emulator:
            raise UsageError(
                f"{scenario} switches faults on the local warehouse emulator: run it without --host"
            )
        if edge:
            raise UsageError("--edge puts nginx in front of the embedded stack: drop --host")
    run_dir = _new_run_dir(output, scenario)
    with contextlib.ExitStack() as cleanup:
        target = (
            Target(host, local=False)
            if host is not None
            else cleanup.enter_context(_local_target(spec, edge, run_dir, say))
        )
        if spec.fresh_cache and not target.local:
            target.notes.append("the remote cache was not emptied before this cold-start run")
        say(
            f"lakegate loadtest: {scenario}, {users} users, {duration_s:.0f} s, against "
            f"{target.url}{' (nginx edge)' if target.edge else ''}; report in {run_dir}"
        )
        before = _statements(target)
        try:
            _run_locust(spec, target, users, duration_s, run_dir, progress_s)
        finally:
            if target.warehouse_url is not None:
                _set_faults(target.warehouse_url, dict(HEALTHY))
        statements = None if before is None else (_statements(target) or 0) - before
        summary = _write_report(spec, target, users, duration_s, run_dir, statements)
    say(_headline(summary, run_dir))
    return run_dir


@contextlib.contextmanager
def _local_target(spec: Scenario, edge: bool, run_dir: Path, say: Print) -> Iterator[Target]:
    # Imported here: a run against --host needs neither DuckDB nor moto nor nginx.
    import handler.app  # noqa: F401  (creates the "lakegate" logger that _stack_log redirects)

    with _stack_log(run_dir / "stack.log"):
        yield from _local_stack(spec, edge, run_dir, say)


def _local_stack(spec: Scenario, edge: bool, run_dir: Path, say: Print) -> Iterator[Target]:
    from handler.catalogue import DEFAULT_CATALOGUE, load_catalogue
    from local.edge import Edge, EdgeConfig, EdgeError, nginx_missing_message, nginx_path
    from local.emulator import EmulatorConfig
    from local.stack import EmbeddedStack, StackConfig

    notes: list[str] = []
    catalogue_path = None
    if spec.freshness_ttl_s is not None:
        catalogue_path = run_dir / "catalogue.yaml"
        document = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
        for dataset in document["datasets"]:
            original = dataset["freshness"]["ttl_seconds"]
            dataset["freshness"]["ttl_seconds"] = spec.freshness_ttl_s
        catalogue_path.write_text(yaml.safe_dump(document), encoding="utf-8")
        notes.append(
            f"freshness compressed: ttl_seconds {spec.freshness_ttl_s} s instead of the "
            f"catalogue's {original} s, so entries go stale during the run"
        )
    environment: dict[str, str] = {}
    if spec.invalidations_per_minute is not None:
        environment["LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE"] = str(spec.invalidations_per_minute)
        notes.append(
            f"admin invalidations limited to {spec.invalidations_per_minute} a minute "
            "(the stack's default is 3), so the storm is not only 429s"
        )
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=EMULATOR_LATENCY_MS),
        max_containers=LAMBDA_CONTAINERS,
        catalogue_path=catalogue_path,
        environment=environment,
    )
    stack = EmbeddedStack(config)
    try:
        stack.start()
    except OSError as exc:
        stack.stop()
        raise LoadTestError(f"cannot start the embedded stack: {exc}") from exc
    running_edge = None
    try:
        assert stack.emulator is not None
        target = Target(
            stack.url,
            local=True,
            warehouse_url=stack.emulator.url,
            admin_token=_admin_token(stack),
            notes=notes,
        )
        if edge and nginx_path() is None:
            say(f"lakegate loadtest: {nginx_missing_message()} Running without the edge.")
            notes.append("the edge was requested but nginx is not installed: ran without it")
        elif edge:
            catalogue = load_catalogue(catalogue_path) if catalogue_path else None
            try:
                running_edge = Edge(EdgeConfig(origin_url=stack.url, catalogue=catalogue)).start()
            except EdgeError as exc:
                raise LoadTestError(f"cannot start the edge: {exc}") from exc
            target.url, target.edge = running_edge.url, True
            if spec.operators is not None:
                notes.append(
                    "invalidations do not purge the local edge (open-source nginx has no "
                    "purge): its copies age out by s-maxage, as CloudFront's would without "
                    "an invalidation"
                )
        yield target
    finally:
        if running_edge is not None:
            running_edge.stop()
        stack.stop()


def _admin_token(stack: object) -> str | None:
    # Stacks without an admin route have no such attribute, or one that asserts.
    try:
        token = getattr(stack, "admin_token", None)
    except AssertionError:
        return None
    return token if isinstance(token, str) and token else None


def _run_locust(
    spec: Scenario, target: Target, users: int, duration_s: float, run_dir: Path, progress_s: float
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "LAKEGATE_SCENARIO": spec.name,
        "LAKEGATE_USERS": str(users),
        "LAKEGATE_DURATION": str(duration_s),
        "LAKEGATE_LOADTEST_OUT": str(run_dir),
        "LAKEGATE_PROGRESS_S": str(progress_s),
    }
    if target.warehouse_url:
        env["LAKEGATE_WAREHOUSE_URL"] = target.warehouse_url
    if target.admin_token:
        env["LAKEGATE_ADMIN_TOKEN"] = target.admin_token
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


def _write_report(
    spec: Scenario,
    target: Target,
    users: int,
    duration_s: float,
    run_dir: Path,
    statements: int | None,
) -> dict[str, Any]:
    samples = read_samples(run_dir / "samples.csv")
    facts_json = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    duration = float(facts_json.get("duration_s") or duration_s)
    phases = [(p.name, start, end) for p, start, end in spec.phase_bounds(duration_s)]
    operators = facts_json.get("operators", 0)
    operator = {
        "count": operators,
        "status": (
            "none in this scenario"
            if not operators
            else f"{operators}, enabled"
            if facts_json.get("operator_enabled")
            else f"{operators}, disabled (no admin token)"
        ),
    }
    facts = RunFacts(
        scenario=spec.name,
        target="local" + (" with nginx edge" if target.edge else "")
        if target.local
        else target.url,
        edge=target.edge,
        local=target.local,
        started_at=facts_json.get("started_at", ""),
        duration_s=duration,
        users=users,
        phases=phases,
        statements=statements,
        locust_requests=facts_json["locust"]["requests"],
        locust_failures=facts_json["locust"]["failures"],
        operator=operator,
        machine=machine(target.edge),
        notes=[*target.notes, *_fault_notes(facts_json.get("faults", []))],
    )
    summary = summarise(samples, facts)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (run_dir / "summary.md").write_text(render_markdown(summary), encoding="utf-8")
    title = (
        f"lakegate {spec.name}{' + edge' if target.edge else ''}: {users} users, {duration:.0f} s"
    )
    write_chart(run_dir / "latency.png", samples, duration, title, phases)
    return summary


def machine(edge: bool) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }
    if edge:
        from local.edge import nginx_path

        nginx = nginx_path()
        if nginx:
            version = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
            info["nginx"] = version.stderr.strip().removeprefix("nginx version: ")
    return info


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def _fault_notes(faults: list[dict[str, Any]]) -> list[str]:
    return [f"at {f['at_s']:.0f} s, phase {f['phase']}: warehouse {f['faults']}" for f in faults]


def _statements(target: Target) -> int | None:
    if target.warehouse_url is None:
        return None
    try:
        stats = requests.get(f"{target.warehouse_url}/__emulator/stats", timeout=5).json()
    except (requests.RequestException, ValueError):
        return None
    return int(stats["statements_executed"])


def _set_faults(warehouse_url: str, faults: dict[str, Any]) -> None:
    with contextlib.suppress(requests.RequestException):
        requests.post(f"{warehouse_url}/__emulator/faults", json=faults, timeout=5)


def _new_run_dir(output: Path, scenario: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        path = output / f"{scenario}-{stamp}{f'-{attempt}' if attempt else ''}"
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise LoadTestError(f"cannot create a report directory under {output}")


@contextlib.contextmanager
def _stack_log(path: Path) -> Iterator[None]:
    """The stack's logs go to the report directory, not over the progress line.

    The handler logs every statement (and warns on every stale-if-error) through
    Powertools' "lakegate" logger, which writes JSON to stdout; its handlers are
    swapped for the file while the run lasts, keeping their JSON formatter. The HTTP
    servers' tracebacks for connections a client dropped go to stderr: that too.
    """
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setLevel(logging.WARNING)
    root, service = logging.getLogger(), logging.getLogger("lakegate")
    stream_handlers = [h for h in service.handlers if type(h) is logging.StreamHandler]
    json_handler = logging.FileHandler(path, encoding="utf-8")
    json_handler.setLevel(logging.WARNING)
    if stream_handlers:
        json_handler.setFormatter(stream_handlers[0].formatter)
    root.addHandler(file_handler)
    for handler in stream_handlers:
        service.removeHandler(handler)
    service.addHandler(json_handler)
    try:
        with path.open("a", encoding="utf-8") as errors, contextlib.redirect_stderr(errors):
            yield
    finally:
        service.removeHandler(json_handler)
        for handler in stream_handlers:
            service.addHandler(handler)
        root.removeHandler(file_handler)
        file_handler.close()
        json_handler.close()


def _headline(summary: dict[str, Any], run_dir: Path) -> str:
    ms = summary["latency_ms"]
    text = (
        f"done: {summary['requests']:,} requests, {summary['requests_per_s']:.1f}/s, "
        f"{summary['failures']:,} errors, p50 {ms['p50']} ms, p99 {ms['p99']} ms"
    )
    if summary["warehouse"] is not None:
        text += f", {summary['warehouse']['per_1000_requests']:.1f} statements per 1000 requests"
    return f"{text}\nreport: {run_dir / 'summary.md'}"
