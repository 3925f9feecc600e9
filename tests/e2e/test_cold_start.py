"""Cold start: what a fresh container loads, as Lambda starts it (`import handler.app`, then
one request), and what it leaves for later.

A hit loads no dataframe library, no miss path, no X-Ray SDK without tracing and no
OpenAPI document; each of those loads when it is asked for (the controls prove the
probe would notice). With SnapStart, the snapshot holds the miss path already.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from handler.snapstart import MISS_PATH
from local.function_url import build_event
from local.stack import EmbeddedStack
from tools.bench.cold_hit import cold_hit
from tools.hit_probe import probe

HIT = "/v1/drivers?state=Alaska&year=2011"
MISS = "/v1/drivers?state=Alaska&year=1999&limit=7"
MISS_MODULES = {*MISS_PATH, "handler.rollups", "handler.warehouse.client", "polars"}
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"
# The runtime's hook registry (`snapshot_restore_py`, in every Python managed runtime),
# standing in for it outside Lambda: the same four functions, the same records.
SNAPSHOT_RESTORE = """
_before, _after = [], []
def register_before_snapshot(func, *args, **kwargs):
    _before.append((func, args, kwargs))
    return func
def register_after_restore(func, *args, **kwargs):
    _after.append((func, args, kwargs))
    return func
def get_before_snapshot():
    return list(_before)
def get_after_restore():
    return list(_after)
"""


def _lambda(stack: EmbeddedStack, **switches: str) -> dict[str, str]:
    """The stack's function environment, as Lambda's init sees it (LAMBDA_TASK_ROOT)."""
    return {
        **os.environ,
        **stack.environment,
        "LAMBDA_TASK_ROOT": os.environ.get("TMPDIR", "/tmp"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        **switches,
    }


def _first(stack: EmbeddedStack, path: str, **switches: str) -> dict[str, Any]:
    event = build_event("GET", path, [("accept-encoding", "gzip")], b"", "127.0.0.1", "cold")
    return cold_hit(_lambda(stack, **switches), event)


@pytest.fixture(scope="module")
def stored(stack: EmbeddedStack) -> Iterator[EmbeddedStack]:
    requests.get(f"{stack.url}{HIT}", timeout=30).raise_for_status()  # the hit's entry
    yield stack


def test_a_cache_hit_imports_no_dataframe_library(stack: EmbeddedStack) -> None:
    requests.get(f"{stack.url}{HIT}", timeout=30).raise_for_status()  # store it
    report = probe(stack, HIT)
    assert report["status"] == 200
    assert str(report["cache_status"]).startswith("lakegate; hit")
    assert report["polars_imported"] is False
    assert report["duckdb_imported"] is False
    assert report["pandas_imported"] is False


def test_a_miss_does_import_polars(stack: EmbeddedStack) -> None:
    """The control: the probe would notice polars if the path loaded it."""
    report = probe(stack, MISS)
    assert str(report["cache_status"]).startswith("lakegate; fwd=miss; stored")
    assert report["polars_imported"] is True
    # Its memory figures (the exports bench sizes the function by them) are this process's.
    assert 0 < report["ready_rss_mb"] < report["peak_rss_mb"]


def test_lambdas_init_and_first_hit_leave_the_miss_path_the_document_and_xray_alone(
    stored: EmbeddedStack,
) -> None:
    report = _first(stored, HIT)
    assert report["status"] == 200
    assert str(report["cache_status"]).startswith("lakegate; hit")
    loaded = {*report["loaded_by_import"], *report["loaded_by_request"]}
    assert "handler.app" in loaded and "cache.store" in loaded  # the probe sees lakegate
    assert not loaded & MISS_MODULES
    assert OPENAPI_MODELS not in loaded
    assert not any(m.startswith("aws_xray_sdk") for m in loaded)


def test_the_first_hit_is_one_batch_get_item_on_the_one_client_built_at_init(
    stored: EmbeddedStack,
) -> None:
    """The S3 client (overflow bodies, presigned links) is built when first needed."""
    event = build_event("GET", HIT, [("accept-encoding", "gzip")], b"", "127.0.0.1", "aws")
    report = cold_hit(_lambda(stored), event, aws=True)
    assert str(report["cache_status"]).startswith("lakegate; hit")
    assert report["aws_by_import"] == ["client:dynamodb"]
    assert report["aws_by_request"] == ["BatchGetItem"]


def test_with_tracing_active_the_xray_sdk_is_loaded(stored: EmbeddedStack) -> None:
    """The control for X-Ray: it is the switch that keeps the SDK out, not the probe."""
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    report = _first(stored, HIT, POWERTOOLS_TRACE_DISABLED="false", _X_AMZN_TRACE_ID=trace)
    assert report["status"] == 200
    assert any(m.startswith("aws_xray_sdk") for m in report["loaded_by_import"])


def test_the_first_miss_loads_the_miss_path(stored: EmbeddedStack) -> None:
    report = _first(stored, "/v1/drivers?state=Alaska&year=1998&limit=3")
    assert str(report["cache_status"]).startswith("lakegate; fwd=miss; stored")
    assert not set(report["loaded_by_import"]) & MISS_MODULES
    assert set(report["loaded_by_request"]) >= {"handler.datasets", "polars"}


def test_the_document_is_built_when_swagger_is_asked(stored: EmbeddedStack) -> None:
    report = _first(stored, "/swagger?format=json")
    assert report["status"] == 200
    assert OPENAPI_MODELS not in report["loaded_by_import"]
    assert OPENAPI_MODELS in report["loaded_by_request"]


def test_a_snapstart_snapshot_holds_the_miss_path(stored: EmbeddedStack, tmp_path: Path) -> None:
    """Before the snapshot the container loads what its first miss would: a container
    resumed from it loads nothing of lakegate, and no polars, to answer one."""
    (tmp_path / "snapshot_restore_py.py").write_text(SNAPSHOT_RESTORE)
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    event = build_event(
        "GET", "/v1/drivers?state=Alaska&year=1997&limit=3", [], b"", "127.0.0.1", "snap"
    )
    report = cold_hit(_lambda(stored, PYTHONPATH=path), event, snapshot=True)
    assert str(report["cache_status"]).startswith("lakegate; fwd=miss; stored")
    assert set(report["loaded_by_import"]) >= MISS_MODULES
    assert report["loaded_by_request"] == []
