"""The OpenAPI face of a dataset: route signature and documented responses, from the catalogue.

Powertools derives OpenAPI parameters (and its first validation pass) from a route
function's signature, so each dataset route gets a signature built from its filters.
`handler.query` then does the full validation (repeats, unknown names, ranges).
"""

from __future__ import annotations

import inspect
import re
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from handler.catalogue import ColumnType, Dataset, Filter
from handler.query import MAX_OFFSET

_JSON_SCHEMA: dict[ColumnType, dict[str, Any]] = {
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "decimal": {"type": "string", "format": "decimal"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"},
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "parameter": {"type": "string"},
                "request_id": {"type": "string"},
            },
        }
    },
}

_ERRORS = {
    400: "Invalid query: unknown, repeated or malformed parameter (named in `error.parameter`).",
    406: "Neither JSON nor CSV is acceptable to the client.",
    502: "The warehouse failed the statement or sent unreadable data.",
    503: "The warehouse is unavailable or throttling; see Retry-After.",
    504: "The warehouse did not answer within the time budget.",
}


def endpoint_signature(dataset: Dataset) -> inspect.Signature:
    """A keyword-only signature with one annotated query parameter per accepted name."""
    params = [_filter_param(f) for f in dataset.filters]
    field_names = "|".join(re.escape(n) for n in dataset.column_names)
    params += [
        _param(
            "fields",
            str,
            Query(
                pattern=f"^({field_names})(,({field_names}))*$",
                description=f"Comma-separated columns to return: {', '.join(dataset.column_names)}.",
            ),
        ),
        _param(
            "limit",
            int,
            Query(
                ge=1,
                le=dataset.limit.maximum,
                description=f"Rows per page (default {dataset.limit.default}).",
            ),
        ),
        _param("offset", int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")),
        _param(
            "format",
            Literal["json", "csv"],
            Query(description="Output format; `Accept: text/csv` also selects CSV."),
        ),
    ]
    return inspect.Signature(params)


def _filter_param(spec: Filter) -> inspect.Parameter:
    description = spec.description or f"Filter on {spec.name}."
    if spec.type == "string" or spec.pattern is not None:
        query = Query(
            min_length=1,
            max_length=spec.max_length,
            pattern=spec.pattern,
            description=description,
        )
        return _param(spec.name, str, query)
    python_type: type = {"integer": int, "number": float, "date": str}[spec.type]
    query = Query(ge=spec.minimum, le=spec.maximum, description=description)
    if spec.type == "date":
        query = Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description=description)
    return _param(spec.name, python_type, query)


def _param(name: str, annotation: Any, query: Query) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        # Not Optional: an absent parameter takes the default without validation, and a
        # `null` alternative would only confuse OpenAPI readers (a query value is never null).
        annotation=Annotated[annotation, query],
    )


def row_schema(dataset: Dataset) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            # OpenAPI 3.1: nullability is a type list.
            c.name: {
                **_JSON_SCHEMA[c.type],
                "type": [_JSON_SCHEMA[c.type]["type"], "null"],
                "description": c.description,
            }
            for c in dataset.columns
        },
        "additionalProperties": False,
    }


def responses(dataset: Dataset) -> dict[int, OpenAPIResponse]:
    documented: dict[int, OpenAPIResponse] = {
        200: {
            "description": f"{dataset.title}: a JSON array of rows, or CSV. A `Link` header with "
            '`rel="next"` points at the next page when more rows exist.',
            "content": {
                "application/json": {"schema": {"type": "array", "items": row_schema(dataset)}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
    }
    for status, description in _ERRORS.items():
        documented[status] = {
            "description": description,
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
    return documented


def health_responses() -> dict[int, OpenAPIResponse]:
    return {
        200: {
            "description": "The function is up.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"status": {"const": "ok"}},
                        "required": ["status"],
                    }
                }
            },
        },
        500: {
            "description": "Unexpected failure.",
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        },
    }
