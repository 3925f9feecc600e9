"""The Databricks SQL Statement Execution API client."""

from handler.warehouse.auth import TokenProvider, token_provider
from handler.warehouse.client import Parameter, Statement, WarehouseClient
from handler.warehouse.deadline import Deadline, budget_seconds

__all__ = [
    "Deadline",
    "Parameter",
    "Statement",
    "TokenProvider",
    "WarehouseClient",
    "budget_seconds",
    "token_provider",
]
