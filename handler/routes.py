"""The HTTP surface: one route per catalogue dataset, the admin routes, health, Swagger, errors.

Every error a route raises, of any kind, is answered from the one table in
`handler.responses`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import CORSConfig, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from cache import Outcome
from handler import __version__, cors, discovery, openapi
from handler.admin.routes import ADMIN_SCHEME, Admin, add_admin_routes, admin_security_scheme
from handler.catalogue import Catalogue, Dataset
from handler.consumers import API_KEY_HEADER
from handler.errors import BadRequest, MethodNotAllowed, NotFound
from handler.refresh import RefreshOrder
from handler.responses import error_response, serialize, shape_of

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey

logger = Logger(service="lakegate", child=True)

API_VERSION = __version__  # the package's: one version, in the document too


class DatasetRoute(Protocol):
    """What answers one dataset's route: its handler.serving.DatasetServer, or the one
    answer of a failed configuration (handler.unconfigured)."""

    def serve(
        self, event: LambdaFunctionUrlEvent, remaining_ms: int
    ) -> tuple[Response[Any], Outcome]:
        """The answer, and what the cache did for it (handler.observability times it so)."""

    def refresh(self, order: RefreshOrder, remaining_ms: int) -> str | None:
        """Run a refresh another invocation handed off; its outcome (None: nothing done)."""


@dataclass(frozen=True)
class Surface:
    """What the routes serve, built once by the composition root (handler.container)."""

    datasets: Mapping[str, DatasetRoute]  # by route, one per catalogue dataset
    # The admin routes' collaborators; None: admin is off (the routes answer 404).
    admin: Callable[[], Admin | None]
    cors_origins: tuple[str, ...] = ()
    require_keys: bool = False  # every data route needs an API key, not only `access: key`


def create_app(catalogue: Catalogue, surface: Surface) -> openapi.Resolver:
    """The resolver, each route holding what it needs."""
    app = openapi.Resolver(
        catalogue,
        enable_validation=True,
        # Powertools types the serializer as dict -> str; ours also passes our bodies through.
        serializer=cast(Callable[[dict[Any, Any]], str], serialize),
        cors=_cors(surface.cors_origins),
    )
    for dataset in catalogue.datasets:
        keyed = surface.require_keys or dataset.access == "key"
        _add_dataset_route(app, dataset, surface.datasets[dataset.route], keyed=keyed)
    add_admin_routes(app, catalogue, surface.admin)
    _add_discovery_route(app, discovery.discovery(catalogue, require_keys=surface.require_keys))

    @app.get(
        "/healthz",
        summary="Liveness check",
        responses=openapi.health_responses(),
        operation_id="healthz",
    )
    def healthz() -> Response[str]:
        return Response(
            status_code=200,
            content_type="application/json",
            body='{"status":"ok"}',
            headers={"Cache-Control": "no-store"},
        )

    # The document's settings, for /swagger and for anyone asking the resolver: applied
    # when the document is first asked for (handler.openapi: no data request pays).
    app.publish_document("/swagger", _document_settings)
    _add_error_handlers(app)
    return app


API_KEY_SCHEME = "apiKey"


def _document_settings() -> dict[str, Any]:
    return {
        "title": "lakegate",
        "version": API_VERSION,
        "description": "Cached, read-only access to lakehouse datasets.",
        "security_schemes": {
            API_KEY_SCHEME: api_key_security_scheme(),
            ADMIN_SCHEME: admin_security_scheme(),
        },
    }


def api_key_security_scheme() -> APIKey:
    """A consumer's key, as the document declares it."""
    return openapi.header_key_scheme(
        API_KEY_HEADER,
        "A consumer's API key (`lakegate keys create`): required on datasets that declare "
        "it (missing, unknown or revoked → 401; not for this dataset → 403).",
    )


def _cors(origins: tuple[str, ...]) -> CORSConfig | None:
    """The same CORS answers as the edge's (handler.cors): allowed origins, the headers a
    browser may read, no credentials, ever."""
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=list(cors.ALLOW_HEADERS),
        expose_headers=list(cors.EXPOSE_HEADERS),
        max_age=cors.MAX_AGE_SECONDS,
        allow_credentials=False,
    )


def _add_dataset_route(
    app: openapi.Resolver,
    dataset: Dataset,
    server: DatasetRoute,
    *,
    keyed: bool,
) -> None:
    def endpoint() -> Response[Any]:
        # No framework-validated arguments: handler.query parses the raw query string once.
        context = app.lambda_context
        remaining_ms = context.get_remaining_time_in_millis() if context else 30_000
        response, outcome = server.serve(app.current_event, remaining_ms)
        app.served = outcome
        return response

    endpoint.__name__ = discovery.operation_id(dataset)
    endpoint.__doc__ = dataset.description
    # No return annotation for Powertools to see: it would re-serialize our gzip bodies.
    endpoint.__signature__ = inspect.Signature()  # type: ignore[attr-defined]
    app.get(
        dataset.route,
        summary=dataset.title,
        description=dataset.description,
        responses=openapi.responses(dataset),
        tags=["datasets"],
        operation_id=discovery.operation_id(dataset),
        # {}: anyone may call; a key, if sent, must be valid.
        security=[{API_KEY_SCHEME: []}] if keyed else [{}, {API_KEY_SCHEME: []}],
        # Nothing for Powertools to validate (no declared arguments, our own bodies): its
        # request and response validation would only add to every hit.
        enable_validation=False,
    )(endpoint)
    # HEAD answers what GET would, without the body (the Function URL drops it).
    app.head(dataset.route, include_in_schema=False, enable_validation=False)(endpoint)


def _add_discovery_route(app: openapi.Resolver, answer: discovery.Discovery) -> None:
    def datasets() -> Response[str]:
        return answer.respond(app.current_event.headers.get("if-none-match"))

    datasets.__signature__ = inspect.Signature()  # type: ignore[attr-defined]
    app.get(
        discovery.ROUTE,
        summary="The datasets",
        description="Every dataset this API serves: its route, freshness, who may read it "
        "and its operation in this document. Cached like data (ETag, 304).",
        responses=openapi.discovery_responses(),
        tags=["discovery"],
        operation_id="list_datasets",
        enable_validation=False,
    )(datasets)
    app.head(discovery.ROUTE, include_in_schema=False, enable_validation=False)(datasets)


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
        shape = shape_of(exc)
        if shape.status == 500:
            logger.exception("unhandled error")
        elif shape.logged == "configuration":
            logger.error("configuration error", extra={"detail": str(exc)})
        elif shape.status >= 500:
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
