"""What the cache did for one request: one declaration that everyone naming it reads.

    outcome            Cache-Status (RFC 9211), after "lakegate"          counted as
    hit                hit; ttl=N                                          CacheHit
    stale              hit; ttl=N; detail=stale-while-revalidate           CacheStaleServed
    miss               fwd=miss[; stored]                                  CacheMiss
    derived            fwd=miss[; stored]; detail=rollup                   CacheMiss
    collapsed          fwd=miss; collapsed                                 CacheCollapsed
    refreshed          fwd=stale[; stored]                                 CacheRefresh
    refreshed-derived  fwd=stale[; stored]; detail=rollup                  CacheRefresh
    stale-if-error     fwd=stale; ttl=N; detail=stale-if-error[; fwd-status=S]  CacheStaleServed
    bypass             fwd=bypass; detail=cache-unavailable                CacheBypass
    uncached           fwd=bypass; detail=cache-disabled                   CacheBypass

A derived outcome is a miss or a refresh whose answer was made from a cached roll-up,
with no statement of its own (cache.served.answer); metrics and traces count it as
the miss or refresh it is, the Cache-Status header says how it was made.

The cache decides the outcome (cache.results); handler.cache_headers renders the header
from it and handler.observability names the metrics from it, never reading a header back;
a client (the load tests' classifier) reads a response's outcome by the parameters each
one always carries (`marks`).
"""

from __future__ import annotations

from enum import StrEnum

from cache import metrics

# Parameters whose value is the response's own, rendered by `cache_status`.
TTL = "ttl"  # seconds of freshness left
STORED = "stored"  # present only when this request wrote the entry
FWD_STATUS = "fwd-status"  # the status of the failure behind a stale answer, when known


class Outcome(StrEnum):
    """What the cache did for one request (the table above)."""

    parameters: tuple[str, ...]  # its Cache-Status parameters, in order
    counter: str  # the cache's counter (cache.metrics)
    derives: str | None  # the outcome this is, for an answer made from a roll-up

    def __new__(
        cls, name: str, parameters: tuple[str, ...], counter: str, derives: str | None = None
    ) -> Outcome:
        member = str.__new__(cls, name)
        member._value_ = name
        member.parameters = parameters
        member.counter = counter
        member.derives = derives
        return member

    HIT = "hit", ("hit", TTL), metrics.HIT
    STALE = "stale", ("hit", TTL, "detail=stale-while-revalidate"), metrics.STALE
    MISS = "miss", ("fwd=miss", STORED), metrics.MISS
    DERIVED = "derived", ("fwd=miss", STORED, "detail=rollup"), metrics.MISS, "miss"
    COLLAPSED = "collapsed", ("fwd=miss", "collapsed"), metrics.COLLAPSED
    REFRESHED = "refreshed", ("fwd=stale", STORED), metrics.REFRESH
    REFRESHED_DERIVED = (
        "refreshed-derived",
        ("fwd=stale", STORED, "detail=rollup"),
        metrics.REFRESH,
        "refreshed",
    )
    STALE_IF_ERROR = (
        "stale-if-error",
        ("fwd=stale", TTL, "detail=stale-if-error", FWD_STATUS),
        metrics.STALE,
    )
    BYPASS = "bypass", ("fwd=bypass", "detail=cache-unavailable"), metrics.BYPASS
    UNCACHED = "uncached", ("fwd=bypass", "detail=cache-disabled"), metrics.BYPASS

    @property
    def plain(self) -> Outcome:
        """What metrics and traces count it as: a derived miss is a miss."""
        return self if self.derives is None else _BY_VALUE[self.derives]

    def from_rollup(self) -> Outcome:
        """This outcome, for an answer derived from a roll-up (the same, when the header
        already says where the answer came from: a bypass)."""
        return next((o for o in Outcome if o.derives == self), self)

    def cache_status(self, *, ttl: int, stored: bool, fwd_status: int | None = None) -> str:
        """Its Cache-Status parameters with this response's values, as RFC 9211 writes them."""
        values = {TTL: f"{TTL}={ttl}", STORED: STORED if stored else None}
        values[FWD_STATUS] = f"{FWD_STATUS}={fwd_status}" if fwd_status is not None else None
        rendered = (values.get(p, p) for p in self.parameters)
        return "; ".join(p for p in rendered if p is not None)

    @property
    def marks(self) -> dict[str, str]:
        """The parameters every response of this outcome carries, with their fixed values
        ("" for a bare one): what a client reads the outcome back by."""
        fixed = (p for p in self.parameters if p not in (TTL, STORED, FWD_STATUS))
        return {key: value for key, _, value in (p.partition("=") for p in fixed)}


_BY_VALUE: dict[str, Outcome] = {outcome.value: outcome for outcome in Outcome}
