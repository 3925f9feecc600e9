"""The scenarios: what each models, its phases, its warehouse faults and its operators.

A scenario's user curve is its `LoadTestShape` in loadtests/shapes.py; this module
holds the facts the runner and the report need too (default size and length, named
phases with emulator faults for `brownout`, whether operators invalidate, whether
freshness is compressed so a one-minute run crosses several freshness windows), and
imports nothing from Locust: importing Locust monkey-patches the process with gevent,
which the runner, hosting the embedded stack's threads, must not be.

    smoke               a few users for 15 s: does everything answer?
    steady              ramp up, then a constant dashboard audience
    step                the audience grows in five equal steps
    spike               a quiet baseline, five times the users for a fifth of the run, quiet again
    cold-start          everyone arrives at once on an empty cache and cold containers
    invalidation-storm  a steady audience while operators invalidate every few seconds
    brownout            the warehouse turns slow (3 s), then also fails half its statements,
                        then recovers; freshness is 10 s so entries go stale mid-run
    cache-buster        a steady audience, then cache busters beside it: random valid URLs,
                        made-up API keys and typos (loadtests/buster.py), against the
                        origin's statement budget and key checks

Any scenario runs with API keys required (`require_keys`, or LAKEGATE_REQUIRE_KEYS=1 in
the runner's environment): the runner then creates a key per dashboard user.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Every fault the emulator knows, switched off ("latency_ms": None is the configured latency).
HEALTHY: Mapping[str, Any] = {
    "throttle_next": 0,
    "unavailable_next": 0,
    "fail_next": 0,
    "latency_ms": None,
    "hang": False,
    "error_rate": 0.0,
}
MAX_USERS = 2000
MAX_DURATION_S = 3600
# The cache-buster's phases: dashboards alone (the baseline of their hit latency), then busters.
BASELINE_PHASE = "baseline"
BUSTER_PHASE = "buster"


@dataclass(frozen=True)
class Phase:
    """A named stretch of a run, from `start` (a fraction of the duration) to the next phase."""

    name: str
    start: float
    faults: Mapping[str, Any] | None = None  # emulator faults to switch to; None: unchanged


@dataclass(frozen=True)
class Operators:
    """OperatorUsers in a run: how many, and the seconds between their invalidations."""

    count: int
    wait_s: tuple[float, float]


@dataclass(frozen=True)
class Busters:
    """CacheBusterUsers: one per `per_dashboards` dashboard users (at least one), idle until
    the phase named BUSTER_PHASE, then a request every `wait_s` seconds each."""

    per_dashboards: int
    wait_s: tuple[float, float]

    def count(self, users: int) -> int:
        return max(1, math.ceil(users / self.per_dashboards))


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    users: int
    duration_s: int
    phases: tuple[Phase, ...] = (Phase("run", 0.0),)
    operators: Operators | None = None
    # Local runs only: serve the catalogue with this ttl_seconds so entries go stale mid-run.
    freshness_ttl_s: int | None = None
    # Local runs only: the admin route's invalidation rate limit (the stack's default is 3).
    invalidations_per_minute: int | None = None
    needs_emulator: bool = False  # faults are switched on the local emulator
    fresh_cache: bool = False  # the run means nothing on a warm cache
    busters: Busters | None = None
    # Every data route needs an API key; the runner creates one per dashboard user.
    require_keys: bool = False

    def extra_users(self, users: int) -> int:
        """The fixed-count users beside `users` dashboard users: operators and busters."""
        operators = self.operators.count if self.operators else 0
        return operators + (self.busters.count(users) if self.busters else 0)

    def phase_start(self, name: str, duration_s: float) -> float | None:
        """The second phase `name` starts at; None when the scenario has no such phase."""
        return next((p.start * duration_s for p in self.phases if p.name == name), None)

    def phase_at(self, elapsed_s: float, duration_s: float) -> Phase:
        fraction = elapsed_s / duration_s if duration_s > 0 else 0.0
        current = self.phases[0]
        for phase in self.phases:
            if fraction >= phase.start:
                current = phase
        return current

    def phase_bounds(self, duration_s: float) -> list[tuple[Phase, float, float]]:
        """Each phase with its start and end second."""
        starts = [p.start * duration_s for p in self.phases]
        ends = [*starts[1:], duration_s]
        return list(zip(self.phases, starts, ends, strict=True))


RARE_OPERATOR = Operators(count=1, wait_s=(20.0, 40.0))

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("smoke", "a few users for 15 s", users=5, duration_s=15),
        Scenario(
            "steady",
            "ramp up, then a constant audience",
            users=30,
            duration_s=60,
            phases=(Phase("ramp", 0.0), Phase("hold", 0.15)),
            operators=RARE_OPERATOR,
        ),
        Scenario(
            "step",
            "the audience grows in five steps",
            users=50,
            duration_s=100,
            phases=tuple(Phase(f"step {i + 1}", i / 5) for i in range(5)),
            operators=RARE_OPERATOR,
        ),
        Scenario(
            "spike",
            "a baseline, a 5x spike, the baseline again",
            users=50,
            duration_s=60,
            phases=(Phase("baseline", 0.0), Phase("spike", 0.4), Phase("after", 0.6)),
            operators=RARE_OPERATOR,
        ),
        Scenario(
            "cold-start",
            "everyone at once on an empty cache",
            users=30,
            duration_s=60,
            phases=(Phase("first 10%", 0.0), Phase("rest", 0.1)),
            fresh_cache=True,
        ),
        Scenario(
            "invalidation-storm",
            "operators invalidate every few seconds",
            users=30,
            duration_s=60,
            phases=(Phase("ramp", 0.0), Phase("storm", 0.15)),
            operators=Operators(count=2, wait_s=(2.0, 5.0)),
            invalidations_per_minute=60,
        ),
        Scenario(
            "brownout",
            "the warehouse turns slow, then fails, then recovers",
            users=30,
            duration_s=60,
            phases=(
                Phase("healthy", 0.0, HEALTHY),
                Phase("slow", 0.3, {**HEALTHY, "latency_ms": 3000}),
                Phase("failing", 0.5, {**HEALTHY, "latency_ms": 3000, "error_rate": 0.5}),
                Phase("recovered", 0.8, HEALTHY),
            ),
            freshness_ttl_s=10,
            needs_emulator=True,
        ),
        Scenario(
            "cache-buster",
            "random valid URLs, unknown keys and typos beside the dashboards",
            users=20,
            duration_s=60,
            phases=(Phase("ramp", 0.0), Phase(BASELINE_PHASE, 0.15), Phase(BUSTER_PHASE, 0.4)),
            busters=Busters(per_dashboards=5, wait_s=(0.1, 0.3)),
        ),
    )
}


def check_bounds(users: int, duration_s: float) -> None:
    if not 1 <= users <= MAX_USERS:
        raise ValueError(f"users must be between 1 and {MAX_USERS}, got {users}")
    if not 1 <= duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration must be between 1 and {MAX_DURATION_S} s, got {duration_s}")
