"""Logs: no admin token and no API key in any log line, at any level.

Every logger lakegate and Powertools use is captured at DEBUG (what POWERTOOLS_DEBUG
turns on) while requests carrying both credentials, right and wrong, go to every kind
of route: a refused data request, a served one (the warehouse here is unreachable, so
it fails upstream), the admin routes, health and the OpenAPI document.
"""

from __future__ import annotations

import io

import pytest

import handler.container  # noqa: F401  (creates the lakegate loggers the fixture raises)
from cache import CountingRecorder
from handler.catalogue import load_catalogue
from handler.container import new_container, wire
from handler.settings import load_settings
from local.function_url import LocalContext, build_event

API_KEY = "lk_a-consumers-key-that-must-stay-secret"
ADMIN_TOKEN = "admin-token-that-must-stay-secret"
TARGETS = [
    ("GET", "/v1/drivers?bogus=1"),
    ("GET", "/v1/drivers?state=Ohio&year=2010"),
    ("GET", "/admin/cache"),
    ("POST", "/admin/invalidate?dataset=drivers"),
    ("GET", "/healthz"),
    ("GET", "/swagger?format=json"),
]


def test_no_credential_reaches_a_log_line_even_at_debug(
    caplog: pytest.LogCaptureFixture, every_log_line: io.StringIO
) -> None:
    settings = load_settings(
        {
            "DATABRICKS_HOST": "http://127.0.0.1:9",
            "DATABRICKS_WAREHOUSE_ID": "w",
            "DATABRICKS_TOKEN": "dapi-warehouse-token",
            "LAKEGATE_WAIT_TIMEOUT_SECONDS": "0",
            "LAKEGATE_MAX_BUDGET_SECONDS": "0.5",
        }
    )
    recorder = CountingRecorder()
    handler = new_container(load_catalogue(), wire(settings, recorder), recorder)
    statuses = []
    for method, target in TARGETS:
        headers = [("x-api-key", API_KEY), ("x-lakegate-admin-token", ADMIN_TOKEN)]
        event = build_event(method, target, headers, b"", "127.0.0.1", "req-1")
        statuses.append(handler(event, LocalContext("req-1", 30.0))["statusCode"])
    assert statuses[0] == 400 and statuses[4] == 200, "the requests were served"
    assert "upstream failure" in every_log_line.getvalue(), "the capture sees lakegate's logs"
    assert caplog.records, "and Powertools' own"
    logged = (
        every_log_line.getvalue() + caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    )
    for secret in (API_KEY, ADMIN_TOKEN, "dapi-warehouse-token"):
        assert secret not in logged
