"""What every `lakegate` command shares: help that shows defaults, and the extras it needs.

`pip install lakegate` installs what the operator's commands need (`lakegate admin`,
`lakegate keys`, `--version`) and no more: not polars, which only the Lambda's runtime
shapes answers with (`lakegate[lambda]`, what the image holds). The embedded stack and
the load tests need optional extras; a command that lacks one says which in a single
line instead of failing on an import deep inside. Modules are looked up, never imported:
importing Locust would monkey-patch this process with gevent.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version

# Extra → a module each of its requirements provides (pyproject.toml's optional-dependencies).
_LAMBDA = ("polars",)  # the runtime beyond the CLI's
# flask: moto[server]'s server; numpy: DuckDB's Python functions (the emulator's)
_LOCAL = (*_LAMBDA, "duckdb", "numpy", "sqlglot", "moto", "flask")
EXTRAS: Mapping[str, tuple[str, ...]] = {
    "lambda": _LAMBDA,
    "local": _LOCAL,
    "loadtest": ("locust", "matplotlib", *_LOCAL),  # without --host it starts the stack
    "kvs": ("awscrt",),  # SigV4A for the CloudFront KeyValueStore API (lakegate keys --kvs-arn)
    "cdk": ("aws_cdk", "constructs", "cdk_nag"),  # the CDK app (cdk/, `make synth`): no command
    "docs": ("mkdocs", "material", "neoteroi"),  # the documentation site (`make docs`)
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions as written; each option's help ends with its default.

    An option whose default is not a value (None: "not given"; [] for a repeatable one)
    says in its help, in words, what happens without it.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.required or action.default in (None, []) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def package_version() -> str:
    """The installed lakegate distribution's version (pyproject.toml's)."""
    try:
        return version("lakegate")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def missing_extra(extra: str, importable: Callable[[str], bool] | None = None) -> str | None:
    """None when `extra` is installed, else one line saying how to install it."""
    check = importable or _importable
    missing = [module for module in EXTRAS[extra] if not check(module)]
    if not missing:
        return None
    return (
        f"needs the '{extra}' extra ({', '.join(missing)} not installed): "
        f"pip install 'lakegate[{extra}]'"
    )


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder refused it, or a half-imported module
        return False
