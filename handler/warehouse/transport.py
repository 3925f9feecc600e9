"""HTTP to the warehouse: one request, its retries, and what an answer means.

Two retry policies, because the calls differ in what a failure may hide:

- execute (POST) may start a statement. It is sent again only when the warehouse
  certainly did not take it: a 429 or 503 answer, or a connection never made. After a
  500/502/504, a read timeout or a connection dropped once the request was out, the
  statement may be running, and sending it again could run it twice. At most
  EXECUTE_ATTEMPTS tries per request.
- polls and chunk fetches (GET) change nothing: any transient failure is retried.

Both stop when the deadline has no room for the next pause. An answer broken in
transit (the connection reset mid-body, a Content-Encoding that does not decode) is a
transient failure like a dropped connection: a GET is sent again, an execute is not.
Each exchange, headers to last byte, ends by the deadline (handler.warehouse.watchdog
cuts an answer that drips in slower than its reads time out): a WarehouseTimeout.

Every request goes to the configured host only (redirects are not followed), and
answers are parsed straight into the wire models: a body that is not the JSON expected
is a WarehouseRejected, never a crash. The bearer token goes into a header and nowhere
else, not even a log line; of an error answer only its allow-listed error code is read
(handler.warehouse.wire).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from handler.errors import (
    UpstreamError,
    WarehouseRejected,
    WarehouseTimeout,
    WarehouseUnavailable,
)
from handler.settings import WarehouseSettings
from handler.warehouse import watchdog
from handler.warehouse.auth import TokenProvider
from handler.warehouse.deadline import (
    Deadline,
    backoff_seconds,
    client_retry_after,
    parse_retry_after,
)
from handler.warehouse.throttle import Throttle
from handler.warehouse.wire import ErrorBody

logger = Logger(service="lakegate", child=True)

ModelT = TypeVar("ModelT", bound=BaseModel)

STATEMENTS_PATH = "/api/2.0/sql/statements/"
EXECUTE_ATTEMPTS = 3
_CANCEL_SECONDS = 2.0  # a cancel is best effort, sent after the budget is spent
_UNAVAILABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retry_status: frozenset[int]
    # Whether a request that may have reached the warehouse (read timeout, connection
    # dropped after sending) is worth sending again.
    resend_after_sent: bool
    max_attempts: int | None = None


EXECUTE = RetryPolicy(frozenset({429, 503}), resend_after_sent=False, max_attempts=EXECUTE_ATTEMPTS)
READ = RetryPolicy(_UNAVAILABLE_STATUS, resend_after_sent=True)


class Transport:
    """Requests to one workspace host with one session, token provider and throttle."""

    def __init__(
        self,
        settings: WarehouseSettings,
        tokens: TokenProvider,
        session: requests.Session,
        throttle: Throttle,
        sleep: Callable[[float], None],
    ) -> None:
        self._settings = settings
        self._tokens = tokens
        self._session = watchdog.watched(session)
        self._throttle = throttle
        self._sleep = sleep

    def execute(self, body: dict[str, Any], model: type[ModelT], deadline: Deadline) -> ModelT:
        """POST a statement; fails fast (no request) while the container is throttled."""
        self._throttle.check()
        return parse(model, self._call("POST", STATEMENTS_PATH, deadline, EXECUTE, json=body))

    def get(self, path: str, model: type[ModelT], deadline: Deadline) -> ModelT:
        """GET a path of this host (a poll or a chunk), retrying transient failures."""
        return parse(model, self._call("GET", path, deadline, READ))

    def cancel(self, statement_id: str) -> None:
        """Best effort: a statement lakegate no longer waits for must not keep the warehouse busy."""
        try:
            with watchdog.bounded(self._settings.connect_timeout_seconds + _CANCEL_SECONDS):
                self._session.post(
                    f"{self._settings.host}{STATEMENTS_PATH}{statement_id}/cancel",
                    headers=self._headers(),
                    timeout=(self._settings.connect_timeout_seconds, _CANCEL_SECONDS),
                    allow_redirects=False,
                )
        except Exception:  # the request is failing already; don't mask why
            logger.warning("cancel failed", extra={"statement_id": statement_id})
        else:
            logger.info("statement cancelled", extra={"statement_id": statement_id})

    # -- one call and its retries -----------------------------------------------------

    def _call(
        self, method: str, path: str, deadline: Deadline, policy: RetryPolicy, **kwargs: Any
    ) -> bytes:
        for attempt in itertools.count():
            try:
                return self._attempt(method, path, deadline, policy, **kwargs)
            except _Retryable as retry:
                last = policy.max_attempts is not None and attempt + 1 >= policy.max_attempts
                pause = backoff_seconds(attempt, retry_after=retry.retry_after)
                if last or deadline.remaining() <= pause:
                    raise retry.failure from retry
                logger.info("retrying warehouse call", extra={"attempt": attempt + 1})
                self._sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover - itertools.count never ends

    def _attempt(
        self, method: str, path: str, deadline: Deadline, policy: RetryPolicy, **kwargs: Any
    ) -> bytes:
        with watchdog.bounded(_exchange_seconds(deadline)) as watch:
            try:
                response = self._send(method, path, deadline, **kwargs)
            except requests.RequestException as exc:
                raise _broken(exc, policy, cut=watch.expired) from exc
        status = response.status_code
        if 200 <= status < 300:
            return response.content
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            self._throttle.record(retry_after)
        failure = self._failure(response, retry_after)
        if status in policy.retry_status:
            raise _Retryable(failure, retry_after)
        raise failure

    def _send(self, method: str, path: str, deadline: Deadline, **kwargs: Any) -> requests.Response:
        read_timeout = min(self._settings.read_timeout_seconds, _exchange_seconds(deadline))
        return self._session.request(
            method,
            f"{self._settings.host}{path}",
            headers=self._headers(),
            timeout=(self._settings.connect_timeout_seconds, read_timeout),
            # A redirect could carry the Authorization header to another host.
            allow_redirects=False,
            **kwargs,
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens.token()}"}

    def _failure(self, response: requests.Response, retry_after: float | None) -> UpstreamError:
        error_code = _error_code(response)
        status = response.status_code
        logger.warning(
            "warehouse call failed", extra={"http_status": status, "error_code": error_code}
        )
        if status in (401, 403):
            self._tokens.invalidate()
            return WarehouseRejected("warehouse refused our credentials", error_code=error_code)
        if status in _UNAVAILABLE_STATUS:
            # Clients hear lakegate's bounded Retry-After, never the warehouse's own.
            bounded = client_retry_after(retry_after) if retry_after is not None else None
            return WarehouseUnavailable(
                f"warehouse answered {status}", error_code=error_code, retry_after=bounded
            )
        return WarehouseRejected(f"warehouse answered {status}", error_code=error_code)


class _Retryable(Exception):
    """A failure worth another attempt, if the policy and the deadline allow one."""

    def __init__(self, failure: UpstreamError, retry_after: float | None = None) -> None:
        super().__init__(failure.detail)
        self.failure = failure
        self.retry_after = retry_after


def parse(model: type[ModelT], body: bytes) -> ModelT:
    """The answer as a wire model; anything else (HTML, truncated JSON, wrong shape) is a 502."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise WarehouseRejected("warehouse sent an unreadable answer") from exc


