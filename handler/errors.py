"""Every failure a request can meet, by name. `handler.responses` maps them to HTTP, in one table.

    LakegateError
    ├── CatalogueError            the catalogue file is invalid (start-up, never per request)
    ├── ConfigurationError        settings are missing or contradictory (start-up)
    ├── BadRequest                400: a parameter is unknown, repeated or malformed
    ├── NotFound                  404: no such route or dataset
    ├── MethodNotAllowed          405: the route exists, not for this method (`allow` lists its own)
    ├── NotAcceptable             406: no representation the client accepts
    ├── Unauthorized              401: admin credentials missing or wrong
    ├── ApiKeyRefused             401: a consumer's API key missing, unknown or revoked
    ├── Forbidden                 403: the API key may not read this dataset
    ├── TooManyRequests           429: an operator action is throttled
    └── UpstreamError             the warehouse or AWS failed us
        ├── WarehouseTimeout      504: the statement outlived its time budget (cancelled)
        ├── WarehouseUnavailable  503: throttled, 5xx or unreachable after retries
        ├── WarehouseRejected     502: FAILED/CANCELED statement, auth refused, or a bad answer
        ├── ShapingError          502: a value did not parse as its declared type
        ├── SchemaMismatch        502: the answer's columns are not those asked for (names,
        │                              order, types), so not the published response schema
        └── SecretsUnavailable    503: Secrets Manager failed and nothing is cached

The cache's own errors (`cache.errors`: CacheUnavailable, LeaseWaitTimeout, KeyFailing,
OverConsumerBudget, OverStatementBudget) are not in this tree, since the cache sits below
the handler; the same table maps them.

Messages on UpstreamError subclasses are written by lakegate, never copied from the
warehouse: Databricks error text can carry table names, SQL and hosts.
"""

from __future__ import annotations


class LakegateError(Exception):
    """Base of every error lakegate raises on purpose."""


class CatalogueError(LakegateError):
    """The dataset catalogue failed validation."""


class ConfigurationError(LakegateError):
    """The settings are missing or contradictory."""


class BadRequest(LakegateError):
    """A client error tied to one query parameter."""

    def __init__(self, code: str, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.parameter = parameter


class NotFound(LakegateError):
    def __init__(self, message: str = "No such resource.") -> None:
        super().__init__(message)
        self.message = message


class MethodNotAllowed(LakegateError):
    """The path is a route, the method is not one it answers."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        self.allow = allow
        self.message = f"This route answers {', '.join(allow)} only."
        super().__init__(self.message)


class NotAcceptable(LakegateError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(LakegateError):
    """Admin credentials are missing or wrong; the message never says which."""


class ApiKeyRefused(LakegateError):
    """No valid API key where one is needed; the message never says which case."""


class Forbidden(LakegateError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TooManyRequests(LakegateError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class UpstreamError(LakegateError):
    """A dependency failed. `detail` is for logs only and must hold no warehouse text."""

    retry_after: int | None = None

    def __init__(
        self,
        detail: str,
        *,
        statement_id: str | None = None,
        error_code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.statement_id = statement_id
        self.error_code = error_code
        if retry_after is not None:
            self.retry_after = retry_after


class WarehouseTimeout(UpstreamError):
    retry_after = 5


class WarehouseUnavailable(UpstreamError):
    retry_after = 10


class WarehouseRejected(UpstreamError):
    pass


class ShapingError(UpstreamError):
    pass


class SchemaMismatch(UpstreamError):
    """The manifest's columns differ from the statement's (handler.conformance)."""


class SecretsUnavailable(UpstreamError):
    """A secret could not be read: 503, never a 401 that would blame the caller's token."""

    retry_after = 5
