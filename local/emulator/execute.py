"""An execute call's body, validated as Databricks validates it (every refusal a 4xx).

The fields are the API reference's (statement, warehouse_id, wait_timeout,
on_wait_timeout, disposition, format, catalog, schema, row_limit, byte_limit); the
named parameters are parameters.py's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from local.emulator.parameters import Parameter, parse_parameters
from local.emulator.storage import FORMATS
from local.emulator.wire import ApiError, invalid_parameter

MAX_STATEMENT_BYTES = 16 * 1024 * 1024  # "The maximum query text size is 16 MiB."


@dataclass(frozen=True)
class StatementRequest:
    """An execute call after the HTTP layer has validated it."""

    statement: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    catalog: str | None = None
    schema: str | None = None
    row_limit: int | None = None
    byte_limit: int | None = None
    disposition: str = "INLINE"
    format: str = "JSON_ARRAY"


@dataclass(frozen=True)
class ExecuteCall:
    request: StatementRequest
    wait_s: float
    cancel_on_timeout: bool


def parse_execute(body: dict[str, Any], warehouse_id: str) -> ExecuteCall:
    """Validate an execute body as Databricks does; every refusal is a 4xx ApiError."""
    statement = body.get("statement")
    if not isinstance(statement, str) or not statement.strip():
        raise invalid_parameter("statement is required")
    if len(statement.encode("utf-8")) > MAX_STATEMENT_BYTES:
        raise invalid_parameter("statement is longer than the maximum of 16 MiB")
    if not body.get("warehouse_id"):
        raise invalid_parameter("warehouse_id is required")
    if body["warehouse_id"] != warehouse_id:
        # Databricks answers an unknown warehouse with 404; the emulator has exactly one.
        raise ApiError(
            404, "RESOURCE_DOES_NOT_EXIST", f"Warehouse {body['warehouse_id']} does not exist"
        )
    wait = re.fullmatch(r"(\d+)s", str(body.get("wait_timeout") or "10s"))
    wait_s = int(wait.group(1)) if wait else -1
    if wait_s != 0 and not 5 <= wait_s <= 50:
        raise invalid_parameter("wait_timeout must be 0s or between 5s and 50s")
    on_timeout = body.get("on_wait_timeout") or "CONTINUE"
    if on_timeout not in ("CONTINUE", "CANCEL"):
        raise invalid_parameter("on_wait_timeout must be CONTINUE or CANCEL")
    disposition = body.get("disposition") or "INLINE"
    if disposition not in ("INLINE", "EXTERNAL_LINKS"):
        raise invalid_parameter(f"unknown disposition {disposition!r}")
    result_format = body.get("format") or "JSON_ARRAY"
    if result_format not in FORMATS:
        raise invalid_parameter(f"unknown format {result_format!r}")
    if disposition == "INLINE" and result_format != "JSON_ARRAY":
        # "The format ARROW_STREAM (CSV) is supported only with EXTERNAL_LINKS disposition."
        raise invalid_parameter(f"format {result_format} requires disposition EXTERNAL_LINKS")
    request = StatementRequest(
        statement=statement,
        parameters=parse_parameters(body.get("parameters")),
        catalog=_optional_text(body, "catalog"),
        schema=_optional_text(body, "schema"),
        row_limit=_optional_count(body, "row_limit"),
        byte_limit=_optional_count(body, "byte_limit"),
        disposition=disposition,
        format=result_format,
    )
    return ExecuteCall(request, float(wait_s), on_timeout == "CANCEL")


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_parameter(f"{name} must be a string")
    return value or None


def _optional_count(body: dict[str, Any], name: str) -> int | None:
    """A positive integer; proto3 JSON lets int64 arrive as a string, so accept "100" too."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise invalid_parameter(f"{name} must be a positive integer")
    return value
