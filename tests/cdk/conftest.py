"""Synthesise each environment's app once per test session (with cdk-nag active).

Synthesis (~3 s per environment) dominates the CDK tests, so every test reads the
same cloud assembly: `Template.from_json` on the written templates instead of
`Template.from_stack`, which would synthesise again for each call.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Before the first aws_cdk import: jsii starts node then, and prints a banner otherwise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App
from aws_cdk.assertions import Template
from lakegate_cdk.application import LakegateStacks, add_nag, build
from lakegate_cdk.config import LakegateConfig, load_config

from handler.catalogue import Catalogue

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_DIR = REPO_ROOT / "cdk"

ENVIRONMENTS = ("dev", "prod")
ROLES = ("EdgeSecurity", "Api", "EdgeMonitoring")


@dataclass(frozen=True)
class Synthesized:
    """One environment's app after a successful synth (nag passed, or synth would raise)."""

    config: LakegateConfig
    app: App
    stacks: LakegateStacks
    outdir: Path

    def template_path(self, role: str) -> Path:
        return self.outdir / f"Lakegate-{self.config.env_name}-{role}.template.json"

    def raw(self, role: str) -> dict[str, Any]:
        template: dict[str, Any] = json.loads(self.template_path(role).read_text(encoding="utf-8"))
        return template

    def template(self, role: str) -> Template:
        return Template.from_json(self.raw(role))

    def logical_id(self, role: str, construct: object) -> str:
        stack = getattr(self.stacks, _attribute(role))
        logical_id: str = stack.resolve(construct.node.default_child.logical_id)  # type: ignore[attr-defined]
        return logical_id


def _attribute(role: str) -> str:
    return {"EdgeSecurity": "edge_security", "Api": "api", "EdgeMonitoring": "edge_monitoring"}[
        role
    ]


def synthesize(
    env_name: str,
    outdir: Path,
    catalogue: Catalogue | None = None,
    function: dict[str, Any] | None = None,
) -> Synthesized:
    """Build and synthesise like `cdk/app.py` does (with `catalogue` instead of the
    packaged one, and the environment's `lambda` section changed by `function`, if
    given); raises on an unacknowledged nag finding. Bundling is skipped, as CDK does for
    stacks it will not deploy: a zip package's asset is then recorded from its sources,
    without the wheels `make lambda-wheels` downloads (tests/cdk/test_packaging.py
    bundles one for real)."""
    app = App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})
    config = load_config(env_name)
    if function is not None:
        config = config.model_copy(update={"function": config.function.model_copy(update=function)})
    stacks = build(app, config, catalogue)
    add_nag(app)
    app.synth()
    return Synthesized(config=config, app=app, stacks=stacks, outdir=outdir)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    return {env: synthesize(env, tmp_path_factory.mktemp(f"cdk-{env}")) for env in ENVIRONMENTS}


# The other packaging, with tracing off: every setting an environment's `lambda` section
# can change from the image's defaults.
ZIPPED = {"packaging": "zip", "tracing": False}


@pytest.fixture(scope="session")
def zipped(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """dev, packaged as a zip with SnapStart and without X-Ray."""
    return synthesize("dev", tmp_path_factory.mktemp("cdk-dev-zip"), function=ZIPPED)


@pytest.fixture(scope="session")
def dev(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["prod"]


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def env(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    """Each environment in turn, for properties that hold everywhere."""
    return synthesized[request.param]
