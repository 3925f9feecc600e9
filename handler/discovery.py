"""`GET /v1`: what the API serves, for a client finding its way in.

Each dataset with its name, title, description, route, freshness, who may read it and
where the OpenAPI document describes its operation. Made once per container from the
catalogue (only a deploy changes it) and answered like data: `Cache-Control` from the
shortest freshness of any dataset, a strong `ETag` of the body and 304 to a matching
`If-None-Match`, so browsers, CloudFront and the local edge keep it as they keep answers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from aws_lambda_powertools.event_handler import Response

from handler.cache_headers import matches
from handler.catalogue import Catalogue, Dataset
from handler.responses import JSON, not_modified

ROUTE = "/v1"
SWAGGER = "/swagger"
OPENAPI = "/swagger?format=json"


@dataclass(frozen=True, slots=True)
class Discovery:
    """The answer to `GET /v1`, made once."""

    body: str
    etag: str
    cache_control: str

    def respond(self, if_none_match: str | None) -> Response[str]:
        headers = {"Cache-Control": self.cache_control, "ETag": self.etag}
        if matches(if_none_match, self.etag):
            return not_modified(headers)
        return Response(200, JSON, self.body, {**headers, "Vary": "Accept, Accept-Encoding"})


def discovery(catalogue: Catalogue, *, require_keys: bool = False) -> Discovery:
    """The catalogue as a client may know it (never a table or a warehouse column)."""
    document = {
        "datasets": [_dataset(d, require_keys=require_keys) for d in catalogue.datasets],
        "openapi": OPENAPI,
        "swagger": SWAGGER,
    }
    body = orjson.dumps(document).decode()
    ttl = min(d.freshness.ttl_seconds for d in catalogue.datasets)
    return Discovery(
        body=body,
        etag=f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"',
        cache_control=f"public, max-age={ttl}, s-maxage={ttl}",
    )


def operation_id(dataset: Dataset) -> str:
    """The dataset's operation in the OpenAPI document (handler.routes names it so)."""
    return f"get_{dataset.name}"


def _dataset(dataset: Dataset, *, require_keys: bool) -> dict[str, Any]:
    # A JSON Pointer into the document (RFC 6901: "/" is "~1"), and Swagger UI's anchor.
    pointer = dataset.route.replace("~", "~0").replace("/", "~1")
    described: dict[str, Any] = {
        "name": dataset.name,
        "title": dataset.title,
        "description": dataset.description,
        "route": dataset.route,
        "freshness": {
            "ttl_seconds": dataset.freshness.ttl_seconds,
            "stale_seconds": dataset.freshness.stale_seconds,
        },
        "access": "key" if require_keys else dataset.access,
        "operation_id": operation_id(dataset),
        "openapi": f"{OPENAPI}#/paths/{pointer}/get",
        "swagger": f"{SWAGGER}#/datasets/{operation_id(dataset)}",
    }
    if dataset.export is not None:
        described["export"] = {"maximum_rows": dataset.export.maximum_rows}
    return described
