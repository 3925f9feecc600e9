"""The HTTP surface: one route per catalogue dataset, plus health, Swagger and error mapping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from handler import openapi
from handler.admin.routes import add_admin_routes
from handler.catalogue import Catalogue, Dataset
from handler.errors import (
    BadRequest,
    ConfigurationError,
    LakegateError,
    NotFound,
    UpstreamError,
)
from handler.query import parse_query
from handler.responses import error_response, internal_error, serialize
from handler.services import Services
from handler.serving import serve_dataset

logger = Logger(service="lakegate", child=True)

API_VERSION = "1.0.0"


class Resolver(LambdaFunctionUrlResolver):
    """Powertools' resolver, minus the 422 it documents on every validated route.

    Validation failures are answered 400 with our error body (see _add_error_handlers),
    so an OpenAPI document promising 422 would mislead clients and contract tests.
    """

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for item in (schema.paths or {}).values():
            for method in ("get", "post", "put", "patch", "delete"):
                operation = getattr(item, method, None)
                if operation is not None and operation.responses:
                    operation.responses.pop(422, None)
                    operation.responses.pop("422", None)
        return schema


def create_app(catalogue: Catalogue, services: Callable[[], Services]) -> LambdaFunctionUrlResolver:
    """Build the resolver. `services` is called on first use, so start-up stays cheap."""
    # Powertools types the serializer as dict -> str; ours also passes our own bodies through.
    app = Resolver(
        enable_validation=True, serializer=cast(Callable[[dict[Any, Any]], str], serialize)
    )

    for dataset in catalogue.datasets:
        _add_dataset_route(app, catalogue, dataset, services)
    add_admin_routes(app, catalogue, services)

    @app.get("/healthz", summary="Liveness check", responses=openapi.health_responses())
    def healthz() -> Response[str]:
        return Response(
            status_code=200,
            content_type="application/json",
            body='{"status":"ok"}',
            headers={"Cache-Control": "no-store"},
        )

    app.enable_swagger(
        path="/swagger",
        title="lakegate",
        version=API_VERSION,
        description="Cached, read-only access to lakehouse datasets.",
        compress=True,
    )
    _add_error_handlers(app, catalogue)
    return app


def _add_dataset_route(
    app: LambdaFunctionUrlResolver,
    catalogue: Catalogue,
    dataset: Dataset,
    services: Callable[[], Services],
) -> None:
    def endpoint(**_validated: Any) -> Response[Any]:
        # Powertools validated the parameters it knows; serve_dataset re-reads the raw
        # query string to also refuse unknown and repeated ones.
        context = app.lambda_context
        remaining_ms = context.get_remaining_time_in_millis() if context else 30_000
        return serve_dataset(
            dataset, catalogue.version, app.current_event, remaining_ms, services()
        )

    endpoint.__name__ = f"get_{dataset.name}"
    endpoint.__doc__ = dataset.description
    endpoint.__signature__ = openapi.endpoint_signature(dataset)  # type: ignore[attr-defined]
    app.get(
        dataset.route,
        summary=dataset.title,
        description=dataset.description,
        responses=openapi.responses(dataset),
        tags=["datasets"],
        operation_id=f"get_{dataset.name}",
    )(endpoint)


def _add_error_handlers(app: LambdaFunctionUrlResolver, catalogue: Catalogue) -> None:
    def request_id() -> str | None:
        try:
            return str(app.current_event.request_context.request_id)
        except (AttributeError, KeyError, TypeError):
            return None

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        # Powertools' first validation pass; reported in our shape, never as its 422.
        event = app.current_event
        return error_response(
            _bad_request_from(exc, catalogue, event.path, event.raw_query_string), request_id()
        )

    @app.exception_handler(LakegateError)
    def known_failure(exc: LakegateError) -> Response[str]:
        if isinstance(exc, UpstreamError):
            logger.warning(
                "upstream failure",
                extra={
                    "error": type(exc).__name__,
                    "detail": exc.detail,
                    "statement_id": exc.statement_id,
                    "error_code": exc.error_code,
                },
            )
        elif isinstance(exc, ConfigurationError):
            logger.error("configuration error", extra={"detail": str(exc)})
        return error_response(exc, request_id())

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return internal_error(request_id())

    @app.not_found
    def not_found(exc: Exception) -> Response[str]:
        return error_response(NotFound("No such route."), request_id())


def _bad_request_from(
    exc: RequestValidationError, catalogue: Catalogue, path: str, raw_query: str
) -> BadRequest:
    """Our own parser's precise message when it agrees; a generic one naming the parameter if not."""
    dataset = next((d for d in catalogue.datasets if d.route == path), None)
    if dataset is not None:
        try:
            parse_query(dataset, raw_query)
        except BadRequest as precise:
            return precise
        except LakegateError:
            pass
    errors = list(exc.errors())
    location = tuple(errors[0].get("loc", ())) if errors else ()
    parameter = str(location[-1]) if len(location) >= 2 else None
    if parameter is None:
        return BadRequest("invalid_request", "The request is invalid.")
    return BadRequest("invalid_parameter", f"Parameter {parameter!r} is invalid.", parameter)
