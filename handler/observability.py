"""What the operator sees: metrics (CloudWatch EMF through Powertools) and X-Ray traces.

Metrics: the cache records its outcomes through `EmfRecorder` (one CloudWatch embedded
metric format line per invocation); `record_response` adds the function's own view of
every answer, which Lambda's `Errors` never sees (a 502/503/504 from the error table is
a handled response, not a failed invocation):

    Responses                   one per Function URL answer
    Status2xx … Status5xx       per status class
    Status500, Status502, …     each 5xx code (a bounded set: 500 to 599)
    Latency<Outcome>            milliseconds per answer, by the cache's outcome as the
                                route reported it (LatencyHit, LatencyMiss, …; a derived
                                miss is a miss; LatencyNone without one)

Traces: Powertools Tracer, built only where tracing is active (in Lambda, unless
POWERTOOLS_TRACE_DISABLED: handler.settings.tracing_active). Elsewhere, or where an
environment turns tracing off, there is no Tracer at all, so X-Ray's SDK is never
imported (~100 ms of every cold start) and every helper here is a no-op. The handler's
subsegment carries the annotations `dataset` and `cache_outcome`; `## cache lookup`,
`## statement` and `## shaping` time the three phases of a request. Nothing else is
recorded: no response body (capture_response is off), no header, no query text, no
secret.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from cache import DynamoCacheStore, Entry, Lookup, Outcome, Recorder
from handler.settings import tracing_active

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

RESPONSES = "Responses"
LATENCY_PREFIX = "Latency"
# Only the I/O a request does: DynamoDB/S3/Secrets Manager (botocore) and the
# warehouse (requests). Patching every module X-Ray knows would only add cold start.
TRACED_MODULES = ("botocore", "requests")


def _tracer() -> Tracer:
    from aws_lambda_powertools import Tracer  # imports X-Ray's SDK: only when tracing

    return Tracer(service="lakegate", patch_modules=TRACED_MODULES)


# The one tracer of a container (None: tracing is off); tests swap in an enabled one.
TRACER: Tracer | None = _tracer() if tracing_active() else None

F = TypeVar("F", bound=Callable[..., Any])


class EmfRecorder:
    """The cache's Recorder: what an invocation recorded, as one line of CloudWatch's
    embedded metric format on stdout (Lambda sends it to CloudWatch Logs, which makes it
    metrics), dimensioned by `service`.

    The document Powertools' Metrics would write for the same metrics
    (tests/handler/test_tracing.py compares them), without its cost: Powertools checks
    every name and unit on every add, ~50 µs an invocation, a quarter of a hit's own
    work; ours are constants."""

    MOST = 100  # CloudWatch's limit for one document: metrics, and values of one metric

    def __init__(self, namespace: str, service: str) -> None:
        self._namespace = namespace
        self._service = service
        self._units: dict[str, str] = {}
        self._values: dict[str, list[float]] = {}

    def count(self, name: str, value: int = 1) -> None:
        self._add(name, "Count", value)

    def milliseconds(self, name: str, value: float) -> None:
        self._add(name, "Milliseconds", value)

    def _add(self, name: str, unit: str, value: float) -> None:
        values = self._values.get(name)
        if values is None:
            if len(self._values) == self.MOST:
                self.flush()
            self._units[name] = unit
            values = self._values[name] = []
        values.append(float(value))
        if len(values) == self.MOST:
            self.flush()

    def flush(self) -> None:
        # An invocation that recorded nothing (healthz) writes nothing.
        if not self._values:
            return
        definitions = [{"Name": name, "Unit": unit} for name, unit in self._units.items()]
        document = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self._namespace,
                        "Dimensions": [["service"]],
                        "Metrics": definitions,
                    }
                ],
            },
            "service": self._service,
            **self._values,
        }
        self._units, self._values = {}, {}
        sys.stdout.write(orjson.dumps(document).decode() + "\n")


# Both pure, over a few dozen values, and asked on every answer: worked out once each.
@cache
def status_metrics(status: int) -> tuple[str, ...]:
    """The counters one answer of `status` adds to."""
    names = (RESPONSES, f"Status{status // 100}xx")
    return (*names, f"Status{status}") if 500 <= status <= 599 else names


@cache
def latency_metric(outcome: Outcome | None) -> str:
    """`LatencyHit`, `LatencyStaleIfError`, …; `LatencyNone` for answers without an outcome."""
    words = (outcome.plain if outcome else "none").split("-")
    return LATENCY_PREFIX + "".join(word.capitalize() for word in words)


def record_response(
    recorder: Recorder, response: Mapping[str, Any], elapsed_ms: float, outcome: Outcome | None
) -> None:
    """Count one Function URL answer by status, and time it by the cache's `outcome` (None:
    not a data answer)."""
    status = int(response.get("statusCode", 200))
    for name in status_metrics(status):
        recorder.count(name)
    recorder.milliseconds(latency_metric(outcome), elapsed_ms)


@contextmanager
def traced(phase: str) -> Iterator[None]:
    """A subsegment `## <phase>` around the block; nothing at all while tracing is off."""
    tracer = TRACER
    if tracer is None or tracer.disabled:
        yield
        return
    with tracer.provider.in_subsegment(name=f"## {phase}"):
        yield


def annotate(**annotations: str) -> None:
    """Searchable annotations on the current subsegment (X-Ray filter expressions)."""
    tracer = TRACER
    if tracer is None or tracer.disabled:
        return
    for key, value in annotations.items():
        tracer.put_annotation(key=key, value=value)


def trace_invocations(handle: F) -> F:
    """The handler in a subsegment of its own, without its response (bodies stay out of
    traces) or its errors' text; unchanged while tracing is off."""
    tracer = TRACER
    if tracer is None or tracer.disabled:
        return handle
    return tracer.capture_lambda_handler(handle, capture_response=False, capture_error=False)  # type: ignore[return-value]


class TracedCacheStore(DynamoCacheStore):
    """The DynamoDB store, its lookup (the hit path's one round trip) a subsegment."""

    def lookup(self, dataset: str, key: str) -> Lookup:
        with traced("cache lookup"):
            return super().lookup(dataset, key)

    def load_body(self, entry: Entry) -> bytes:
        with traced("cache body"):
            return super().load_body(entry)
