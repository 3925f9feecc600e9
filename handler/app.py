"""The Lambda entry point: `handler.app.lambda_handler`.

Built at import time, in Lambda's init phase: the catalogue, the routes, and the one
client a hit needs (DynamoDB). What only a miss, an admin request or /swagger needs is
built when first asked for (handler.container, handler.serving, handler.openapi), so a
cold container answering a hit never loads it.

Collection is off while the container is built: the init phase allocates ~90,000
long-lived objects (boto3's service models, pydantic's validators, the routes) and
almost no garbage, and collecting while they load costs a cold start ~50 ms. What was
built is then frozen out of every later collection (`gc.freeze`): a warm container's
full collections would otherwise walk it all again, ~60 ms each, in the middle of
some hit. With SnapStart, the snapshot is also taken with the miss path loaded
(handler.snapstart).
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handler.container import LambdaHandler


def _build() -> LambdaHandler:
    from handler import snapstart
    from handler.catalogue import load_catalogue
    from handler.container import new_container, wire_from_environment
    from handler.observability import EmfRecorder
    from handler.settings import catalogue_path

    recorder = EmfRecorder(namespace="Lakegate", service="lakegate")
    catalogue = load_catalogue(catalogue_path())
    wired = wire_from_environment(recorder)
    snapstart.register(catalogue, wired)
    return new_container(catalogue, wired, recorder)


gc.disable()
try:
    lambda_handler = _build()
finally:
    gc.freeze()
    gc.enable()
