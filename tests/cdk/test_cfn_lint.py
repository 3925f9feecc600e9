"""cfn-lint on every synthesised template, in the template's own region: no errors, no warnings.

W3005 ("dependency already enforced") is expected: CDK adds explicit DependsOn next
to references in its own constructs.
"""

from __future__ import annotations

import json

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from .conftest import ENVIRONMENTS, ROLES, Synthesized

IGNORED = ["W3005"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_template_is_cfn_lint_clean(
    synthesized: dict[str, Synthesized], env_name: str, role: str
) -> None:
    synth = synthesized[env_name]
    path = synth.template_path(role)
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    environment = manifest["artifacts"][path.stem.removesuffix(".template")]["environment"]
    region = environment.rsplit("/", 1)[1]
    matches = lint(
        path.read_text(encoding="utf-8"),
        config=ManualArgs(regions=[region], ignore_checks=IGNORED),
    )
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []
