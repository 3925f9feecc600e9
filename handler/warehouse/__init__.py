"""The Databricks SQL Statement Execution API client.

`Deadline` and `budget_seconds` load with the package: every request computes its
time budget. The client's names load on first use (PEP 562): importing the client,
its transport and its wire models takes a cold start ~15 ms that a cache hit never
needs (handler.container builds the client for a container's first statement).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from handler.warehouse.deadline import Deadline, budget_seconds

if TYPE_CHECKING:
    from handler.warehouse.auth import TokenProvider, token_provider
    from handler.warehouse.client import Parameter, Statement, WarehouseClient

__all__ = [
    "Deadline",
    "Parameter",
    "Statement",
    "TokenProvider",
    "WarehouseClient",
    "budget_seconds",
    "token_provider",
]

_ON_FIRST_USE = {
    "TokenProvider": "handler.warehouse.auth",
    "token_provider": "handler.warehouse.auth",
    "Parameter": "handler.warehouse.client",
    "Statement": "handler.warehouse.client",
    "WarehouseClient": "handler.warehouse.client",
}


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
