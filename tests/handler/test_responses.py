"""Responses: one mapping from errors to HTTP, no upstream text, gzip only when asked."""

import orjson
import pytest

from cache import (
    CacheError,
    CacheUnavailable,
    KeyFailing,
    LeaseWaitTimeout,
    NoResultInTime,
    OverConsumerBudget,
    OverStatementBudget,
    Refused,
    RollupOversize,
    Superseded,
)
from handler.errors import (
    ApiKeyRefused,
    BadRequest,
    CatalogueError,
    ConfigurationError,
    Forbidden,
    LakegateError,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    ShapingError,
    TooManyRequests,
    Unauthorized,
    UpstreamError,
    WarehouseRejected,
    WarehouseTimeout,
    WarehouseUnavailable,
)
from handler.responses import (
    GzipJson,
    accepts_gzip,
    encoded_response,
    error_response,
    gzip_body,
    not_modified,
    serialize,
    shape_of,
)

SECRET_TEXT = "Table lakegate.dmv.licensed_drivers not found on host dbc-123.cloud.databricks.com"


@pytest.mark.parametrize(
    ("exc", "status", "code", "retry_after"),
    [
        (BadRequest("invalid_parameter", "bad year", "year"), 400, "invalid_parameter", None),
        (NotFound(), 404, "not_found", None),
        (MethodNotAllowed(("GET", "HEAD")), 405, "method_not_allowed", None),
        (NotAcceptable("json or csv"), 406, "not_acceptable", None),
        (Unauthorized(), 401, "unauthorized", None),
        (TooManyRequests("slow down", 30), 429, "throttled", "30"),
        (WarehouseTimeout(SECRET_TEXT), 504, "warehouse_timeout", "5"),
        (WarehouseUnavailable(SECRET_TEXT), 503, "warehouse_unavailable", "10"),
        (WarehouseUnavailable(SECRET_TEXT, retry_after=42), 503, "warehouse_unavailable", "42"),
        (WarehouseRejected(SECRET_TEXT, error_code="BAD_REQUEST"), 502, "warehouse_error", None),
        (ShapingError(SECRET_TEXT), 502, "bad_upstream_data", None),
        # Retry-After: an answer too large to send in line waits for S3 to come back.
        (CacheUnavailable(SECRET_TEXT), 503, "cache_unavailable", "5"),
        (LeaseWaitTimeout(SECRET_TEXT, retry_after=8), 504, "warehouse_timeout", "8"),
        (KeyFailing(SECRET_TEXT, retry_after=2), 503, "warehouse_unavailable", "2"),
        (OverConsumerBudget(SECRET_TEXT, retry_after=7), 429, "miss_budget_exceeded", "7"),
        (OverStatementBudget(SECRET_TEXT, retry_after=9), 503, "statement_budget_exceeded", "9"),
        (ApiKeyRefused("no key"), 401, "unauthorized", None),
        (Forbidden("not yours"), 403, "forbidden", None),
        (ConfigurationError("placeholder secret"), 503, "not_configured", None),
        (LakegateError("anything else"), 500, "internal_error", None),
    ],
)
def test_every_error_has_one_status_and_a_safe_body(
    exc: Exception, status: int, code: str, retry_after: str | None
) -> None:
    response = error_response(exc, "req-1")
    body = orjson.loads(response.body or "")
    assert response.status_code == status
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == "req-1"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.get("Retry-After") == retry_after
    assert "databricks" not in str(response.body).lower()
    assert "licensed_drivers" not in str(response.body)


def test_bad_request_names_its_parameter() -> None:
    body = orjson.loads(error_response(BadRequest("c", "m", "state"), None).body or "")
    assert body == {"error": {"code": "c", "message": "m", "parameter": "state"}}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("*", True),
        ("deflate, GZIP", True),
    ],
)
def test_accept_encoding(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_stored_gzip_is_sent_as_is_to_clients_that_accept_it() -> None:
    body = orjson.dumps([{"year": 2016, "state": "California"}] * 100)
    stored = gzip_body(body)
    packed = encoded_response(stored, "application/json", gzipped=True, headers={"X": "1"})
    assert isinstance(packed.body, GzipJson) and packed.body.data == stored
    assert serialize(packed.body) == stored, "the serializer hands Powertools the raw bytes"
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["X"] == "1" and "Accept-Encoding" in str(packed.headers["Vary"])


def test_clients_without_gzip_get_text() -> None:
    body = b"year,state\n2016,California\n"
    plain = encoded_response(gzip_body(body), "text/csv", gzipped=False, headers={})
    assert plain.body == body.decode() and "Content-Encoding" not in plain.headers
    csv_packed = encoded_response(gzip_body(body), "text/csv", gzipped=True, headers={})
    assert csv_packed.body == gzip_body(body), "non-JSON bodies need no box"


def test_gzip_is_deterministic() -> None:
    assert gzip_body(b"same") == gzip_body(b"same")


def test_not_modified_has_validators_and_no_body() -> None:
    response = not_modified(
        {"ETag": '"abc"', "Cache-Control": "public, max-age=5", "X-Row-Count": "3"}
    )
    assert response.status_code == 304 and response.body == ""
    assert response.headers["ETag"] == '"abc"' and "X-Row-Count" not in response.headers


def _leaves(base: type[Exception]) -> list[type[Exception]]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_leaves(sub))
    return found


@pytest.mark.parametrize(
    "kind",
    [
        k
        for k in _leaves(LakegateError) + _leaves(CacheError)
        # Bases; Superseded: the cache settles it itself; RollupOversize: the query then
        # runs its own statement (handler.serving). Neither reaches a response.
        if k
        not in (
            CatalogueError,
            UpstreamError,
            NoResultInTime,
            Refused,
            Superseded,
            RollupOversize,
        )
    ],
    ids=lambda k: k.__name__,
)
def test_every_error_a_request_can_meet_is_in_the_table(kind: type[Exception]) -> None:
    """A new error class with no row would answer 500: give it one (handler.responses.ERRORS)."""
    assert shape_of(kind.__new__(kind)).status != 500
