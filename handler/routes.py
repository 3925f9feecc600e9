"""The HTTP surface: one route per catalogue dataset, the admin routes, health, Swagger, errors.

Every error a route raises, of any kind, is answered from the one table in
`handler.responses`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import CORSConfig, LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

from handler import openapi
from handler.admin.routes import ADMIN_SCHEME, ADMIN_SECURITY_SCHEME, add_admin_routes
from handler.catalogue import Catalogue, Dataset
from handler.consumers import API_KEY_HEADER
from handler.errors import BadRequest, ConfigurationError, MethodNotAllowed, NotFound
from handler.responses import error_response, serialize, status_of
from handler.serving import DatasetServer

if TYPE_CHECKING:
    from handler.container import Wiring

logger = Logger(service="lakegate", child=True)

API_VERSION = "1.0.0"


def create_app(
    catalogue: Catalogue,
    wiring: Wiring | ConfigurationError,
    servers: Mapping[str, DatasetServer] | None = None,
) -> LambdaFunctionUrlResolver:
    """The resolver, each route holding what it needs; `wiring` may be the reason there is none.

    `servers`: the dataset servers by route, when the caller keeps them too (the
    composition root hands them refresh orders); built from `wiring` otherwise."""
    if servers is None and not isinstance(wiring, ConfigurationError):
        servers = dataset_servers(catalogue, wiring)
    # Powertools types the serializer as dict -> str; ours also passes our own bodies through.
    origins = () if isinstance(wiring, ConfigurationError) else wiring.settings.gateway.cors_origins
    app = openapi.Resolver(
        catalogue,
        enable_validation=True,
        serializer=cast(Callable[[dict[Any, Any]], str], serialize),
        cors=_cors(origins),
    )
    require_keys = not isinstance(wiring, ConfigurationError) and wiring.gate.require_keys
    for dataset in catalogue.datasets:
        keyed = require_keys or dataset.access == "key"
        server = (
            wiring if isinstance(wiring, ConfigurationError) else (servers or {})[dataset.route]
        )
        _add_dataset_route(app, dataset, server, keyed=keyed)
    add_admin_routes(
        app, catalogue, wiring if isinstance(wiring, ConfigurationError) else wiring.admin
    )

    @app.get("/healthz", summary="Liveness check", responses=openapi.health_responses())
    def healthz() -> Response[str]:
        return Response(
            status_code=200,
            content_type="application/json",
            body='{"status":"ok"}',
            headers={"Cache-Control": "no-store"},
        )

    # The document's settings once, for /swagger and for anyone asking the resolver.
    app.configure_openapi(
        title="lakegate",
        version=API_VERSION,
        description="Cached, read-only access to lakehouse datasets.",
        security_schemes={
            API_KEY_SCHEME: API_KEY_SECURITY_SCHEME,
            ADMIN_SCHEME: ADMIN_SECURITY_SCHEME,
        },
    )
    app.enable_swagger(path="/swagger", compress=True)
    _add_error_handlers(app)
    return app


API_KEY_SCHEME = "apiKey"
API_KEY_SECURITY_SCHEME = APIKey(
    name=API_KEY_HEADER,
    in_=APIKeyIn.header,
    description="A consumer's API key (`lakegate keys create`): required on datasets that "
    "declare it (missing, unknown or revoked → 401; not for this dataset → 403).",
)


def _cors(origins: tuple[str, ...]) -> CORSConfig | None:
    """The same CORS answers as the edge's: allowed origins, no credentials, ever."""
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=[API_KEY_HEADER, "if-none-match", "accept"],
        max_age=600,
        allow_credentials=False,
    )


def dataset_servers(catalogue: Catalogue, wiring: Wiring) -> dict[str, DatasetServer]:
    """One server per dataset route, each handed exactly what it needs."""
    return {
        dataset.route: DatasetServer(
            dataset,
            catalogue.version,
            wiring.warehouse,
            wiring.results,
            wiring.settings.warehouse,
            wiring.gate,
            wiring.refresher,
            wiring.settings.gateway.inline_response_max_bytes,
            wiring.rollups,
        )
        for dataset in catalogue.datasets
    }


def _add_dataset_route(
    app: LambdaFunctionUrlResolver,
    dataset: Dataset,
    server: DatasetServer | ConfigurationError,
    *,
    keyed: bool,
) -> None:
    def endpoint() -> Response[Any]:
        # No framework-validated arguments: handler.query parses the raw query string once.
        if isinstance(server, ConfigurationError):
            raise server
        context = app.lambda_context
        remaining_ms = context.get_remaining_time_in_millis() if context else 30_000
        return server.serve(app.current_event, remaining_ms)

    endpoint.__name__ = f"get_{dataset.name}"
    endpoint.__doc__ = dataset.description
    # No return annotation for Powertools to see: it would re-serialize our gzip bodies.
    endpoint.__signature__ = inspect.Signature()  # type: ignore[attr-defined]
    app.get(
        dataset.route,
        summary=dataset.title,
        description=dataset.description,
        responses=openapi.responses(dataset),
        tags=["datasets"],
        operation_id=f"get_{dataset.name}",
        # {}: anyone may call; a key, if sent, must be valid.
        security=[{API_KEY_SCHEME: []}] if keyed else [{}, {API_KEY_SCHEME: []}],
    )(endpoint)
    # HEAD answers what GET would, without the body (the Function URL drops it).
    app.head(dataset.route, include_in_schema=False)(endpoint)


def _add_error_handlers(app: openapi.Resolver) -> None:
    def request_id() -> str | None:
        try:
            return str(app.current_event.request_context.request_id)
        except (AttributeError, KeyError, TypeError):
            return None

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        # Powertools validates the admin routes' declared parameters; answered in our
        # shape, never as its 422.
        errors = list(exc.errors())
        location = tuple(errors[0].get("loc", ())) if errors else ()
        parameter = str(location[-1])[:64] if len(location) >= 2 else None
        if parameter is None:
            problem = BadRequest("invalid_request", "The request is invalid.")
        else:
            problem = BadRequest(
                "invalid_parameter", f"Parameter {parameter!r} is invalid.", parameter
            )
        return error_response(problem, request_id())

    @app.exception_handler(Exception)
    def failure(exc: Exception) -> Response[str]:
        status = status_of(exc)
        if status == 500:
            logger.exception("unhandled error")
        elif isinstance(exc, ConfigurationError):
            logger.error("configuration error", extra={"detail": str(exc)})
        elif status >= 500:
            logger.warning(
                "upstream failure",
                extra={
                    "error": type(exc).__name__,
                    "detail": getattr(exc, "detail", None),
                    "statement_id": getattr(exc, "statement_id", None),
                    "error_code": getattr(exc, "error_code", None),
                },
            )
        return error_response(exc, request_id())

    @app.not_found
    def not_found(exc: Exception) -> Response[str]:
        allow = app.methods_at(app.current_event.path)
        if allow:
            return error_response(MethodNotAllowed(allow), request_id())
        return error_response(NotFound("No such route."), request_id())
