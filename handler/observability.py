"""Metrics through Powertools (CloudWatch Embedded Metric Format)."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit


class PowertoolsRecorder:
    """The cache's Recorder, writing EMF metrics that Powertools flushes per invocation."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def count(self, name: str, value: int = 1) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def milliseconds(self, name: str, value: float) -> None:
        self._metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)

    def flush(self) -> None:
        # One EMF line per invocation; an invocation that recorded nothing (healthz) prints none.
        self._metrics.flush_metrics(raise_on_empty_metrics=False)
