"""The scenarios as Locust `LoadTestShape`s: users over time, bounded by the duration.

`shape_for(name, users, duration_s)` returns the concrete class for one run; the
classes below stay abstract so a locustfile importing them runs only that one.
What each scenario models is in loadtests/scenarios.py.
"""

from __future__ import annotations

from typing import ClassVar

from locust import LoadTestShape

from loadtests.scenarios import SCENARIOS, Scenario, check_bounds


class ScenarioShape(LoadTestShape):
    """Users over time for one scenario; `shape_for` makes the concrete class Locust runs."""

    abstract: ClassVar[bool] = True
    scenario: ClassVar[Scenario]
    users: ClassVar[int]
    duration_s: ClassVar[float]

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed >= self.duration_s:
            return None
        dashboards, rate = self.target(elapsed)
        # Operators and busters have a fixed_count: Locust places them first, on top of the audience.
        return dashboards + self.scenario.extra_users(self.users), rate

    def target(self, elapsed: float) -> tuple[int, float]:
        """(DashboardUsers, spawn rate per second) at `elapsed` seconds."""
        return self.users, max(1.0, self.users / 5)


class SmokeShape(ScenarioShape):
    abstract: ClassVar[bool] = True  # concrete only through shape_for()

    def target(self, elapsed: float) -> tuple[int, float]:
        return self.users, float(self.users)


class SteadyShape(ScenarioShape):
    abstract: ClassVar[bool] = True  # concrete only through shape_for()

    def target(self, elapsed: float) -> tuple[int, float]:
        ramp_s = max(1.0, 0.15 * self.duration_s)
        return self.users, max(1.0, self.users / ramp_s)


class StepShape(ScenarioShape):
    abstract: ClassVar[bool] = True  # concrete only through shape_for()

    def target(self, elapsed: float) -> tuple[int, float]:
        step = min(4, int(5 * elapsed / self.duration_s))
        return max(1, round(self.users * (step + 1) / 5)), max(1.0, self.users / 5)


class SpikeShape(ScenarioShape):
    abstract: ClassVar[bool] = True  # concrete only through shape_for()

    def target(self, elapsed: float) -> tuple[int, float]:
        baseline = max(1, self.users // 5)
        phase = self.scenario.phase_at(elapsed, self.duration_s).name
        if phase == "spike":
            return self.users, float(self.users)  # all of them within a second
        return baseline, float(self.users)


class ColdStartShape(ScenarioShape):
    abstract: ClassVar[bool] = True  # concrete only through shape_for()

    def target(self, elapsed: float) -> tuple[int, float]:
        return self.users, float(self.users)


class InvalidationStormShape(SteadyShape):
    abstract: ClassVar[bool] = True  # concrete only through shape_for()


class BrownoutShape(SteadyShape):
    abstract: ClassVar[bool] = True  # concrete only through shape_for()


class CacheBusterShape(SteadyShape):
    """The steady audience; the busters, there from the start, wait for their phase."""

    abstract: ClassVar[bool] = True  # concrete only through shape_for()


SHAPES: dict[str, type[ScenarioShape]] = {
    "smoke": SmokeShape,
    "steady": SteadyShape,
    "step": StepShape,
    "spike": SpikeShape,
    "cold-start": ColdStartShape,
    "invalidation-storm": InvalidationStormShape,
    "brownout": BrownoutShape,
    "cache-buster": CacheBusterShape,
}


def shape_for(
    name: str, users: int | None = None, duration_s: float | None = None
) -> type[ScenarioShape]:
    """The concrete, bounded LoadTestShape class for scenario `name`."""
    scenario = SCENARIOS[name]
    users = scenario.users if users is None else users
    duration_s = scenario.duration_s if duration_s is None else duration_s
    check_bounds(users, duration_s)
    base = SHAPES[name]
    return type(
        base.__name__,
        (base,),
        {"abstract": False, "scenario": scenario, "users": users, "duration_s": float(duration_s)},
    )
