"""Switchable misbehaviour: every way a warehouse (or what sits in front of it) goes wrong.

Set over HTTP (POST /__emulator/faults with any of the names below, GET to read them,
POST /__emulator/reset to clear), from the CLI at start, or in Python
(`emu.faults.hang = True`, `emu.faults.set(...)`).

    throttle_next: int      the next N API calls answer 429 (then unavailable_next, 503)
    unavailable_next: int   the next N API calls answer 503 TEMPORARILY_UNAVAILABLE
    throttle_always: bool   every API call answers 429
    retry_after: str        the Retry-After those 429s carry, verbatim ("1", "inf", "999999")
    unavailable_polls: bool every poll (GET of a statement) answers 503
    fail_next: int          the next N statements end FAILED
    error_rate: float       that fraction of statements end FAILED (seeded)
    latency_ms: int|null    time from accept to done (null: the configured latency)
    hang: bool              statements run until cancelled
    slow_statement_ms: int  statements take this long and execute answers PENDING at once,
                            whatever wait_timeout asked: the asynchronous path
    execute_status: int     500, 502 or 504 to execute *after* the statement was accepted
                            (it runs): a client that sends it again runs it twice
    execute_stall: bool     execute accepts the statement and holds the answer back until
                            the faults are cleared: the client's read timeout fires
    garbage_body: str       "execute", "poll" or "chunk": that call answers 200 with HTML;
                            "file": a presigned link's download does
    external_links: bool    INLINE results come as external_links instead of data_array
    wrong_counts: str       "rows" or "chunks": the manifest announces one more than sent;
                            "absent": it announces neither count
    chain_ends_after: int   the chunk with this index names no next chunk: the chain of
                            chunks stops there, whatever the result holds (null: off)
    wrong_columns: str      the manifest (and the rows) name other columns than the
                            statement selected: "extra" (one more, "secret", with a value
                            in every row), "upper_case" (names upper-cased), "reordered"
                            (the first two swapped, with their cells)
    column_type: str        every column's type_name and type_text say this (e.g. VARIANT,
                            GEOGRAPHY); the cells are unchanged
    chunk_link: str         next_chunk_internal_link points elsewhere: "self" (this chunk),
                            "other_statement", "absolute" (a full URL of this host),
                            "other_host" (http://chunk_link_host/...), "protocol_relative"
                            (//chunk_link_host/...)
    chunk_link_host: str    the host those last two links name
    link_failures_next: int the next N downloads of a presigned link answer 500 InternalError
    expired_links_next: int the next N links handed out are already expired: their
                            expiration is the moment they were issued (the storage refuses
                            them with 403), so a client must ask for fresh ones
    revoked_links_next: int the next N downloads answer 403 AccessDenied "Request has
                            expired" before the stated expiration (a storage whose clock
                            runs ahead of the client's)
    broken_answer: str      an answer broken in transit (local.emulator.distortions): "reset"
                            (half the body, then the connection is reset), "garbled"
                            (Content-Encoding: gzip on a body that is not), "drip" (one
                            byte every drip_ms: every read is quick, the answer endless)
    broken_call: str        which call's answer breaks: "execute", "poll", "chunk" or "file"
                            (a presigned link's download)
    broken_next: int|null   only the next N such answers break (null: every one)
    drip_ms: int            the pause between two dripped bytes
    unauthenticated_next: int the next N API calls answer 401, even with a valid token
    echo_credentials: bool  every error the API answers (a non-2xx body, a FAILED
                            statement's status) carries the request's Authorization header
                            in each of its fields: error_code, message, sql_state
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# What a proxy in front of a warehouse answers when it, not the API, is in trouble.
GARBAGE = b"<html><head><title>Bad Gateway</title></head><body>upstream hiccup</body></html>"
_STALL_LIMIT_S = 60.0  # a stalled execute answers at last, so no thread waits forever


@dataclass(frozen=True)
class InitialFaults:
    """Every fault switch and its healthy default; the CLI flags map onto the first six."""

    throttle_next: int = 0
    unavailable_next: int = 0
    fail_next: int = 0
    latency_ms: int | None = None
    hang: bool = False
    error_rate: float = 0.0
    throttle_always: bool = False
    retry_after: str = "1"
    unavailable_polls: bool = False
    slow_statement_ms: int | None = None
    execute_status: int | None = None
    execute_stall: bool = False
    garbage_body: str | None = None
    external_links: bool = False
    wrong_counts: str | None = None
    chunk_link: str | None = None
    chunk_link_host: str = "attacker.invalid"
    link_failures_next: int = 0
    expired_links_next: int = 0
    revoked_links_next: int = 0
    chain_ends_after: int | None = None
    wrong_columns: str | None = None
    column_type: str | None = None
    broken_answer: str | None = None
    broken_call: str = "chunk"
    broken_next: int | None = None
    drip_ms: int = 500
    unauthenticated_next: int = 0
    echo_credentials: bool = False


FIELDS = tuple(f.name for f in dataclasses.fields(InitialFaults))


class Faults:
    """The switches now; every read and write holds the lock (HTTP threads race)."""

    def __init__(self, initial: InitialFaults | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._released = threading.Event()  # set: stalled executes may answer
        self._now = initial or InitialFaults()
        self._random = random.Random(seed)

    def set(self, **changes: Any) -> None:
        """Set any of FIELDS; raises ValueError (nothing changed) on a bad name or value."""
        checked = {name: _check(name, value) for name, value in changes.items()}
        with self._lock:
            self._now = dataclasses.replace(self._now, **checked)
            if checked.get("execute_stall") is True:
                self._released.clear()

    def clear(self) -> None:
        """Switch every fault off (not back to the start-up faults: reset means healthy)."""
        with self._lock:
            self._now = InitialFaults()
            self._random = random.Random(self._seed)
        self.release()

    def release(self) -> None:
        """Let every stalled execute answer (reset and stop do this)."""
        self._released.set()

    def current(self) -> InitialFaults:
        with self._lock:
            return self._now

    def snapshot(self) -> dict[str, Any]:
        return dataclasses.asdict(self.current())

    # Plain attribute style for callers (emu.faults.hang = True); writes validate via set().
    def __getattr__(self, name: str) -> Any:
        if name in FIELDS:
            return getattr(self.current(), name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in FIELDS:
            self.set(**{name: value})
        else:
            super().__setattr__(name, value)

    def take_request_fault(self, route: str) -> int | None:
        """The status an API call answers instead of doing its work; None when healthy."""
        with self._lock:
            if self._spend("unauthenticated_next"):
                return 401
            if self._now.throttle_always or self._spend("throttle_next"):
                return 429
            if self._spend("unavailable_next"):
                return 503
            return 503 if self._now.unavailable_polls and route == "poll" else None

    def take_statement_failure(self) -> bool:
        """Decide, once per accepted statement, whether it is doomed to end FAILED."""
        with self._lock:
            if self._spend("fail_next"):
                return True
            # Draw only when a rate is set, so switching it on later replays the same sequence.
            rate = self._now.error_rate
            return rate > 0 and self._random.random() < rate

    def take_expired_link(self) -> bool:
        """Decide, once per link handed out, whether it is born expired."""
        with self._lock:
            return self._spend("expired_links_next")

    def take_download_fault(self) -> int | None:
        """The status a download of a valid link answers instead of the file; None when healthy."""
        with self._lock:
            if self._spend("link_failures_next"):
                return 500
            return 403 if self._spend("revoked_links_next") else None

    def take_broken_answer(self, route: str) -> str | None:
        """How this call's answer breaks in transit ("reset", "garbled", "drip"); None: it does not."""
        with self._lock:
            now = self._now
            call = "storage" if now.broken_call == "file" else now.broken_call
            if now.broken_answer is None or route != call:
                return None
            if now.broken_next is not None:
                if now.broken_next <= 0:
                    return None
                self._now = dataclasses.replace(now, broken_next=now.broken_next - 1)
            return now.broken_answer

    def _spend(self, counter: str) -> bool:
        """Use up one of a "next N" fault; False when none is left. Hold the lock."""
        left: int = getattr(self._now, counter)
        if left <= 0:
            return False
        spent: dict[str, Any] = {counter: left - 1}
        self._now = dataclasses.replace(self._now, **spent)
        return True

    def stall(self) -> None:
        """Hold an execute answer until the faults are cleared (or a minute passes)."""
        self._released.wait(_STALL_LIMIT_S)


