"""Rules every test directory shares: which tests are slow, and what happens without nginx.

Slow tests (deselected by `make unit`, run by `make test`) are marked here by rule, so a
new test file needs no one to remember: everything under tests/e2e and tests/cdk (HTTP
end to end, CDK synthesis), and every test whose module, or a conftest.py above it,
holds something that starts a server: the embedded stack, the warehouse emulator, an
HTTP server of local/, moto (its server, or its in-process backends, slow to build),
the nginx edge. A module slow for another reason (a subprocess, a real run) says so
itself: `pytestmark = pytest.mark.slow`. Under `-m 'not slow'` the slow directories are
not even collected, and `--hypothesis-profile=unit` draws fewer examples.

nginx: a test that needs it takes the `nginx` fixture (the executable's path) or carries
the `requires_nginx` marker. Without nginx such tests are skipped, all with one reason,
so `-ra` prints one line saying how to install it; under CI=true or
LAKEGATE_REQUIRE_EDGE=1 a missing nginx fails them instead, as a broken machine should.
Chromium (the browser tests: Swagger UI, driven through chromedriver) the same way, with
the `browser` fixture, and CI=true or LAKEGATE_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

TESTS = Path(__file__).resolve().parent
SLOW_DIRECTORIES = frozenset({"e2e", "cdk"})
# Held by a module (imported or defined), these mean its tests start a server.
SERVER_NAMES = frozenset(
    {
        "EmbeddedStack",  # local.stack
        "Emulator",  # local.emulator
        "HttpServer",  # local.http_server, under the Function URL and the emulator
        "FunctionUrlServer",
        "start_listening",  # local.processes: a child process serving on a port
        "MotoServer",  # local.aws
        "mock_aws",  # moto in-process
        "Edge",  # local.edge: nginx
    }
)
REQUIRE_EDGE_VARIABLE = "LAKEGATE_REQUIRE_EDGE"
EDGE_SKIPPED = "The local-edge tests are skipped"
REQUIRE_BROWSER_VARIABLE = "LAKEGATE_REQUIRE_BROWSER"
BROWSER_SKIPPED = "The browser tests are skipped"
# Debian's packages (chromium, chromium-driver); nothing downloads a browser.
BROWSER_INSTALL = "apt-get install chromium chromium-driver"

# `make unit` (--hypothesis-profile=unit) draws a tenth of the examples, for feedback in
# seconds; `make test` draws Hypothesis's hundred. An explicit @settings(max_examples=) wins.
# No deadline in either: a test asserts behaviour, not speed (benchmarks time things), and
# Hypothesis's 200 ms per example fails tests on a busy machine for no fault of the code.
settings.register_profile("default", deadline=None)
settings.register_profile("unit", max_examples=10, deadline=None)
settings.load_profile("default")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # `-m 'not slow'` (make unit) would deselect all of them: not even importing them saves
    # seconds (the CDK conftest starts node). Any other expression collects everything.
    deselects_slow = " ".join(str(config.getoption("markexpr") or "").split()) == "not slow"
    if deselects_slow and collection_path.resolve().parent == TESTS:
        return collection_path.name in SLOW_DIRECTORIES or None
    return None


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(config, item):
            item.add_marker(pytest.mark.slow)


def is_slow(config: pytest.Config, item: pytest.Item) -> bool:
    """Whether the rule above makes `item` slow (its own markers aside)."""
    path = item.path.resolve()
    if not path.is_relative_to(TESTS):
        return False
    parts = path.relative_to(TESTS).parts
    if parts and parts[0] in SLOW_DIRECTORIES:
        return True
    return any(not SERVER_NAMES.isdisjoint(vars(m)) for m in _modules(config, item))


def _modules(config: pytest.Config, item: pytest.Item) -> list[ModuleType]:
    """The item's test module and the conftest modules between it and tests/."""
    module = getattr(item, "module", None)
    found = [module] if isinstance(module, ModuleType) else []
    directory = item.path.resolve().parent
    while directory.is_relative_to(TESTS):
        # pytest registers each conftest module as a plugin named by its path.
        conftest = config.pluginmanager.get_plugin(str(directory / "conftest.py"))
        if isinstance(conftest, ModuleType):
            found.append(conftest)
        directory = directory.parent
    return found


def edge_required(
    environ: Mapping[str, str] = os.environ, variable: str = REQUIRE_EDGE_VARIABLE
) -> str | None:
    """The variable that makes a missing nginx (or `variable`'s tool) a failure, or None
    where it is a skip."""
    if environ.get("CI", "").lower() in ("true", "1"):
        return "CI=" + environ["CI"]
    if environ.get(variable) == "1":
        return f"{variable}=1"
    return None


def nginx_or_skip(path: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """`path` when nginx is installed; else skips the test, or fails it where the edge is required."""
    # local.edge is imported only here: a broken edge module must not stop every collection.
    from local.edge import nginx_missing_message

    if path is not None:
        return path
    required = edge_required(environ)
    if required is not None:
        pytest.fail(f"{nginx_missing_message()} Required here ({required}).", pytrace=False)
    pytest.skip(
        f"{nginx_missing_message()} {EDGE_SKIPPED}; under CI=true or "
        f"{REQUIRE_EDGE_VARIABLE}=1 they fail instead."
    )


def require_nginx() -> str:
    """nginx's path, or the skip (or failure) of the test that needs it."""
    from local.edge import nginx_path

    return nginx_or_skip(nginx_path())


@pytest.fixture(scope="session")
def nginx() -> str:
    """The nginx executable (see require_nginx)."""
    return require_nginx()


@dataclass(frozen=True)
class Browser:
    """Chromium and the chromedriver of the same build (Debian's chromium-driver)."""

    chromium: str
    chromedriver: str


def browser_or_skip(found: Browser | None, environ: Mapping[str, str] = os.environ) -> Browser:
    """`found` when Chromium and its driver are installed; else skips the test, or fails it
    where the browser is required."""
    if found is not None:
        return found
    missing = f"Chromium or chromedriver is not installed ({BROWSER_INSTALL})."
    required = edge_required(environ, REQUIRE_BROWSER_VARIABLE)
    if required is not None:
        pytest.fail(f"{missing} Required here ({required}).", pytrace=False)
    pytest.skip(
        f"{missing} {BROWSER_SKIPPED}; under CI=true or {REQUIRE_BROWSER_VARIABLE}=1 they "
        "fail instead."
    )


def installed_browser() -> Browser | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    return Browser(chromium, chromedriver) if chromium and chromedriver else None


@pytest.fixture(scope="session")
def browser() -> Browser:
    """Chromium and chromedriver (see browser_or_skip)."""
    return browser_or_skip(installed_browser())


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("requires_nginx") is not None:
        require_nginx()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # pytest files a fixture's skip under each test's own line, and `-ra` would print one
    # line per edge test: filed here instead, they fold into a single line.
    if report.skipped and isinstance(report.longrepr, tuple):
        for reason, where in ((EDGE_SKIPPED, nginx_or_skip), (BROWSER_SKIPPED, browser_or_skip)):
            if reason in str(report.longrepr[2]):
                report.longrepr = (__file__, where.__code__.co_firstlineno, report.longrepr[2])
    return report
