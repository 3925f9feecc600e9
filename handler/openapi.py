"""The OpenAPI face of a dataset: its parameters and documented responses, from the catalogue.

Dataset routes take no framework-validated arguments: their parameters are published
from the dataset's one parameter model (`handler.parameters`), the same model that
`handler.query` parses requests with, by `Resolver.get_openapi_schema`.

What Swagger UI builds from the document must work as published: every example is a
value of its own schema (lists as arrays, integers as integers), together they are one
request that answers 200 (`Parameters.examples`), and every status and header a data
operation answers with is documented, errors in lakegate's own body (`Error`), never
Powertools' 422 validation schemas, which no route answers with.

The document is built only when asked for (`/swagger`, or `get_openapi_schema`), and so
are Powertools' OpenAPI models: importing them takes ~100 ms, which no cold start of a
data request should pay for (tests/e2e/test_cold_start.py checks they stay unloaded).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseHeader,
)
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from cache import Outcome
from handler.catalogue import Catalogue, ColumnType, Dataset
from handler.parameters import parameters_of
from handler.responses import PARQUET
from handler.vocabulary import group_column

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, Parameter

_JSON_SCHEMA: dict[ColumnType, dict[str, Any]] = {
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "decimal": {"type": "string", "format": "decimal"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"},
}

# lakegate's one error body (handler.responses writes it), a component every error refers to.
ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "What went wrong, for programs."},
                "message": {"type": "string", "description": "What went wrong, for people."},
                "parameter": {
                    "type": "string",
                    "description": "The query parameter at fault (4xx on a parameter).",
                },
                "request_id": {"type": "string"},
            },
        }
    },
}
ERROR_SCHEMA: dict[str, Any] = {"$ref": "#/components/schemas/Error"}

_ERRORS = {
    400: "Invalid query: unknown, repeated, malformed or conflicting parameter (named in "
    "`error.parameter`).",
    401: "API key missing (on a dataset that needs one), unknown or revoked.",
    403: "The API key does not cover this dataset.",
    406: "Neither JSON nor CSV is acceptable to the client.",
    429: "This consumer's share of the dataset's statements, or its tier's misses, is spent "
    "for the minute (cached answers still flow); see Retry-After.",
    502: "The warehouse failed the statement or sent unreadable data.",
    503: "The warehouse is unavailable or throttling, or the dataset's statements for the "
    "minute are spent; see Retry-After.",
    504: "The warehouse did not answer within the time budget; see Retry-After.",
}
_RETRY_AFTER = (429, 503, 504)


def _header(description: str, **schema: Any) -> OpenAPIResponseHeader:
    return {"description": description, "schema": {"type": "string", **schema}}


_ANSWER_HEADERS: dict[str, OpenAPIResponseHeader] = {
    "Cache-Control": _header("How long browsers and CloudFront may keep the answer."),
    "ETag": _header("The answer's validator: send it back in `If-None-Match` for a 304."),
    "Age": _header("Seconds since the answer was made.", pattern="^[0-9]+$"),
    "Cache-Status": _header("What the caches did (RFC 9211): `lakegate; hit; ttl=12`."),
    "X-Row-Count": _header("Rows in this answer.", pattern="^[0-9]+$"),
    "Link": _header('The next page, `<…>; rel="next"`, when more rows exist.'),
}


class Resolver(LambdaFunctionUrlResolver):
    """Powertools' resolver, publishing each dataset's parameters and no 422.

    Validation failures are answered 400 with our error body, so an OpenAPI document
    promising 422 would mislead clients and contract tests.
    """

    def __init__(self, catalogue: Catalogue, **kwargs: Any) -> None:
        self._methods: dict[str, set[str]] = {}
        self._examples: dict[tuple[str, str], Any] = {}
        super().__init__(**kwargs)
        self._catalogue = catalogue
        self._event: Any = None
        self._context: Any = None
        # What the cache did for the request being resolved, as its data route reports it
        # (None: not a data answer): the composition root times the answer by it.
        self.served: Outcome | None = None
        # Where the document will be served, and its settings, until first asked for.
        self._unpublished: tuple[str, Callable[[], dict[str, Any]]] | None = None

    def route(self, rule: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        # Every route's methods, remembered as they are declared: a request for a path
        # that is a route, with another method, is a 405 naming them, not a 404.
        methods = [method] if isinstance(method, str) else list(method)
        self._methods.setdefault(rule, set()).update(m.upper() for m in methods)
        return super().route(rule, method, *args, **kwargs)

    def publish_document(self, path: str, settings: Callable[[], dict[str, Any]]) -> None:
        """Serve the OpenAPI document and Swagger UI at GET `path` (Powertools'
        `enable_swagger`), configured with `settings()` (`configure_openapi`'s arguments):
        both are set up the first time the document is asked for."""
        self._unpublished = (path, settings)
        self._methods.setdefault(path, set()).add("GET")

    def _publish(self) -> None:
        if self._unpublished is None:
            return
        path, settings = self._unpublished
        self._unpublished = None
        self.configure_openapi(**settings())
        self.enable_swagger(path=path, compress=True)

    def example(self, path: str, parameter: str, value: Any) -> None:
        """Publish `value` as the example of a route's declared parameter (Swagger UI fills
        it in): Powertools' own `openapi_examples` cannot name a value known at run time."""
        self._examples[(path, parameter)] = value

    def methods_at(self, path: str) -> tuple[str, ...]:
        """The methods the route at `path` answers, sorted; () where no route is."""
        return tuple(sorted(self._methods.get(path, ())))

    # Powertools keeps the current event and context on BaseRouter, the class, where every
    # resolver of the process would share them. Each of ours keeps its own: a container
    # has one resolver and runs one invocation at a time (in Lambda, and in the local
    # stand-in, local.function_url, whose containers are threads of one process).
    # Powertools reads them through `self`, so its middlewares see the same.
    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self.served = None
        if self._unpublished is not None and event.get("rawPath") == self._unpublished[0]:
            self._publish()
        self._context = context
        return super().resolve(event, context)

    def _to_proxy_event(self, event: dict[str, Any]) -> Any:
        # Powertools' resolve builds the request's event here, once: it is this one's.
        self._event = _Event(event, self._json_body_deserializer)
        return self._event

    @property
    def current_event(self) -> Any:
        return self._event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._event = value

    @property
    def lambda_context(self) -> Any:
        return self._context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._context = value

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        from aws_lambda_powertools.event_handler.openapi.models import Schema

        self._publish()
        schema = super().get_openapi_schema(*args, **kwargs)
        if schema.components is not None:
            # Powertools' validation schemas describe its 422, which no route answers.
            schema.components.schemas = {"Error": Schema.model_validate(ERROR_BODY)}
        routes = {d.route: d for d in self._catalogue.datasets}
        for path, item in (schema.paths or {}).items():
            for method in ("get", "post", "put", "patch", "delete"):
                operation = getattr(item, method, None)
                if operation is None:
                    continue
                if operation.responses:
                    operation.responses.pop(422, None)
                    operation.responses.pop("422", None)
                if method == "get" and path in routes:
                    operation.parameters = query_parameters(routes[path])
                for parameter in operation.parameters or ():
                    if (path, parameter.name) in self._examples:
                        parameter.example = self._examples[(path, parameter.name)]
        return schema


