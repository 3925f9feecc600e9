"""moto's server as `python -m local.moto_server HOST PORT`, applying one write at a time.

moto's backends take no locks: two concurrent conditional writes to one item can both
see their condition hold and both succeed, which DynamoDB never allows (a conditional
write is atomic per item). Single flight rests on exactly that guarantee, so the
embedded stack serves moto's application behind a readers-writer lock: a write (any
DynamoDB call but the reads below, any S3 call but GET and HEAD) is applied alone, as
atomically as DynamoDB would; reads run side by side, never beside a write. Serving
everything in turn was atomic too, but a stampede's waiters, polling, then queued in
front of the leader's lease renewals: on a busy machine a renewal came too late and a
second statement ran.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

Application = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


_DYNAMODB_READS = frozenset(
    {"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables"}
)


class ReadersWriter:
    """Many readers or one writer; a waiting writer holds back new readers, so renewals
    are not starved by a stream of reads."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    def read(self, work: Callable[[], list[bytes]]) -> list[bytes]:
        with self._turn:
            self._turn.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            return work()
        finally:
            with self._turn:
                self._readers -= 1
                self._turn.notify_all()

    def write(self, work: Callable[[], list[bytes]]) -> list[bytes]:
        with self._turn:
            self._writers_waiting += 1
            self._turn.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            return work()
        finally:
            with self._turn:
                self._writing = False
                self._turn.notify_all()


def is_read(environ: dict[str, Any]) -> bool:
    """Whether a request only reads: a DynamoDB read by its target, or an S3 GET/HEAD."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rpartition(".")[2] in _DYNAMODB_READS
    return environ.get("REQUEST_METHOD") in ("GET", "HEAD")


def one_write_at_a_time(application: Application) -> Application:
    """The WSGI `application`, each write applied (and its body produced) alone."""
    lock = ReadersWriter()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        def work() -> list[bytes]:
            return list(application(environ, start_response))

        return lock.read(work) if is_read(environ) else lock.write(work)

    return guarded


def main(argv: list[str] | None = None) -> None:
    host, port = (argv or sys.argv[1:])[:2]
    application = one_write_at_a_time(DomainDispatcherApplication(create_backend_app))
    run_simple(host, int(port), application, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
