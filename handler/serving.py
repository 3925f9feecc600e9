"""One dataset request: validate → key → cache (→ roll-up or warehouse on a miss) → response.

Nothing here imports polars: a cache hit is served from stored gzip bytes. On a miss
the cache first asks `derive`: the first roll-up that answers the query
(handler.rollups) is obtained (cache.rollups: memory, S3, or one statement) and the
answer derived from it (handler.datasets.derive_page); only a query no roll-up answers
runs a statement of its own.

The miss path (handler.datasets, handler.rollups, the warehouse client) is imported by
the first miss, not by the container: a hit never uses it, and every cold start
would pay for it (tests/e2e/test_cold_start.py checks what a hit leaves unloaded).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from cache import (
    Budget,
    CacheRequest,
    Derived,
    Fetched,
    Outcome,
    ResultCache,
    RollupOversize,
    RollupRequest,
    Rollups,
    Served,
    StatementBudget,
    UncachedResults,
    cache_key,
    rollup_key,
)
from handler.cache_headers import by_reference_headers, caching_headers, matches
from handler.catalogue import Dataset
from handler.consumers import Consumer, Consumers, authorise
from handler.observability import annotate
from handler.query import Query, parse_query
from handler.refresh import Invoker, RefreshOrder
from handler.responses import (
    GzipJson,
    accepts_gzip,
    encoded_response,
    not_modified,
    see_other,
)
from handler.settings import WarehouseSettings
from handler.vocabulary import Rollup
from handler.warehouse import Deadline, budget_seconds

if TYPE_CHECKING:
    from handler.datasets import HeldRollup, Page
    from handler.warehouse import WarehouseClient

logger = Logger(service="lakegate", child=True)


@dataclass(frozen=True)
class Gate:
    """Who may ask, and how many warehouse statements they may start."""

    consumers: Consumers
    require_keys: bool
    statements: StatementBudget | None  # None: no cache table to count in


@dataclass(frozen=True)
class DatasetServer:
    """Everything one dataset route needs, handed over by the composition root."""

    dataset: Dataset
    catalogue_version: int
    warehouse: Callable[
        [], WarehouseClient
    ]  # the container's client, built for its first statement
    results: ResultCache | UncachedResults
    timing: WarehouseSettings  # reserve and cap of the warehouse's time budget
    gate: Gate
    refresher: Invoker | None = None  # None: stale entries are refreshed in line
    # Answers whose body could exceed this on the wire are 303s to a presigned URL.
    inline_response_max_bytes: int | None = None
    rollups: Rollups | None = None  # None: every miss runs its own statement

    @functools.cached_property
    def _recent(self) -> Callable[[str, str | None], tuple[Query, str]]:
        # Dashboards ask the same few query strings over and over: each is parsed, checked
        # and hashed once per container, not on every hit. Deliberate per-container state,
        # bounded; a query string refused with a 400 raises, and is not kept.
        return functools.lru_cache(maxsize=1024)(self._parsed)

    def _parsed(self, raw_query: str, accept: str | None) -> tuple[Query, str]:
        query = parse_query(self.dataset, raw_query, accept)
        return query, cache_key(query.canonical(self.dataset, self.catalogue_version))

    def serve(
        self, event: LambdaFunctionUrlEvent, remaining_ms: int
    ) -> tuple[Response[str | bytes | GzipJson] | Response[str], Outcome]:
        """The answer to one request of the route, and what the cache did for it."""
        dataset = self.dataset
        annotate(dataset=dataset.name)
        # Read once: Powertools builds a new case-insensitive copy on every `headers`.
        headers = event.headers
        # Who asks comes first, as at the edge: a stranger learns nothing from a 400.
        consumer = self.gate.consumers.identify(headers)
        authorise(dataset, consumer, require_keys=self.gate.require_keys)
        accept = headers.get("accept")
        query, key = self._recent(event.raw_query_string, accept)
        refresher = self.refresher

        def refresh_later(owner: str) -> None:
            assert refresher is not None
            order = RefreshOrder(
                dataset.route,
                event.raw_query_string,
                accept,
                owner,
                consumer.id if consumer else None,
                consumer.tier if consumer else None,
            )
            refresher.invoke_async(order.event())

        served = self.results.serve(
            self._request(
                query,
                key,
                consumer,
                remaining_ms,
                refresh_later=refresh_later if refresher is not None else None,
            )
        )
        annotate(cache_outcome=served.outcome.plain.value)
        if served.error is not None:
            logger.warning(
                "served stale after a failure",
                extra={
                    "error": type(served.error).__name__,
                    "statement_id": getattr(served.error, "statement_id", None),
                    "error_code": getattr(served.error, "error_code", None),
                },
            )
        return self._respond(served, query, event.raw_query_string, headers), served.outcome

    def _respond(
        self, served: Served, query: Query, raw_query: str, request: Mapping[str, str]
    ) -> Response[str | bytes | GzipJson] | Response[str]:
        """The HTTP answer for what the cache served: a 303 to the object, a 304 or the body."""
        link: dict[str, str] = {}
        if served.entry.has_more:
            next_url = _next_page(self.dataset, query, served.entry.row_count, raw_query)
            link["Link"] = f'<{next_url}>; rel="next"'
        if served.location is not None:
            return see_other(served.location, {**by_reference_headers(served), **link})
        gzipped = accepts_gzip(request.get("accept-encoding"))
        headers = caching_headers(self.dataset.freshness.policy, served, gzipped=gzipped) | link
        if matches(request.get("if-none-match"), served.entry.etag):
            return not_modified(headers)
        return encoded_response(
            served.gzip_body,
            served.entry.content_type,
            gzipped=gzipped,
            headers=headers,
        )

    def refresh(self, order: RefreshOrder, remaining_ms: int) -> str | None:
        """Run a refresh another invocation handed off (handler.refresh); its outcome."""
        if order.rollup is not None:
            rollup = next((r for r in self.dataset.rollups if r.name == order.rollup), None)
            if rollup is None or self.rollups is None:
                return None
            request = self._rollup_request(rollup)
            refreshed = self.rollups.refresh(request, order.owner, self._deadline(remaining_ms))
            return Outcome.REFRESHED if refreshed else None
        if not isinstance(self.results, ResultCache):
            return None
        consumer = Consumer(order.consumer, order.tier or "standard") if order.consumer else None
        query, key = self._parsed(order.query, order.accept)
        return self.results.refresh(self._request(query, key, consumer, remaining_ms), order.owner)

    def _request(
        self,
        query: Query,
        key: str,
        consumer: Consumer | None,
        remaining_ms: int,
        *,
        refresh_later: Callable[[str], None] | None = None,
    ) -> CacheRequest:
        dataset, warehouse = self.dataset, self.warehouse

        def compute(budget: Budget) -> Page:
            from handler.datasets import fetch_page  # the miss path: see the docstring

            return fetch_page(warehouse(), dataset, query, Deadline.after(budget.remaining()))

        def derive(budget: Budget, generation: int | None) -> Derived | None:
            return self._derived(query, budget, generation)

        deadline = self._deadline(remaining_ms)
        return CacheRequest(
            dataset=dataset.name,
            key=key,
            freshness=dataset.freshness.policy,
            compute=compute,
            budget=deadline,
            admit=_admitted_for(self.gate, dataset.name, consumer),
            refresh_later=refresh_later,
            inline_body_max=_body_max(self.inline_response_max_bytes),
            derive=derive if self.rollups is not None else None,
        )

    def _deadline(self, remaining_ms: int) -> Deadline:
        timing = self.timing
        return Deadline.after(
            budget_seconds(remaining_ms, timing.reserve_seconds, timing.max_budget_seconds)
        )

    def _derived(self, query: Query, budget: Budget, generation: int | None) -> Derived | None:
        """The answer from the first roll-up that answers `query`; None: run its statement."""
        from handler.datasets import derive_page
        from handler.rollups import answering_rollup

        rollup = answering_rollup(self.dataset, query)
        if rollup is None or self.rollups is None:
            return None
        try:
            obtained = self.rollups.obtain(self._rollup_request(rollup), generation, budget)
        except RollupOversize:
            return None
        held = obtained.value
        if not (query.aggregated or held.unique_rows):
            return None  # without a unique row key, raw rows' order is the warehouse's own
        page = derive_page(self.dataset, rollup, held, query)
        return Derived(page, obtained.vintage, obtained.timings_ms)

    def _rollup_request(self, rollup: Rollup) -> RollupRequest[HeldRollup]:
        from handler.datasets import decode_rollup, fetch_rollup

        dataset, warehouse, gate, refresher = (
            self.dataset,
            self.warehouse,
            self.gate,
            self.refresher,
        )

        def fetch(budget: Budget) -> Fetched[HeldRollup]:
            return fetch_rollup(warehouse(), dataset, rollup, Deadline.after(budget.remaining()))

        def admit() -> None:
            if gate.statements is not None:
                gate.statements.admit_rollup(dataset.name)

        def refresh_later(owner: str) -> None:
            assert refresher is not None
            order = RefreshOrder(dataset.route, "", None, owner, rollup=rollup.name)
            refresher.invoke_async(order.event())

        return RollupRequest(
            dataset=dataset.name,
            key=rollup_key(
                self.catalogue_version,
                dataset.name,
                dataset.digest,
                rollup.model_dump(mode="json"),
            ),
            freshness=dataset.freshness.policy,
            fetch=fetch,
            decode=lambda body: decode_rollup(dataset, body),
            admit=admit,
            refresh_later=refresh_later if refresher is not None else None,
        )


def _body_max(response_max_bytes: int | None) -> int | None:
    # Lambda base64-encodes binary and gzip bodies: a body of n bytes may take 4n/3.
    return None if response_max_bytes is None else response_max_bytes * 3 // 4


def _admitted_for(gate: Gate, dataset: str, consumer: Consumer | None) -> Callable[[], None]:
    def admit() -> None:
        if gate.statements is not None:
            gate.statements.admit(
                dataset, consumer.id if consumer else None, consumer.tier if consumer else None
            )

    return admit


def _next_page(dataset: Dataset, query: Query, row_count: int, raw_query: str) -> str:
    # Relative to the request URL (RFC 8288): behind CloudFront the Host header the
    # origin sees is the Function URL's, not the one the client used.
    params = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k != "offset"]
    params.append(("offset", str(query.offset + row_count)))
    return f"{dataset.route}?{urlencode(params)}"