def _exchange_seconds(deadline: Deadline) -> float:
    """How long one exchange may take: what is left of the budget (half a second at least)."""
    return max(0.5, deadline.remaining())


def _broken(
    exc: requests.RequestException, policy: RetryPolicy, *, cut: bool
) -> UpstreamError | _Retryable:
    """What a request that raised means, and whether sending it again is worth it."""
    if cut:  # the watchdog ended an answer that outlived the budget: no time for another
        return WarehouseTimeout("warehouse answer outlived its time budget")
    if isinstance(exc, requests.ConnectionError):  # ConnectTimeout included
        unreachable = WarehouseUnavailable("warehouse unreachable")
        if policy.resend_after_sent or _never_connected(exc):
            return _Retryable(unreachable)
        return unreachable
    if isinstance(exc, requests.Timeout):  # the request went out; no answer in time
        timeout = WarehouseTimeout("warehouse did not answer in time")
        return _Retryable(timeout) if policy.resend_after_sent else timeout
    # Cut short mid-body (ChunkedEncodingError), a Content-Encoding that does not decode
    # (ContentDecodingError), or any other break once the request was out: the warehouse
    # may have taken it, so only what changes nothing is sent again.
    broken = WarehouseUnavailable(f"warehouse answer broken in transit ({type(exc).__name__})")
    return _Retryable(broken) if policy.resend_after_sent else broken


def _never_connected(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _error_code(response: requests.Response) -> str | None:
    try:
        return ErrorBody.model_validate_json(response.content).error_code
    except ValidationError:
        return None
