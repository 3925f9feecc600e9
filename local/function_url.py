"""A local stand-in for a Lambda Function URL: HTTP in, payload-2.0 event, handler, HTTP out.

Each request becomes the event Lambda would build, is handed to a handler from a pool
of simulated containers (each serves one event at a time, like Lambda), and the
handler's response (status, headers, cookies, base64 bodies) is written back, so curl
sees what CloudFront would receive from the origin. HTTP itself is local.http_server's.
"""

from __future__ import annotations

import base64
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.errors import BadRequest
from handler.responses import JSON, error, error_response
from local.http_server import HttpServer, Request, Response

logger = logging.getLogger(__name__)

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

FUNCTION_NAME = "lakegate-local"
_MALFORMED = "The request is not valid HTTP/1.1."
_REFUSED = {
    413: "The request body is over the function's payload quota.",
    414: "The request line is too long.",
    431: "The request's header fields are too large.",
}
URL_ID = "local0000000000000000000000000000"


class LocalContext(LambdaContext):
    """A LambdaContext as Lambda's runtime fills it in, with a deadline counted from now."""

    def __init__(self, aws_request_id: str, timeout_seconds: float) -> None:
        self._aws_request_id = aws_request_id
        self._function_name = FUNCTION_NAME
        self._function_version = "$LATEST"
        self._memory_limit_in_mb = 1024
        self._invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:000000000000:function:{FUNCTION_NAME}"
        )
        self._log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
        self._log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    # Powertools declares this a staticmethod stub; Lambda's own context binds it.
    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def build_event(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    request_id: str,
) -> dict[str, Any]:
    """The Lambda Function URL (payload format 2.0) event for one HTTP request."""
    parts = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    # Lambda joins repeated query keys with commas here; rawQueryString keeps them apart.
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": URL_ID,
            "domainName": merged.get("host", "127.0.0.1"),
            "domainPrefix": URL_ID,
            "http": {
                "method": method,
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if cookies:
        event["cookies"] = cookies
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


class ContainerPool:
    """Simulated Lambda containers: reuse an idle one, start a new one up to `limit`.

    Each serves one invocation at a time, as Lambda's do, and has its own handler (its
    resolver holds that invocation's event): what a container is to the code it runs."""

    def __init__(self, limit: int) -> None:
        self._factory: Callable[[], LambdaHandler] | None = None
        self._limit = limit
        self._idle: queue.LifoQueue[LambdaHandler] = queue.LifoQueue()
        self._started = 0
        self._lock = threading.Lock()

    @property
    def started(self) -> int:
        return self._started

    def deploy(self, factory: Callable[[], LambdaHandler]) -> None:
        """The code every container starts from: `factory()` is one container's handler."""
        self._factory = factory

    def acquire(self) -> LambdaHandler:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._started < self._limit:
                if self._factory is None:
                    raise RuntimeError("no code deployed to the function yet")
                self._started += 1
                return self._factory()
        return self._idle.get()  # every container is busy: wait, as Lambda would throttle

    def release(self, handler: LambdaHandler) -> None:
        self._idle.put(handler)


class FunctionUrlServer(HttpServer):
    """The Function URL, and the function behind it: each request is one invocation on a
    pooled container. The server exists before its code (`deploy`), as a function does:
    the code it runs invokes it asynchronously (`invoke_async`, stale refreshes)."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        max_containers: int = 16,
        timeout_seconds: float = 30.0,
    ) -> None:
        super().__init__(address, self._respond)
        self.pool = ContainerPool(max_containers)
        self.timeout_seconds = timeout_seconds
        self.async_started = 0  # asynchronous invocations started (tests count them)

    def deploy(self, factory: Callable[[], LambdaHandler]) -> FunctionUrlServer:
        """Run `factory()`'s handlers, one per container, from now on."""
        self.pool.deploy(factory)
        return self

    def refusal(self, status: int, reason: str) -> Response:
        """lakegate's JSON error for a request refused before any invocation (a request line
        HTTP does not allow, framing that cannot be trusted, a body over the quota): the
        front door refuses these in AWS too, and clients read one error shape everywhere."""
        if status == 400:
            answer = error_response(BadRequest("malformed_request", _MALFORMED), None)
        else:
            answer = error(status, "malformed_request", _REFUSED.get(status, _MALFORMED), None)
        headers = [("Content-Type", JSON), *((k, str(v)) for k, v in answer.headers.items())]
        return Response(status, headers, str(answer.body).encode())

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        handler = self.pool.acquire()
        try:
            request_id = event.get("requestContext", {}).get("requestId") or str(uuid.uuid4())
            return handler(event, LocalContext(request_id, self.timeout_seconds))
        finally:
            self.pool.release(handler)

    def invoke_async(self, event: dict[str, Any]) -> None:
        """Lambda's InvocationType "Event": queued, run on a pooled container, not awaited."""
        threading.Thread(target=self._run_queued, args=(event,), daemon=True).start()
        self.async_started += 1

    def _run_queued(self, event: dict[str, Any]) -> None:
        try:
            self.invoke(event)
        except Exception:  # Lambda retries failed async invocations; the lease is the guard
            logger.exception("asynchronous invocation failed")

    def _respond(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        event = build_event(
            request.method,
            request.target,
            list(request.headers),
            request.body,
            request.client_ip,
            request_id,
        )
        try:
            result = self.invoke(event)
        except Exception:  # what Lambda does when the function itself crashes
            result = {
                "statusCode": 502,
                "headers": {"content-type": "application/json"},
                "body": '{"message":"Internal Server Error"}',
            }
        return http_response(result, request_id)


def http_response(result: dict[str, Any], request_id: str) -> Response:
    """The HTTP response Lambda makes of a function's payload-2.0 result."""
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name, str(value)) for value in values]
    headers += [("Set-Cookie", cookie) for cookie in result.get("cookies") or []]
    headers.append(("x-amzn-RequestId", request_id))
    return Response(int(result.get("statusCode", 200)), headers, body)
