"""The container's throttle: one "held until" on an injected clock, shared by threads."""

import threading

import pytest

from handler.errors import WarehouseUnavailable
from handler.warehouse.throttle import DEFAULT_HOLD_SECONDS, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_429_holds_new_executes_for_its_retry_after() -> None:
    clock = Clock()
    throttle = Throttle(clock)
    throttle.check()  # nothing recorded: no hold
    throttle.record(4.2)
    with pytest.raises(WarehouseUnavailable) as caught:
        throttle.check()
    assert caught.value.retry_after == 5  # lakegate's whole seconds, rounded up
    clock.now += 4.2
    throttle.check()


def test_without_a_retry_after_the_hold_is_lakegates_default() -> None:
    clock = Clock()
    throttle = Throttle(clock)
    throttle.record(None)
    with pytest.raises(WarehouseUnavailable):
        throttle.check()
    clock.now += DEFAULT_HOLD_SECONDS
    throttle.check()


def test_a_shorter_retry_after_does_not_cut_a_longer_hold() -> None:
    clock = Clock()
    throttle = Throttle(clock)
    throttle.record(10)
    throttle.record(1)
    clock.now += 5
    with pytest.raises(WarehouseUnavailable) as caught:
        throttle.check()
    assert caught.value.retry_after == 5


def test_threads_see_one_hold() -> None:
    clock = Clock()
    throttle = Throttle(clock)
    throttle.record(3)
    refused: list[int] = []

    def new_execute() -> None:
        try:
            throttle.check()
        except WarehouseUnavailable:
            refused.append(1)

    threads = [threading.Thread(target=new_execute) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refused) == 8
