"""The Statement Execution API 2.0 wire format, as pydantic models (only what lakegate reads).

Unknown fields are ignored: Databricks adds fields over time and an older client
must keep working. What lakegate builds URLs from is constrained here: a statement id
is a plain token, never a path.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "CLOSED"})


# The error codes lakegate reads (Databricks' REST error codes and the statement
# service's ServiceErrorCode). An error code is the only warehouse word that reaches a
# log line, so it must be one of these: anything else, and a code that echoes the
# request (a gateway once put the Authorization header in it), reads as UNRECOGNISED.
ERROR_CODES = frozenset(
    {
        "ABORTED",
        "ALREADY_EXISTS",
        "BAD_GATEWAY",
        "BAD_REQUEST",
        "CANCELLED",
        "DATA_LOSS",
        "DEADLINE_EXCEEDED",
        "ENDPOINT_NOT_FOUND",
        "FAILED_PRECONDITION",
        "INTERNAL_ERROR",
        "INVALID_PARAMETER_VALUE",
        "INVALID_STATE",
        "IO_ERROR",
        "MALFORMED_REQUEST",
        "NOT_FOUND",
        "NOT_IMPLEMENTED",
        "PERMISSION_DENIED",
        "REQUEST_LIMIT_EXCEEDED",
        "RESOURCE_ALREADY_EXISTS",
        "RESOURCE_CONFLICT",
        "RESOURCE_DOES_NOT_EXIST",
        "RESOURCE_EXHAUSTED",
        "SERVICE_UNDER_MAINTENANCE",
        "TEMPORARILY_UNAVAILABLE",
        "TOO_MANY_REQUESTS",
        "UNAUTHENTICATED",
        "UNAVAILABLE",
        "UNKNOWN",
        "WORKSPACE_TEMPORARILY_UNAVAILABLE",
    }
)
UNRECOGNISED = "UNRECOGNISED"
_STATUS_CODE = re.compile(r"[1-5][0-9]{2}", re.ASCII)


def _code_text(value: Any) -> str | None:
    if value is None:
        return None
    # The workspace gateway answers a bad token with `"error_code": 403`, a number.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and (value in ERROR_CODES or _STATUS_CODE.fullmatch(value)):
        return value
    return UNRECOGNISED


ErrorCode = Annotated[str | None, BeforeValidator(_code_text)]
# Databricks ids look like 01ef...-...-...; the client joins them into paths, so nothing else.
StatementId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")]

StatementState = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "CLOSED"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ServiceError(_Wire):
    error_code: ErrorCode = None
    # `message` exists on the wire but is deliberately not modelled: it can carry
    # table names, SQL text and hosts, and lakegate never logs or forwards it.


class StatementStatus(_Wire):
    state: StatementState
    error: ServiceError | None = None
    # `sql_state` is not modelled either: nothing reads it, and it is warehouse text.


class ColumnInfo(_Wire):
    name: str
    type_name: str | None = None
    type_text: str | None = None
    type_precision: int | None = None
    type_scale: int | None = None
    position: int | None = None


class ResultSchema(_Wire):
    column_count: int | None = None
    columns: list[ColumnInfo] = []


class ResultManifest(_Wire):
    format: str | None = None
    # Set when the warehouse compressed EXTERNAL_LINKS files (e.g. LZ4_FRAME); lakegate
    # never asks for that, so anything but NONE is refused.
    result_compression: str | None = None
    # `schema` would shadow a BaseModel attribute, hence the alias.
    result_schema: ResultSchema | None = Field(default=None, alias="schema")
    total_chunk_count: int | None = None
    total_row_count: int | None = None
    truncated: bool = False


class ExternalLink(_Wire):
    """One chunk's presigned file (EXTERNAL_LINKS)."""

    chunk_index: int | None = None
    row_offset: int | None = None
    row_count: int | None = None
    byte_count: int | None = None
    # A temporary storage credential, as are the headers: out of every repr, so no log
    # line or traceback that prints a model shows them.
    external_link: str = Field(repr=False)
    http_headers: dict[str, str] = Field(default_factory=dict, repr=False)
    expiration: str | None = None
    next_chunk_index: int | None = None
    next_chunk_internal_link: str | None = None


class ResultData(_Wire):
    chunk_index: int | None = None
    row_offset: int | None = None
    row_count: int | None = None
    data_array: list[list[str | None]] | None = None
    # EXTERNAL_LINKS only (one link per chunk today); in an INLINE answer, a wrong answer.
    external_links: list[ExternalLink] | None = None
    next_chunk_index: int | None = None
    next_chunk_internal_link: str | None = None


class StatementResponse(_Wire):
    statement_id: StatementId
    status: StatementStatus
    manifest: ResultManifest | None = None
    result: ResultData | None = None


class ErrorBody(_Wire):
    """The body of a non-2xx answer: `{"error_code": ..., "message": ...}` (message ignored)."""

    error_code: ErrorCode = None


class OAuthToken(_Wire):
    access_token: str
    expires_in: int = 3600
    token_type: str = "Bearer"
