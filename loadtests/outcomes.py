"""Which cache tier answered a response, read from `Cache-Status` (RFC 9211) and `x-cache`.

    edge-hit      the edge (CloudFront, or the local nginx edge) answered from its cache
    edge-stale    the edge answered with a stale copy (while revalidating, or the origin failed)
    lakegate-hit  the origin answered from the result cache, fresh
    stale         the origin answered stale: stale-while-revalidate, or stale-if-error
    refresh       the origin found a stale entry and refreshed it in line (a statement ran)
    collapsed     the origin waited for another request's statement (single flight)
    derived       the origin derived the answer from a cached roll-up and stored it (no
                  statement of its own: a miss the warehouse never saw)
    miss          the origin ran a statement and stored the result
    bypass        no cache involved: the result cache was down, or an uncached route (admin)
    error         the request failed (a 4xx/5xx or a connection error)

The edge is read first, because a cached copy carries the origin's `Cache-Status`
from the moment it was stored: "lakegate; fwd=miss" inside an edge hit is history.
A 304 is classified like the 200 it stands for; the summary counts 304s separately.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol, get_args

from cache import Outcome as Served

Outcome = Literal[
    "edge-hit",
    "edge-stale",
    "lakegate-hit",
    "stale",
    "refresh",
    "collapsed",
    "derived",
    "miss",
    "bypass",
    "error",
]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
# The origin's outcomes (cache.outcomes declares each, and the Cache-Status it carries),
# as this report groups them.
ORIGIN: dict[Served, Outcome] = {
    Served.HIT: "lakegate-hit",
    Served.STALE: "stale",
    Served.STALE_IF_ERROR: "stale",
    Served.REFRESHED: "refresh",
    Served.COLLAPSED: "collapsed",
    Served.MISS: "miss",
    Served.DERIVED: "derived",
    Served.REFRESHED_DERIVED: "derived",
    Served.BYPASS: "bypass",
    Served.UNCACHED: "bypass",
}

ORIGIN_CACHE = "lakegate"
EDGE_CACHE = "edge"  # the name the local edge gives itself in Cache-Status


class Headers(Protocol):
    def get(self, name: str, /) -> object: ...


CacheMember = tuple[str, dict[str, str]]
"""One Cache-Status list member: the cache's name and its parameters (`hit` maps to "")."""


def header(headers: Headers, name: str) -> str:
    """A header's value, repeated fields joined as HTTP allows; "" when absent."""
    value = headers.get(name)
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_cache_status(value: str) -> list[CacheMember]:
    """`lakegate; hit; ttl=3, edge; fwd=miss` → [("lakegate", {"hit": "", "ttl": "3"}), ...].

    Good enough for the values caches send (no quoted commas), not a full RFC 8941 parser.
    """
    members: list[CacheMember] = []
    for member in value.split(","):
        name, *params = (part.strip() for part in member.split(";"))
        if not name:
            continue
        parsed: dict[str, str] = {}
        for param in params:
            key, _, item = param.partition("=")
            if key:
                parsed[key.strip().lower()] = item.strip().strip('"')
        members.append((name.strip('"').lower(), parsed))
    return members


def classify(status: int, headers: Headers, *, failed: bool = False) -> Outcome:
    """The outcome of one response (status 0 means no response at all)."""
    if failed or status == 0 or status >= 400:
        return "error"
    members = parse_cache_status(header(headers, "cache-status"))
    edge = _edge_outcome(members, header(headers, "x-cache"), header(headers, "x-cache-status"))
    if edge is not None:
        return edge
    origin = _member(members, ORIGIN_CACHE)
    if origin is None:
        return "bypass"
    return _origin_outcome(origin)


def _edge_outcome(members: list[CacheMember], x_cache: str, x_cache_status: str) -> Outcome | None:
    edge = _member(members, EDGE_CACHE)
    if edge is not None and "hit" in edge:
        if edge.get("detail", "").startswith("stale"):
            return "edge-stale"
        return "edge-hit"
    if edge is None:
        # CloudFront: "Hit from cloudfront", "RefreshHit from cloudfront" (revalidated).
        if x_cache.lower().split(" ")[0] in ("hit", "refreshhit"):
            return "edge-hit"
        # nginx's $upstream_cache_status, when only that is exposed.
        nginx = x_cache_status.upper()
        if nginx in ("HIT", "REVALIDATED"):
            return "edge-hit"
        if nginx in ("STALE", "UPDATING"):
            return "edge-stale"
    return None


def _origin_outcome(params: dict[str, str]) -> Outcome:
    """The served outcome whose marks the member carries (the most specific), as grouped here."""
    carried = [o for o in Served if o.marks.items() <= params.items()]
    if not carried:
        return "miss"  # a forwarded request this classifier has no name for
    return ORIGIN[max(carried, key=lambda o: len(o.marks))]


def _member(members: Iterable[CacheMember], name: str) -> dict[str, str] | None:
    return next((params for member, params in members if member == name), None)
