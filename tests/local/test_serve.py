"""`lakegate serve` (local.serve): what it tells the developer once the stack is up."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from local.serve import _announce


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
