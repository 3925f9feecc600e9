"""Assembling an environment: stack names, regions, tags, catalogue checks, the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from lakegate_cdk.application import check_catalogue_fits
from lakegate_cdk.config import ConfigError, load_config

from handler.catalogue import load_catalogue

from .conftest import CDK_DIR, ROLES, Synthesized


def test_three_stacks_named_by_environment(env: Synthesized) -> None:
    stacks = env.stacks
    names = [
        stacks.edge_security.stack_name,
        stacks.api.stack_name,
        stacks.edge_monitoring.stack_name,
    ]
    assert names == [f"Lakegate-{env.config.env_name}-{role}" for role in ROLES]
    assert [s.region for s in (stacks.edge_security, stacks.api, stacks.edge_monitoring)] == [
        "us-east-1",
        env.config.region,
        "us-east-1",
    ]


def test_api_deploys_after_edge_security_and_before_monitoring(env: Synthesized) -> None:
    manifest = json.loads((env.outdir / "manifest.json").read_text())
    depends = {name: set(a.get("dependencies", [])) for name, a in manifest["artifacts"].items()}
    edge, api, monitoring = (f"Lakegate-{env.config.env_name}-{role}" for role in ROLES)
    assert edge in depends[api]
    assert api in depends[monitoring]


def test_resources_are_tagged(env: Synthesized) -> None:
    for role in ROLES:
        env.template(role).has_resource_properties(
            "AWS::SNS::Topic" if role != "EdgeSecurity" else "AWS::WAFv2::WebACL",
            {
                "Tags": [
                    {"Key": "environment", "Value": env.config.env_name},
                    {"Key": "project", "Value": "lakegate"},
                ]
            },
        )


def test_a_dataset_fresher_than_the_edge_max_ttl_is_refused() -> None:
    config = load_config("dev")
    short = config.model_copy(
        update={"edge_cache": config.edge_cache.model_copy(update={"max_ttl_seconds": 1})}
    )
    with pytest.raises(ConfigError, match=r"max_ttl_seconds \(1\)"):
        check_catalogue_fits(short, load_catalogue())
    check_catalogue_fits(config, load_catalogue())


def test_entry_point_reports_a_bad_environment_without_a_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=CDK_DIR,
        env={
            **os.environ,
            "CDK_OUTDIR": str(tmp_path),
            "CDK_CONTEXT_JSON": json.dumps({"env": "staging"}),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "lakegate cdk: no config for environment 'staging'" in result.stderr
    assert "Traceback" not in result.stderr
