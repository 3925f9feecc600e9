"""Every exchange with the warehouse (or its storage) ends by a point in time, however the peer answers.

requests' read timeout bounds each read of the socket, not the exchange: an answer
that drips a byte every half second never trips it, and a 2 KB answer then takes a
quarter of an hour. So each request runs under a Watch: a timer that, when the time
is up, shuts the connection's socket down. The blocked read returns at once, requests
raises (a connection or chunked-encoding error), and the caller, seeing `expired`,
reports the time budget spent rather than a broken connection.

The Watch finds the socket through the connection itself: sessions carry a
WatchedAdapter, whose connections register with the calling thread's Watch just
before they read an answer (`watched(session)` mounts one where it is missing). A
connection shut down this way is discarded by urllib3, never reused.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()  # the Watch of the exchange this thread is in, if any


class Watch:
    """One exchange's timer: once it has fired, the connection it watches is cut."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: HTTPConnection | None = None
        self.expired = False

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            late = self.expired
        if late:
            _cut(connection)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            connection = self._connection
        if connection is not None:
            _cut(connection)


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[Watch]:
    """Run the requests of this block on this thread until `seconds` have passed, at most."""
    watch = Watch()
    timer = threading.Timer(max(0.0, seconds), watch.expire)
    timer.daemon = True
    previous = getattr(_current, "watch", None)
    _current.watch = watch
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        _current.watch = previous


def _cut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is None:
        return
    # The plain socket's shutdown, also under TLS: SSLSocket.shutdown would drop its SSL
    # object while another thread is reading through it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _register(connection: HTTPConnection) -> None:
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _register(self)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _register(self)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections a Watch can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def watched(session: requests.Session) -> requests.Session:
    """`session`, with a WatchedAdapter for http and https wherever it had another."""
    for prefix in ("https://", "http://"):
        if not isinstance(session.get_adapter(prefix), WatchedAdapter):
            # Retries are the client's job, inside its deadline: never urllib3's.
            session.mount(prefix, WatchedAdapter(max_retries=0))
    return session
