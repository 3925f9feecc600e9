"""moto's server as `python -m local.moto_server HOST PORT`, applying one request at a time.

moto's backends take no locks: two concurrent conditional writes to one item can both
see their condition hold and both succeed, which DynamoDB never allows (a conditional
write is atomic per item). Single flight rests on exactly that guarantee, so the
embedded stack serves moto's application behind one lock: connections are still
accepted in parallel, requests are applied in turn, as atomically as DynamoDB would.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

Application = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def one_at_a_time(application: Application) -> Application:
    """The WSGI `application`, each request applied (and its body produced) under one lock."""
    lock = threading.Lock()

    def serialised(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            return list(application(environ, start_response))

    return serialised


def main(argv: list[str] | None = None) -> None:
    host, port = (argv or sys.argv[1:])[:2]
    application = one_at_a_time(DomainDispatcherApplication(create_backend_app))
    run_simple(host, int(port), application, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
