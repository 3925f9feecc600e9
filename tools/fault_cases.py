"""The fault matrix's declaration: every warehouse fault, the cache states it meets, and
what must happen (tools/faults.py runs it).

Each fault is one set of the emulator's switches (local/emulator/faults.py) and what a
request with no entry to fall back on must get: a clean 502/503/504, or the 200 lakegate
must come through to (a chunk fetched again). A fresh entry must hide any fault; a stale
one is served at once while one background refresh meets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

State = Literal["no entry", "fresh entry", "stale entry"]
STATES: tuple[State, ...] = get_args(State)

TTL_SECONDS = 1  # "stale" costs one second's wait
LAMBDA_TIMEOUT_SECONDS = 6.0  # every answer comes within it (stack_config)
HIT = r"lakegate; hit; ttl=\d+"
STALE = r"lakegate; hit; ttl=-\d+; detail=stale-while-revalidate"
STORED = r"lakegate; fwd=miss; stored"


@dataclass(frozen=True)
class Fault:
    """One way the warehouse goes wrong, and the answer it must get with no entry to fall back on
    (a 200 where lakegate must come through it: a retried chunk)."""

    name: str
    switches: Mapping[str, Any]  # POST /__emulator/faults
    status: int
    statements: int  # statements the warehouse runs for one request (or one refresh)
    cancels: int  # cancels lakegate sends
    retry_after: bool  # a Retry-After (1..30 s) on the error
    executes: int | None = None  # executes received, where the fault pins it

    def expected(self, state: State) -> Expected:
        if state == "fresh entry":
            return Expected(200, HIT, statements=0, cancels=0, executes=0)
        if state == "stale entry":  # the background refresh meets the fault, once
            return Expected(200, STALE, self.statements, self.cancels, executes=self.executes)
        stored = STORED if self.status == 200 else None
        return Expected(
            self.status, stored, self.statements, self.cancels, self.retry_after, self.executes
        )


@dataclass(frozen=True)
class Expected:
    status: int
    cache_status: str | None  # a full-match pattern; None: errors carry no Cache-Status
    statements: int
    cancels: int
    retry_after: bool = False
    executes: int | None = None  # executes received, where the cell pins it


# The order matters once: a 429 holds the container back, so the throttle runs last.
FAULTS: tuple[Fault, ...] = (
    Fault("non-JSON 200 on execute", {"garbage_body": "execute"}, 502, 1, 0, False),
    # Answers that are wrong, not broken: refused, never stored.
    Fault(
        "no counts in the manifest, chunk chain stops early",
        {"wrong_counts": "absent", "chain_ends_after": 0},
        502,
        1,
        1,
        False,
    ),
    Fault("an extra column in the answer", {"wrong_columns": "extra"}, 502, 1, 0, False),
    Fault("upper-cased column names", {"wrong_columns": "upper_case"}, 502, 1, 0, False),
    Fault("VARIANT column types", {"column_type": "VARIANT"}, 502, 1, 0, False),
    Fault("GEOGRAPHY column types", {"column_type": "GEOGRAPHY"}, 502, 1, 0, False),
    Fault("external_links in an INLINE result", {"external_links": True}, 502, 1, 1, False),
    Fault("manifest row count off by one", {"wrong_counts": "rows"}, 502, 1, 1, False),
    Fault("chunk link to another host", {"chunk_link": "other_host"}, 502, 1, 1, False),
    Fault("statement slower than the budget", {"slow_statement_ms": 20_000}, 504, 1, 1, True),
    Fault(
        "polls 503 until the budget ends",
        {"unavailable_polls": True, "slow_statement_ms": 1_000},
        503,
        1,
        1,
        True,
    ),
    # An upstream 5xx is the warehouse being unavailable: 503, come back later; the
    # statement it accepted runs, and execute is never sent again.
    Fault("500 on execute after accepting", {"execute_status": 500}, 503, 1, 0, True, 1),
    # Answers broken in transit: an execute is not sent again, polls and chunks are,
    # within the budget; an answer that drips in is cut at the deadline.
    Fault(
        "connection reset mid-answer on execute",
        {"broken_answer": "reset", "broken_call": "execute"},
        503,
        1,
        0,
        True,
        1,
    ),
    Fault(
        "garbled Content-Encoding on every poll",
        {"broken_answer": "garbled", "broken_call": "poll", "slow_statement_ms": 1_000},
        503,
        1,
        1,
        True,
    ),
    Fault(
        "connection reset on every chunk",
        {"broken_answer": "reset", "broken_call": "chunk"},
        503,
        1,
        1,
        True,
    ),
    Fault(
        "one chunk reset, fetched again",
        {"broken_answer": "reset", "broken_call": "chunk", "broken_next": 1},
        200,
        1,
        0,
        False,
    ),
    Fault(
        "a chunk dripping a byte every 0.5 s",
        {"broken_answer": "drip", "broken_call": "chunk", "drip_ms": 500},
        504,
        1,
        1,
        True,
    ),
    Fault(
        "401 with the token in every error field",
        {"unauthenticated_next": 1, "echo_credentials": True},
        502,
        0,
        0,
        False,
    ),
    Fault(
        "always 429, Retry-After inf",
        {"throttle_always": True, "retry_after": "inf"},
        503,
        0,
        0,
        True,
    ),
)

_STATES_BY_FAULT = (
    "Ohio", "Iowa", "Utah", "Texas", "Maine", "Idaho", "Alaska", "Hawaii", "Kansas",
    "Montana", "Vermont", "Georgia", "Kentucky", "Arizona", "Colorado", "Florida",
    "Indiana", "Nebraska", "Wyoming", "Delaware",
)  # fmt: skip


def cell_path(fault_index: int, state: State) -> str:
    """A query no other cell asks."""
    year = 2001 + STATES.index(state)
    return f"/v1/drivers?state={_STATES_BY_FAULT[fault_index]}&year={year}"