# --- validation --------------------------------------------------------------------


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer")
    return value


def _optional_count(name: str, value: Any) -> int | None:
    if value is None:
        return None
    try:
        return _count(name, value)
    except ValueError:
        raise ValueError(f"{name} must be null or a non-negative integer") from None


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a boolean")
    return value


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0.0 and 1.0")
    return float(value)


def _header_text(name: str, value: Any) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not re.fullmatch(r"[\x20-\x7e]{1,64}", text):
        raise ValueError(f"{name} must be printable text a header can carry")
    return text


def _type_name(name: str, value: Any) -> str | None:
    if value is not None and not (isinstance(value, str) and re.fullmatch(r"[A-Z_]{1,32}", value)):
        raise ValueError(f"{name} must be null or an upper-case type name")
    return value


def _host(name: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", value):
        raise ValueError(f"{name} must be host or host:port")
    return value


def _one_of(*choices: Any) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        if isinstance(value, bool) or value not in choices:
            shown = ", ".join("null" if c is None else repr(c) for c in choices)
            raise ValueError(f"{name} must be one of {shown}")
        return value

    return check


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "throttle_next": _count,
    "unavailable_next": _count,
    "fail_next": _count,
    "latency_ms": _optional_count,
    "hang": _flag,
    "error_rate": _rate,
    "throttle_always": _flag,
    "retry_after": _header_text,
    "unavailable_polls": _flag,
    "slow_statement_ms": _optional_count,
    "execute_status": _one_of(None, 500, 502, 504),
    "execute_stall": _flag,
    "garbage_body": _one_of(None, "execute", "poll", "chunk", "file"),
    "external_links": _flag,
    "wrong_counts": _one_of(None, "rows", "chunks", "absent"),
    "chain_ends_after": _optional_count,
    "wrong_columns": _one_of(None, "extra", "upper_case", "reordered"),
    "column_type": _type_name,
    "broken_answer": _one_of(None, "reset", "garbled", "drip"),
    "broken_call": _one_of("execute", "poll", "chunk", "file"),
    "broken_next": _optional_count,
    "drip_ms": _count,
    "unauthenticated_next": _count,
    "echo_credentials": _flag,
    "chunk_link": _one_of(
        None, "self", "other_statement", "absolute", "other_host", "protocol_relative"
    ),
    "chunk_link_host": _host,
    "link_failures_next": _count,
    "expired_links_next": _count,
    "revoked_links_next": _count,
}


def _check(name: str, value: Any) -> Any:
    check = _CHECKS.get(name)
    if check is None:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FIELDS)}")
    return check(name, value)
