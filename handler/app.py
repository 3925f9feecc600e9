"""The Lambda entry point: `handler.app.lambda_handler`.

The catalogue is loaded and the routes are built at import time (Lambda's init phase,
which runs on a full CPU); settings and clients are built on the first request that
needs them and then reused while the container stays warm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from cache.metrics import Recorder
from handler.catalogue import Catalogue, load_catalogue
from handler.observability import PowertoolsRecorder
from handler.routes import create_app
from handler.services import ServicesCache
from handler.settings import Settings, catalogue_path

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

logger = Logger(service="lakegate")
metrics = Metrics(namespace="Lakegate", service="lakegate")

CATALOGUE = load_catalogue(catalogue_path())


def new_container(
    settings: Settings | None = None,
    recorder: Recorder | None = None,
    catalogue: Catalogue | None = None,
    services: ServicesCache | None = None,
) -> LambdaHandler:
    """Everything one Lambda container holds: its resolver and its reused clients.

    The local Function URL server calls this once per simulated container, because a
    Powertools resolver keeps the current event on itself and serves one at a time.
    `settings` defaults to the environment's (read on first use); `recorder` to
    Powertools EMF metrics, flushed after every invocation; `catalogue` to the
    packaged (or LAKEGATE_CATALOGUE) one. The local server passes one `services` to
    all its simulated containers: boto3 clients are thread-safe, and building them per
    container would make a 64-request stampede a 64-client CPU storm on a laptop.
    """
    active = catalogue or CATALOGUE
    if recorder is not None:
        app = create_app(active, services or ServicesCache(recorder, settings))

        @logger.inject_lambda_context(log_event=False, clear_state=True)
        def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            return app.resolve(event, context)

        return handle
    emf_app = create_app(active, ServicesCache(PowertoolsRecorder(metrics), settings))

    @metrics.log_metrics(raise_on_empty_metrics=False)
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    def handle_with_metrics(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return emf_app.resolve(event, context)

    return cast(LambdaHandler, handle_with_metrics)


lambda_handler = new_container()
