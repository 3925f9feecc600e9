"""Each resolver keeps its own current event (Powertools keeps it on its class): concurrent
containers in one process (the local Function URL stand-in's) each read their own
request, as Lambda's do."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools.event_handler import Response

from handler.catalogue import load_catalogue
from handler.openapi import Resolver
from local.function_url import LocalContext, build_event


def test_concurrent_invocations_on_separate_resolvers_each_see_their_own_event() -> None:
    both_inside = threading.Barrier(2, timeout=5)

    def container() -> Resolver:
        app = Resolver(load_catalogue())

        @app.get("/echo")
        def echo() -> Response[str]:
            asked = app.current_event.raw_query_string
            both_inside.wait()  # the other request has been resolved meanwhile
            return Response(200, "text/plain", f"{asked}|{app.current_event.raw_query_string}")

        return app

    apps = [container(), container()]

    def call(n: int) -> str:
        event = build_event("GET", f"/echo?n={n}", [], b"", "127.0.0.1", f"r{n}")
        return str(apps[n].resolve(event, LocalContext(f"r{n}", 30.0))["body"])

    for _ in range(20):
        with ThreadPoolExecutor(max_workers=2) as pool:
            assert list(pool.map(call, (0, 1))) == ["n=0|n=0", "n=1|n=1"]
