"""Calls on the emulator's API that its tests share: execute, run, poll, faults and stats."""

from __future__ import annotations

import time
from typing import Any

import requests

from local.emulator import Emulator

WAREHOUSE = "local-warehouse"
LATENCY_MS = 20
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "CLOSED"}


def execute(
    emulator: Emulator, session: requests.Session, statement: str, **fields: Any
) -> requests.Response:
    body = {"statement": statement, "warehouse_id": WAREHOUSE, **fields}
    return session.post(f"{emulator.url}/api/2.0/sql/statements", json=body, timeout=10)


def run(
    emulator: Emulator, session: requests.Session, statement: str, **fields: Any
) -> dict[str, Any]:
    response = execute(emulator, session, statement, **fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def poll(
    emulator: Emulator,
    session: requests.Session,
    statement_id: str,
    until: set[str],
    within: float = 5.0,
) -> tuple[dict[str, Any], list[str]]:
    """GET the statement until its state is in `until`; returns the last body and states seen."""
    deadline = time.monotonic() + within
    seen: list[str] = []
    while time.monotonic() < deadline:
        response = session.get(f"{emulator.url}/api/2.0/sql/statements/{statement_id}", timeout=5)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        seen.append(body["status"]["state"])
        if seen[-1] in until:
            return body, seen
        time.sleep(0.005)
    raise AssertionError(f"statement never reached {until}; saw {seen[-5:]}")


def faults(emulator: Emulator, **values: Any) -> None:
    requests.post(f"{emulator.url}/__emulator/faults", json=values, timeout=5).raise_for_status()


def stats(emulator: Emulator) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(f"{emulator.url}/__emulator/stats", timeout=5).json()
    return body
