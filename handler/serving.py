"""One dataset request: validate → key → cache (→ warehouse on a miss) → response.

Nothing here imports polars: a cache hit is served from stored gzip bytes.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from cache.headers import caching_headers, matches
from cache.keys import cache_key
from handler.catalogue import Dataset
from handler.datasets import fetch_page
from handler.query import Query, parse_query
from handler.responses import GzipJson, accepts_gzip, encoded_response, not_modified
from handler.services import Services
from handler.warehouse import Deadline, budget_seconds

logger = Logger(service="lakegate", child=True)


def serve_dataset(
    dataset: Dataset,
    catalogue_version: int,
    event: LambdaFunctionUrlEvent,
    remaining_ms: int,
    services: Services,
) -> Response[str | bytes | GzipJson] | Response[str]:
    query = parse_query(dataset, event.raw_query_string, event.headers.get("accept"))
    key = cache_key(dataset, query, catalogue_version)
    warehouse = services.settings.warehouse
    deadline = Deadline.after(
        budget_seconds(remaining_ms, warehouse.reserve_seconds, warehouse.max_budget_seconds)
    )
    served = services.results.serve(
        dataset.name,
        key,
        dataset.freshness,
        lambda budget: fetch_page(services.warehouse, dataset, query, budget),
        deadline,
    )
    if served.error is not None:
        logger.warning(
            "served stale after a warehouse failure",
            extra={
                "statement_id": served.error.statement_id,
                "error_code": served.error.error_code,
            },
        )
    gzipped = accepts_gzip(event.headers.get("accept-encoding"))
    headers = caching_headers(dataset.freshness, served, gzipped=gzipped)
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
