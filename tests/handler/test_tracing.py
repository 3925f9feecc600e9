"""Observability: the handler's own status and latency metrics, and X-Ray subsegments that
carry the dataset and cache outcome and nothing secret; all of it off outside Lambda."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# aws-xray-sdk ships no type information (the stubs are types-aws-xray-sdk, not installed).
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.sdk_config import SDKConfig

from cache import CountingRecorder, Outcome
from handler import observability
from handler.observability import (
    EmfRecorder,
    latency_metric,
    record_response,
    status_metrics,
    traced,
)
from handler.settings import tracing_active


def test_status_metrics_count_every_answer_by_class_and_each_5xx_by_code() -> None:
    assert status_metrics(200) == ("Responses", "Status2xx")
    assert status_metrics(404) == ("Responses", "Status4xx")
    assert status_metrics(504) == ("Responses", "Status5xx", "Status504")


@pytest.mark.parametrize(
    ("outcome", "metric"),
    [
        (Outcome.HIT, "LatencyHit"),
        (Outcome.STALE_IF_ERROR, "LatencyStaleIfError"),
        (Outcome.REFRESHED, "LatencyRefreshed"),
        # Answers made from a roll-up are timed as the miss or refresh they are.
        (Outcome.DERIVED, "LatencyMiss"),
        (Outcome.REFRESHED_DERIVED, "LatencyRefreshed"),
        (None, "LatencyNone"),
    ],
)
def test_latency_metric_names_follow_the_outcome(outcome: Outcome | None, metric: str) -> None:
    assert latency_metric(outcome) == metric


def test_record_response_counts_one_answer_and_times_it_by_the_outcome_it_is_given() -> None:
    """The outcome is a value the route reported: the answer's Cache-Status is never read
    back (here it says a hit; the route said a miss)."""
    recorder = CountingRecorder()
    response = {"statusCode": 503, "headers": {"cache-status": "lakegate; hit; ttl=3"}}
    record_response(recorder, response, 12.5, Outcome.MISS)
    assert recorder.counts == {"Responses": 1, "Status5xx": 1, "Status503": 1}
    assert recorder.timings == {"LatencyMiss": [12.5]}


def _emf_lines(text: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in text.splitlines() if line]
    for document in documents:
        assert isinstance(document["_aws"].pop("Timestamp"), int)
    return documents


def test_an_invocation_writes_the_emf_line_powertools_would(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same document as Powertools' Metrics for the same metrics, and one per flush."""
    ours = EmfRecorder(namespace="Lakegate", service="lakegate")
    theirs = Metrics(namespace="Lakegate", service="lakegate")
    for recorder in (ours, PowertoolsRecorder(theirs)):
        recorder.count("CacheHit")
        recorder.count("Responses")
        recorder.count("Responses", 2)
        recorder.milliseconds("LatencyHit", 3.25)
        recorder.flush()
    ours.flush()  # nothing recorded since: nothing written
    mine, powertools = _emf_lines(capsys.readouterr().out)
    assert mine == powertools
    assert mine["Responses"] == [1.0, 2.0]
    assert mine["_aws"]["CloudWatchMetrics"][0]["Metrics"][-1] == {
        "Name": "LatencyHit",
        "Unit": "Milliseconds",
    }


def test_a_full_document_is_written_before_it_overflows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """CloudWatch takes at most 100 metrics a document, and 100 values a metric."""
    recorder = EmfRecorder(namespace="Lakegate", service="lakegate")
    for n in range(EmfRecorder.MOST + 1):
        recorder.count(f"Metric{n}")
    for _ in range(EmfRecorder.MOST + 1):
        recorder.count("Repeated")
    recorder.flush()
    documents = _emf_lines(capsys.readouterr().out)
    metrics = [len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in documents]
    assert all(m <= EmfRecorder.MOST for m in metrics)
    assert sum(len(d.get("Repeated", [])) for d in documents) == EmfRecorder.MOST + 1
    assert all(len(d.get("Repeated", [])) <= EmfRecorder.MOST for d in documents)
    assert sum(metrics) == EmfRecorder.MOST + 1 + len([d for d in documents if "Repeated" in d])


