"""Stale entries refreshed in the background: one asynchronous self-invocation per key.

A request that finds its entry stale answers with the stale copy at once: the refresh
(a statement, maybe a slow one) must not hold it. Lambda cannot work after answering,
so the request takes the key's lease and hands the refresh to an asynchronous
invocation of its own function (InvocationType "Event", same version), whose event
carries what the refresh needs: the route, the query string as the client sent it,
who asked (for the statement budget) and the lease owner to refresh under, so there
is still one statement per key. Locally, the Function URL stand-in runs such
invocations on its own containers, in the background (`local/function_url.py`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import orjson

REFRESH_EVENT = "lakegate_refresh"


@dataclass(frozen=True, slots=True)
class RefreshOrder:
    """What an asynchronous refresh is asked to do."""

    route: str
    query: str  # the raw query string of the request that found the entry stale
    accept: str | None
    owner: str  # the lease the requesting invocation took for this refresh
    consumer: str | None = None
    tier: str | None = None
    rollup: str | None = None  # a stale roll-up of the route's dataset, not a query

    def event(self) -> dict[str, Any]:
        return {REFRESH_EVENT: asdict(self)}

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RefreshOrder | None:
        """The order in an invocation's event; None for any other event (a Function URL's)."""
        order = event.get(REFRESH_EVENT)
        if not isinstance(order, dict):
            return None
        fields: dict[str, Any] = {name: order.get(name) for name in cls.__dataclass_fields__}
        return cls(**fields)


class Invoker(Protocol):
    def invoke_async(self, event: dict[str, Any]) -> None:
        """Start an invocation of this function with `event`, without waiting for it."""


class LambdaInvoker:
    """Invokes this function asynchronously through the Lambda API (the same version)."""

    def __init__(self, function_name: str, version: str | None, region: str | None) -> None:
        self._function_name = function_name
        self._version = version
        self._region = region
        self._client: Any = None
        self._lock = threading.Lock()

    def invoke_async(self, event: dict[str, Any]) -> None:
        arguments: dict[str, Any] = {
            "FunctionName": self._function_name,
            "InvocationType": "Event",
            "Payload": orjson.dumps(event),
        }
        if self._version and self._version != "$LATEST":
            arguments["Qualifier"] = self._version
        self._lambda().invoke(**arguments)

    def _lambda(self) -> Any:
        # Built on the first stale hit, not at init: most containers never need it.
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2})
                self._client = boto3.client("lambda", region_name=self._region, config=config)
            return self._client
