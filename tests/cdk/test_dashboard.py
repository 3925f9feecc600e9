"""The operator's dashboard: each tier's requests and hit ratio, statements, latency by
outcome, the function's own status codes, WAF blocks by rule, concurrency."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lakegate_cdk.edge_security_stack import rule_names

from .conftest import Synthesized

ROLE = "Api"


@pytest.fixture
def body(env: Synthesized) -> dict[str, Any]:
    ((_, dashboard),) = env.template(ROLE).find_resources("AWS::CloudWatch::Dashboard").items()
    assert dashboard["Properties"]["DashboardName"] == f"lakegate-{env.config.env_name}"
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    # Tokens (the distribution id, the function name) become placeholders.
    document: dict[str, Any] = json.loads(
        "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    )
    return document


def _widget(body: dict[str, Any], title_start: str) -> dict[str, Any]:
    widget: dict[str, Any]
    (widget,) = (
        w["properties"]
        for w in body["widgets"]
        if w["properties"].get("title", "").startswith(title_start)
    )
    return widget


def _metric_names(widget: dict[str, Any]) -> list[str]:
    return [m[1] for m in widget["metrics"] if not isinstance(m[0], dict)]


def test_edge_requests_and_cache_hit_rate_come_from_us_east_1(body: dict[str, Any]) -> None:
    hit_rate = _widget(body, "Edge: cache-hit rate")
    assert _metric_names(hit_rate) == ["CacheHitRate"]
    assert hit_rate["metrics"][0][0] == "AWS/CloudFront"
    assert hit_rate["metrics"][0][-1]["region"] == "us-east-1"
    assert _metric_names(_widget(body, "Edge: requests")) == ["Requests"]


def test_origin_outcomes_and_hit_ratio_from_emf(body: dict[str, Any]) -> None:
    outcomes = _metric_names(_widget(body, "Origin: data answers by cache outcome"))
    assert {"CacheHit", "CacheMiss", "CacheStaleServed", "CacheBypass"} <= set(outcomes)
    ratio = _widget(body, "Origin: hit ratio")
    expressions = [m[0]["expression"] for m in ratio["metrics"] if isinstance(m[0], dict)]
    assert len(expressions) == 3


def test_warehouse_statements_per_minute(body: dict[str, Any]) -> None:
    widget = _widget(body, "Warehouse: statements per minute")
    assert {"WarehouseStatements", "RollupFetched", "RollupDerived"} <= set(_metric_names(widget))
    assert all(m[-1]["period"] == 60 for m in widget["metrics"])


def test_p50_and_p99_by_cache_outcome(body: dict[str, Any]) -> None:
    for stat in ("p50", "p99"):
        widget = _widget(body, f"Latency {stat}")
        assert {"LatencyHit", "LatencyMiss", "LatencyStale"} <= set(_metric_names(widget))
        assert {m[-1]["stat"] for m in widget["metrics"]} == {stat}


def test_the_functions_own_status_codes(body: dict[str, Any]) -> None:
    widget = _widget(body, "Function: its own status codes")
    assert {"Status2xx", "Status4xx", "Status502", "Status503", "Status504"} <= set(
        _metric_names(widget)
    )


def test_waf_blocks_by_every_rule(env: Synthesized, body: dict[str, Any]) -> None:
    widget = _widget(body, "Edge: WAF blocks by rule")
    rules = [m[-1]["label"] for m in widget["metrics"]]
    assert rules == list(rule_names(env.config))
    assert all(m[-1]["region"] == "us-east-1" for m in widget["metrics"])


def test_concurrency_against_the_reserved_limit(env: Synthesized, body: dict[str, Any]) -> None:
    widget = _widget(body, "Function: concurrency")
    assert {"ConcurrentExecutions", "Throttles"} <= set(_metric_names(widget))
    (annotation,) = widget["annotations"]["horizontal"]
    assert annotation["value"] == env.config.function.reserved_concurrency
