"""One dataset request: validate → key → cache (→ warehouse on a miss) → response.

Nothing here imports polars: a cache hit is served from stored gzip bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from cache import (
    Budget,
    CacheRequest,
    ResultCache,
    StatementBudget,
    UncachedResults,
    cache_key,
)
from handler.cache_headers import caching_headers, matches
from handler.catalogue import Dataset
from handler.consumers import Consumers, authorise
from handler.datasets import Page, fetch_page
from handler.query import Query, parse_query
from handler.responses import GzipJson, accepts_gzip, encoded_response, not_modified
from handler.settings import WarehouseSettings
from handler.warehouse import Deadline, WarehouseClient, budget_seconds

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
    warehouse: WarehouseClient
    results: ResultCache | UncachedResults
    timing: WarehouseSettings  # reserve and cap of the warehouse's time budget
    gate: Gate

    def serve(
        self, event: LambdaFunctionUrlEvent, remaining_ms: int
    ) -> Response[str | bytes | GzipJson] | Response[str]:
        dataset = self.dataset
        # Who asks comes first, as at the edge: a stranger learns nothing from a 400.
        consumer = self.gate.consumers.identify(event.headers)
        authorise(dataset, consumer, require_keys=self.gate.require_keys)
        query = parse_query(dataset, event.raw_query_string, event.headers.get("accept"))
        deadline = Deadline.after(
            budget_seconds(
                remaining_ms, self.timing.reserve_seconds, self.timing.max_budget_seconds
            )
        )

        def compute(budget: Budget) -> Page:
            return fetch_page(self.warehouse, dataset, query, Deadline.after(budget.remaining()))

        def admit() -> None:
            if self.gate.statements is not None:
                self.gate.statements.admit(
                    dataset.name,
                    consumer.id if consumer else None,
                    consumer.tier if consumer else None,
                )

        served = self.results.serve(
            CacheRequest(
                dataset=dataset.name,
                key=cache_key(query.canonical(dataset, self.catalogue_version)),
                freshness=dataset.freshness.policy,
                compute=compute,
                budget=deadline,
                admit=admit,
            )
        )
        if served.error is not None:
            logger.warning(
                "served stale after a failure",
                extra={
                    "error": type(served.error).__name__,
                    "statement_id": getattr(served.error, "statement_id", None),
                    "error_code": getattr(served.error, "error_code", None),
                },
            )
        gzipped = accepts_gzip(event.headers.get("accept-encoding"))
        headers = caching_headers(dataset.freshness.policy, served, gzipped=gzipped)
        if served.entry.has_more:
            next_url = _next_page(dataset, query, served.entry.row_count, event.raw_query_string)
            headers["Link"] = f'<{next_url}>; rel="next"'
        if matches(event.headers.get("if-none-match"), served.entry.etag):
            return not_modified(headers)
        return encoded_response(
            served.gzip_body,
            served.entry.content_type,
            gzipped=gzipped,
            headers=headers,
        )


def _next_page(dataset: Dataset, query: Query, row_count: int, raw_query: str) -> str:
    # Relative to the request URL (RFC 8288): behind CloudFront the Host header the
    # origin sees is the Function URL's, not the one the client used.
    params = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k != "offset"]
    params.append(("offset", str(query.offset + row_count)))
    return f"{dataset.route}?{urlencode(params)}"