class _Event(LambdaFunctionUrlEvent):
    """A Function URL event whose headers are copied once: Powertools' `headers` builds a
    new case-insensitive copy each time it is read, five times for every hit."""

    @cached_property
    def headers(self) -> dict[str, str]:
        return super().headers


def header_key_scheme(header: str, description: str) -> APIKey:
    """A secret sent in a request header, as the document declares it (built with the
    document: Powertools' OpenAPI models load only then)."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    return APIKey(name=header, in_=APIKeyIn.header, description=description)


def query_parameters(dataset: Dataset) -> list[Parameter]:
    """The dataset's query parameters as OpenAPI Parameter objects, from its one model."""
    from aws_lambda_powertools.event_handler.openapi.models import Parameter

    published = []
    declared = parameters_of(dataset)
    for name, schema in declared.json_schema().items():
        description = schema.pop("description", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema,
        }
        if schema["type"] == "array":
            # `state[in]=Ohio,Texas`: one comma-separated value, not `state[in]=Ohio&…`.
            parameter.update(style="form", explode=False)
        if name in declared.examples:
            # A value of the schema (a list as an array): what Swagger UI fills in and sends.
            parameter["example"] = declared.examples[name]
        published.append(Parameter.model_validate(parameter))
    return published


def row_schema(dataset: Dataset) -> dict[str, Any]:
    """A row: raw columns (those `fields` picks), or group items and measures."""
    properties = {c.name: _nullable(c.type, c.description) for c in dataset.columns}
    for dimension in dataset.dimensions:
        column = dataset.column(dimension.column)
        for token in dimension.tokens()[1:]:
            period = token.partition(":")[2]
            properties[group_column(token)] = _nullable(
                column.type, f"The {period} a row's {column.name} falls in (its first day)."
            )
    for measure in dataset.measures:
        properties[measure.name] = _nullable(
            dataset.measure_type(measure), measure.description or f"Measure {measure.name}."
        )
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _nullable(kind: ColumnType, description: str) -> dict[str, Any]:
    # OpenAPI 3.1: nullability is a type list.
    return {
        **_JSON_SCHEMA[kind],
        "type": [_JSON_SCHEMA[kind]["type"], "null"],
        "description": description,
    }


