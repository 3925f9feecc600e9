"""What a run loads: the base URL, whether it is the embedded stack, and what that stack offers.

Only loopback hosts are loaded unless the host is named explicitly with --host: a load
test against a deployed API costs money and can trip its WAF rate limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from loadtests.errors import UsageError


@dataclass
class Target:
    url: str
    local: bool
    edge: bool = False
    warehouse_url: str | None = None  # the emulator (local runs only)
    admin_token: str | None = None
    api_keys: tuple[str, ...] = ()  # the dashboard users' keys, when keys are required
    require_keys: bool = False
    statement_budget: int | None = None  # the origin's statements per dataset a minute, if known
    datasets: int = 1  # how many datasets the budget counts for: the warehouse's ceiling is both
    # The origin's budget counters for one epoch minute, by dataset (loadtests.warehouse).
    admitted: Callable[[int], Mapping[str, Mapping[str, int]] | None] | None = None
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
