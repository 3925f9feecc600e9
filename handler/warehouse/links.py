"""EXTERNAL_LINKS downloads: each chunk's presigned file, fetched in parallel under the Deadline.

A presigned link is a credential for cloud storage, not for the workspace, so:

- it is fetched with a session of its own that never carries the bearer token (the
  storage refuses a request with two credentials, and the token must not leave the
  workspace host), never following a redirect;
- it must be https, unless the workspace itself is plain http (the embedded stack);
- each download ends by the deadline, however slowly the file arrives
  (handler.warehouse.watchdog);
- its URL and the headers that come with it are never logged (the wire model keeps
  them out of its repr too, and urllib3's DEBUG request lines lose their query string,
  where the signature is).

`fetch_all` starts each chunk's download as soon as its link is known, while the
caller walks on along the chunk chain. Each chunk is then a small state machine:

    download    a worker GETs the link; 5xx and broken connections are tried again
                (capped backoff) while the budget lasts, at most DOWNLOAD_ATTEMPTS times
    expired     the stated expiration has passed, or the storage answers 403: the
                caller's `refresh` (GET .../result/chunks/{i}, on the calling thread) hands
                a fresh link, at most LINK_REFRESHES times per chunk
    failed      anything else (4xx, a redirect, out of attempts): WarehouseRejected
    timeout     the budget ends first: WarehouseTimeout; nothing unfinished is waited for
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from aws_lambda_powertools import Logger

from handler.errors import WarehouseRejected, WarehouseTimeout
from handler.warehouse import watchdog
from handler.warehouse.deadline import Deadline, backoff_seconds
from handler.warehouse.wire import ExternalLink

logger = Logger(service="lakegate", child=True)

DOWNLOAD_WORKERS = 4
DOWNLOAD_ATTEMPTS = 3
LINK_REFRESHES = 2
# A link this close to its expiration is refreshed before use: it could die in flight.
_EXPIRY_MARGIN_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Expired:
    """A download's outcome when the link must be replaced first."""


_EXPIRED = _Expired()
Refresh = Callable[[int], ExternalLink]