def responses(dataset: Dataset) -> dict[int, OpenAPIResponse]:
    rows: dict[str, Any] = {
        "application/json": {"schema": {"type": "array", "items": row_schema(dataset)}},
        "text/csv": {"schema": {"type": "string"}},
    }
    if dataset.export is not None:
        rows[PARQUET] = {"schema": {"type": "string", "format": "binary"}}
    documented: dict[int, OpenAPIResponse] = {
        200: {
            "description": f"{dataset.title}: a JSON array of rows, or CSV"
            + (" (or Parquet, for an export)" if dataset.export is not None else "")
            + '. A `Link` header with `rel="next"` points at the next page when more rows exist.',
            "headers": _ANSWER_HEADERS,
            "content": rows,
        },
        304: {
            "description": "Not modified: the answer is the one the `If-None-Match` validator "
            "names; nothing is sent again.",
            "headers": {k: v for k, v in _ANSWER_HEADERS.items() if k not in ("X-Row-Count",)},
        },
    }
    if dataset.export is not None:
        documented[303] = {
            "description": "An export too large to send in line: `Location` is a presigned "
            "URL of the answer, valid for minutes, which downloads as "
            f"`{dataset.name}.csv` (or `.json`, `.parquet`: `Content-Disposition`), "
            "gzip-encoded: `curl -L --compressed -OJ '…'` saves it decoded. The redirect "
            "itself is never cached (`Cache-Control: no-store`); ask again for a fresh URL.",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        }
    for status, description in _ERRORS.items():
        documented[status] = {
            "description": description,
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        if status in _RETRY_AFTER:
            documented[status]["headers"] = {
                "Retry-After": _header("Seconds to wait before asking again.", pattern="^[0-9]+$")
            }
    return documented


def discovery_responses() -> dict[int, OpenAPIResponse]:
    """`GET /v1` (handler.discovery): the datasets, cached like data."""
    dataset = {
        "type": "object",
        "required": ["name", "title", "route", "freshness", "access", "operation_id"],
        "properties": {
            "name": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "route": {"type": "string", "description": "GET it for rows: `/v1/drivers`."},
            "freshness": {
                "type": "object",
                "properties": {
                    "ttl_seconds": {"type": "integer"},
                    "stale_seconds": {"type": "integer"},
                },
            },
            "access": {"enum": ["public", "key"], "description": "`key`: send `x-api-key`."},
            "operation_id": {"type": "string"},
            "openapi": {"type": "string", "description": "Its operation in this document."},
            "swagger": {"type": "string", "description": "Its operation in Swagger UI."},
            "export": {"type": "object", "properties": {"maximum_rows": {"type": "integer"}}},
        },
    }
    headers = {k: v for k, v in _ANSWER_HEADERS.items() if k in ("Cache-Control", "ETag")}
    return {
        200: {
            "description": "The datasets this API serves.",
            "headers": headers,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["datasets"],
                        "properties": {
                            "datasets": {"type": "array", "items": dataset},
                            "openapi": {"type": "string"},
                            "swagger": {"type": "string"},
                        },
                    }
                }
            },
        },
        304: {"description": "Not modified (`If-None-Match`).", "headers": headers},
    }


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
