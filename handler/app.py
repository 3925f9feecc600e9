"""The Lambda entry point: `handler.app.lambda_handler`.

Everything is built at import time, in Lambda's init phase (which runs on a full CPU
burst, before the first request waits): the catalogue, the routes, and the clients
the hit path needs. Admin clients are built on the first admin request.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics

from handler.catalogue import load_catalogue
from handler.container import new_container, wire_from_environment
from handler.observability import PowertoolsRecorder
from handler.settings import catalogue_path

RECORDER = PowertoolsRecorder(Metrics(namespace="Lakegate", service="lakegate"))

lambda_handler = new_container(
    load_catalogue(catalogue_path()), wire_from_environment(RECORDER), RECORDER
)
