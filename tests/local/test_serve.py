"""`lakegate serve` (local.serve): the function's variables from the shell, a busy port and a
bad catalogue in one line each, and what it tells the developer once the stack is up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import yaml

from handler.catalogue import DEFAULT_CATALOGUE
from handler.settings import variables
from local.processes import free_port, start_listening, stop_process
from local.serve import STACK_OWNED, _announce, function_environment


def test_serve_prints_a_generated_token_once(capsys: pytest.CaptureFixture[str]) -> None:
    stack = SimpleNamespace(
        url="http://127.0.0.1:8080",
        admin=object(),
        admin_token="generated-token-xyz",
        admin_token_generated=True,
        emulator=None,
    )
    _announce(stack)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert out.count("generated-token-xyz") == 1
    assert "export LAKEGATE_ADMIN_TOKEN=generated-token-xyz" in out

    stack.admin_token_generated = False
    _announce(stack)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "generated-token-xyz" not in out and "from LAKEGATE_ADMIN_TOKEN" in out


# --- the function's variables, from the shell -----------------------------------------


def test_the_shell_sets_the_functions_variables_but_not_the_stacks_own() -> None:
    shell = {
        "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": "7",
        "LAKEGATE_INLINE_RESPONSE_MAX_BYTES": "123456",
        "LAKEGATE_MISS_BUDGETS": "standard=5,bulk=50",
        "LAKEGATE_CATALOGUE": "/somewhere/catalogue.yaml",
        "LAKEGATE_CACHE_TABLE": "prod-cache",  # the stack's own table, in its moto
        "AWS_REGION": "eu-west-1",
        "DATABRICKS_TOKEN": "dapi-not-the-emulators",  # the warehouse's: see _real_warehouse
        "LAKEGATE_NOT_A_SETTING": "x",
        "HOME": "/root",
    }
    assert function_environment(shell) == {
        "LAKEGATE_STATEMENT_BUDGET_PER_MINUTE": "7",
        "LAKEGATE_INLINE_RESPONSE_MAX_BYTES": "123456",
        "LAKEGATE_MISS_BUDGETS": "standard=5,bulk=50",
        "LAKEGATE_CATALOGUE": "/somewhere/catalogue.yaml",
    }


def test_every_settings_variable_is_known() -> None:
    for name in ("LAKEGATE_ROLLUPS", "LAKEGATE_FAIR_SHARES", "LAKEGATE_CORS_ORIGINS"):
        assert name in variables()
    assert variables() | {"AWS_DEFAULT_REGION"} > STACK_OWNED


# --- lakegate serve, as a developer runs it -------------------------------------------

SERVE = [str(Path(sys.executable).with_name("lakegate")), "serve"]


@pytest.mark.slow
def test_a_busy_port_is_one_line_naming_it_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*SERVE, "--port", str(port)], capture_output=True, text=True, timeout=60, check=False
        )
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr
        == f"lakegate serve: port {port} on 127.0.0.1 is in use; choose another with --port\n"
    )


@pytest.mark.slow
def test_a_bad_catalogue_stops_it_naming_the_field(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    document["datasets"][0]["limit"] = {"default": 10, "maximum": "lots"}
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [*SERVE, "--port", str(free_port()), "--catalogue", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "datasets.0.limit.maximum" in result.stderr


@pytest.mark.slow
def test_serve_reads_the_catalogue_and_settings_from_the_shell(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text())
    document["datasets"] = [d for d in document["datasets"] if d["name"] == "drivers"]
    catalogue = tmp_path / "drivers-only.yaml"
    catalogue.write_text(yaml.safe_dump(document))
    port = free_port()
    environ = {
        **os.environ,
        "LAKEGATE_CATALOGUE": str(catalogue),
        "LAKEGATE_CORS_ORIGINS": "https://dashboards.example.com",
    }
    process = start_listening(
        [*SERVE, "--port", str(port), "--keys-file", str(tmp_path / "keys.json")],
        "127.0.0.1",
        port,
        timeout=120,
        env=environ,
    )
    try:
        answer = requests.get(
            f"http://127.0.0.1:{port}/v1",
            headers={"Origin": "https://dashboards.example.com"},
            timeout=120,
        )
    finally:
        stop_process(process)
    assert [d["name"] for d in answer.json()["datasets"]] == ["drivers"]
    assert answer.headers["Access-Control-Allow-Origin"] == "https://dashboards.example.com"
