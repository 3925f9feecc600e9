#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c env=dev` (from cdk/) or `make synth` (from the repo root).

Synthesises offline: no AWS credentials, no Docker (the image is only recorded).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CDK_DIR = Path(__file__).resolve().parent
REPO_ROOT = CDK_DIR.parent
# `lakegate_cdk` lives next to this file; the catalogue is read from `handler/`.
for path in (str(CDK_DIR), str(REPO_ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

from aws_cdk import App  # noqa: E402
from lakegate_cdk.application import add_nag, build  # noqa: E402
from lakegate_cdk.config import ConfigError, load_config  # noqa: E402

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