class Downloads:
    """One container's storage session and the rules its downloads follow."""

    def __init__(
        self,
        session: requests.Session,
        *,
        allow_http: bool,
        connect_timeout: float,
        read_timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = watchdog.watched(session)
        self._allow_http = allow_http
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._sleep = sleep
        self._wall_clock = wall_clock
        pool_logger = logging.getLogger("urllib3.connectionpool")
        if not any(isinstance(f, _QueryRedacted) for f in pool_logger.filters):
            pool_logger.addFilter(_QueryRedacted())

    def check(self, link: ExternalLink, statement_id: str) -> None:
        """Refuse a link lakegate will not fetch, before anything is sent to it."""
        parts = urlsplit(link.external_link)
        schemes = ("https", "http") if self._allow_http else ("https",)
        if parts.scheme not in schemes or not parts.hostname or parts.username is not None:
            logger.warning(
                "result link refused",
                extra={"statement_id": statement_id, "chunk_index": link.chunk_index},
            )
            raise WarehouseRejected("result link is not https", statement_id=statement_id)

    def fetch_all(
        self,
        links: Iterable[tuple[int, ExternalLink]],
        refresh: Refresh,
        deadline: Deadline,
        statement_id: str,
    ) -> list[bytes]:
        """Every chunk's file, in chunk order; raises WarehouseRejected or WarehouseTimeout.

        `links` is consumed on the calling thread (it may be the walk along the chunk
        chain, one GET per chunk), and each link's download starts as soon as it comes.
        """
        bodies: dict[int, bytes] = {}
        refreshes: dict[int, int] = {}
        # Threads start with the first downloads; a one-chunk result uses one.
        pool = ThreadPoolExecutor(DOWNLOAD_WORKERS, "result-download")
        running: dict[Future[bytes | _Expired], int] = {}
        try:
            for index, link in links:
                refreshes[index] = 0
                running[self._start(pool, link, index, deadline, statement_id)] = index
            while running:
                done, _ = wait(running, timeout=deadline.remaining(), return_when=FIRST_COMPLETED)
                if not done:
                    raise WarehouseTimeout(
                        "result download outlived its time budget", statement_id=statement_id
                    )
                for future in done:
                    index = running.pop(future)
                    outcome = future.result()  # a download's own error ends the whole fetch
                    if not isinstance(outcome, _Expired):
                        bodies[index] = outcome
                        continue
                    refreshes[index] += 1
                    if refreshes[index] > LINK_REFRESHES:
                        raise WarehouseRejected(
                            "result links kept expiring", statement_id=statement_id
                        )
                    fresh = refresh(index)
                    self.check(fresh, statement_id)
                    running[self._start(pool, fresh, index, deadline, statement_id)] = index
        finally:
            # Queued downloads are dropped; running ones end within their read timeout.
            pool.shutdown(wait=False, cancel_futures=True)
        return [bodies[index] for index in sorted(bodies)]

    # -- one chunk ---------------------------------------------------------------------

    def _start(
        self,
        pool: ThreadPoolExecutor,
        link: ExternalLink,
        index: int,
        deadline: Deadline,
        statement_id: str,
    ) -> Future[bytes | _Expired]:
        # In the caller's context: its log lines carry the invocation's keys (request id).
        run = contextvars.copy_context().run
        return pool.submit(run, self._download, link, index, deadline, statement_id)

    def _download(
        self, link: ExternalLink, index: int, deadline: Deadline, statement_id: str
    ) -> bytes | _Expired:
        if self._expired(link):
            return _EXPIRED
        attempt = 0
        while True:
            failure = self._attempt(link, index, deadline, statement_id)
            if not isinstance(failure, _Transient):
                return failure
            attempt += 1
            pause = backoff_seconds(attempt - 1)
            if attempt >= DOWNLOAD_ATTEMPTS:
                raise WarehouseRejected(
                    "result storage kept failing", statement_id=statement_id
                ) from failure.cause
            if deadline.remaining() <= pause:
                raise WarehouseTimeout(
                    "result storage failing at the end of the time budget",
                    statement_id=statement_id,
                ) from failure.cause
            self._sleep(pause)

    def _attempt(
        self, link: ExternalLink, index: int, deadline: Deadline, statement_id: str
    ) -> bytes | _Expired | _Transient:
        if deadline.expired():
            raise WarehouseTimeout("no time budget left to download", statement_id=statement_id)
        seconds = max(0.5, deadline.remaining())
        with watchdog.bounded(seconds) as watch:
            try:
                response = self._session.get(
                    link.external_link,
                    # Only the headers the warehouse asked for: never the bearer token.
                    headers=dict(link.http_headers),
                    timeout=(self._connect_timeout, min(self._read_timeout, seconds)),
                    allow_redirects=False,
                )
                status, body = response.status_code, response.content
            except requests.RequestException as exc:  # refused, reset, timed out, cut short
                self._log(statement_id, index, None)
                if watch.expired:
                    raise WarehouseTimeout(
                        "result download outlived its time budget", statement_id=statement_id
                    ) from exc
                return _Transient(exc)
        if status == 200:
            return body
        self._log(statement_id, index, status)
        if status == 403:  # S3, Azure and GCS all answer an expired signature so
            return _EXPIRED
        if status == 429 or status >= 500:
            return _Transient(None)
        raise WarehouseRejected(f"result storage answered {status}", statement_id=statement_id)

    def _expired(self, link: ExternalLink) -> bool:
        if link.expiration is None:
            return False
        try:
            expires = dt.datetime.fromisoformat(link.expiration)
        except ValueError:
            return False  # a date we cannot read: let the storage decide
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        return expires.timestamp() <= self._wall_clock() + _EXPIRY_MARGIN_SECONDS

    def _log(self, statement_id: str, index: int, status: int | None) -> None:
        logger.warning(
            "result download failed",
            extra={"statement_id": statement_id, "chunk_index": index, "http_status": status},
        )


@dataclass(frozen=True, slots=True)
class _Transient:
    """A failure worth another try: a 5xx/429, or the connection failing."""

    cause: BaseException | None


class _QueryRedacted(logging.Filter):
    """urllib3 logs each request line at DEBUG; a presigned query string is a credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.split("?", 1)[0] + "?…" if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True