class PowertoolsRecorder:
    """Powertools' Metrics behind the Recorder interface: the oracle for EmfRecorder."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def count(self, name: str, value: int = 1) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def milliseconds(self, name: str, value: float) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)

    def flush(self) -> None:
        self._metrics.flush_metrics(raise_on_empty_metrics=False)


def test_an_answer_without_an_outcome_is_timed_as_none() -> None:
    recorder = CountingRecorder()
    record_response(recorder, {"statusCode": 200, "headers": {}}, 1.0, None)
    assert recorder.timings == {"LatencyNone": [1.0]}


def test_outside_lambda_tracing_is_off_and_costs_nothing() -> None:
    assert observability.TRACER is None  # no Tracer at all: X-Ray's SDK stays unloaded
    handle: Callable[[dict[str, Any], object], dict[str, Any]] = lambda event, context: {}  # noqa: E731
    assert observability.trace_invocations(handle) is handle
    with traced("statement"):
        pass  # no segment is open: an enabled provider would raise here
    observability.annotate(dataset="drivers")


@pytest.mark.parametrize(
    ("environment", "active"),
    [
        ({}, False),  # outside Lambda
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_is_active_in_lambda_unless_turned_off(
    environment: dict[str, str], active: bool
) -> None:
    """Powertools' own rule, read without building a Tracer (which imports X-Ray's SDK)."""
    assert tracing_active(environment) is active
    if environment.get("LAMBDA_TASK_ROOT") and not environment.get("AWS_SAM_LOCAL"):
        Tracer._reset_config()  # type: ignore[no-untyped-call]  # Powertools' private helper is unannotated
        with pytest.MonkeyPatch.context() as patch:
            for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
                patch.delenv(name, raising=False)
            for name, value in environment.items():
                patch.setenv(name, value)
            assert Tracer(auto_patch=False).disabled is not active  # Powertools agrees
        Tracer._reset_config()  # type: ignore[no-untyped-call]


class _Collecting(UDPEmitter):  # type: ignore[misc]  # UDPEmitter is untyped (Any)
    """Keeps every entity the recorder would send to the X-Ray daemon."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send_entity(self, entity: object) -> None:
        self.sent.append(entity.serialize())  # type: ignore[attr-defined]


@pytest.fixture
def tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Collecting]:
    emitter = _Collecting()
    SDKConfig.set_sdk_enabled(True)
    xray_recorder.configure(emitter=emitter, sampling=False, context_missing="LOG_ERROR")
    # Powertools keeps "disabled" in a config its instances share: start from a clean one.
    Tracer._reset_config()  # type: ignore[no-untyped-call]  # Powertools' private helper is unannotated
    monkeypatch.setattr(
        observability, "TRACER", Tracer(service="lakegate", disabled=False, auto_patch=False)
    )
    segment: Segment = xray_recorder.begin_segment("lakegate-test")
    yield emitter
    xray_recorder.end_segment()
    emitter.sent.append(segment.serialize())
    Tracer._reset_config()  # type: ignore[no-untyped-call]  # Powertools' private helper is unannotated
    SDKConfig.set_sdk_enabled(False)


def test_phases_are_subsegments_with_searchable_annotations(tracing: _Collecting) -> None:
    with traced("cache lookup"):
        observability.annotate(dataset="drivers", cache_outcome="miss")
    with traced("statement"), traced("shaping"):
        pass
    xray_recorder.end_segment()
    xray_recorder.begin_segment("next")
    documents = [json.loads(s) for s in tracing.sent]
    names = {sub["name"] for doc in documents for sub in _subsegments(doc)}
    assert {"## cache lookup", "## statement", "## shaping"} <= names
    (lookup,) = (s for d in documents for s in _subsegments(d) if s["name"] == "## cache lookup")
    assert lookup["annotations"] == {"dataset": "drivers", "cache_outcome": "miss"}


def test_the_traced_handler_records_no_response_body_or_secret(tracing: _Collecting) -> None:
    secret = "dapi-secret-token-0123456789"

    def handle(event: dict[str, Any], context: object) -> dict[str, Any]:
        return {"statusCode": 200, "body": f"rows and a {secret}"}

    class Context:
        function_name = "lakegate-test"

    traced_handle = observability.trace_invocations(handle)
    assert traced_handle is not handle
    traced_handle({"headers": {"authorization": secret}}, Context())
    xray_recorder.end_segment()
    xray_recorder.begin_segment("next")
    assert tracing.sent
    assert not [s for s in tracing.sent if secret in s]


def _subsegments(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every subsegment in a document; the recorder streams closed ones on their own."""
    if document.get("type") == "subsegment":
        yield document
    for sub in document.get("subsegments", []):
        yield sub
        yield from _subsegments(sub)
