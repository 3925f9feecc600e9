#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c env=dev` (from cdk/) or `make synth` (from the repo root).

Synthesises offline: no AWS credentials, no Docker (the image is only recorded).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aws_cdk import App
from lakegate_cdk.application import add_nag, build
from lakegate_cdk.config import ConfigError, load_config

# lakegate_cdk, the catalogue (handler/) and the edge function (edge/) are installed
# packages (`make install`: pyproject.toml declares all three), imported like any other.
REPO_ROOT = Path(__file__).resolve().parents[1]

DEFAULT_ENV = "dev"


def main() -> None:
    # The CDK CLI passes CDK_OUTDIR; run directly, the app writes to <repo>/cdk.out.
    app = App(outdir=os.environ.get("CDK_OUTDIR", str(REPO_ROOT / "cdk.out")))
    env_name = app.node.try_get_context("env") or DEFAULT_ENV
    try:
        config = load_config(str(env_name))
        build(app, config)
    except ConfigError as exc:
        sys.exit(f"lakegate cdk: {exc}")
    add_nag(app)
    app.synth()


if __name__ == "__main__":
    main()
