"""`lakegate admin`: the operator's commands against a running lakegate (local or deployed).

    lakegate admin invalidate --url URL --dataset drivers [--param state=California ...]
    lakegate admin invalidate --url URL --all
    lakegate admin status --url URL

The token comes from LAKEGATE_ADMIN_TOKEN (never from the command line, where shell
history and `ps` would keep it). Exit codes: 0 done, 1 the API refused (4xx/5xx),
2 usage or no token, 3 the API is unreachable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from typing import Any

import requests

from handler.admin import ADMIN_TOKEN_HEADER
from lakegate.common import HelpFormatter

TOKEN_VARIABLE = "LAKEGATE_ADMIN_TOKEN"
URL_VARIABLE = "LAKEGATE_URL"
DEFAULT_URL = "http://127.0.0.1:8080"
# Lambda function URLs behind CloudFront's origin access control take no unsigned POST
# payloads: a POST carries the hash of its (empty) body, or the signature is refused.
_EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()
_TIMEOUT = (3.05, 60.0)

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def add_admin_parser(commands: Any) -> None:
    """Add `admin invalidate` and `admin status` to the `lakegate` subcommands."""
    admin = commands.add_parser(
        "admin",
        help=f"operate a running lakegate (token: ${TOKEN_VARIABLE})",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    actions = admin.add_subparsers(dest="admin_command", required=True)

    invalidate = actions.add_parser(
        "invalidate",
        help="drop cached results (origin and edge)",
        description="Drop cached results of a dataset, of one query, or of everything.",
        formatter_class=HelpFormatter,
    )
    _common(invalidate)
    target = invalidate.add_mutually_exclusive_group(required=True)
    target.add_argument("--dataset", help="the dataset to invalidate")
    target.add_argument("--all", action="store_true", help="invalidate every dataset")
    invalidate.add_argument(
        "--param",
        action="append",
        default=[],
        type=_key_value,
        metavar="NAME=VALUE",
        help="a filter of the one query to drop (repeatable; default: none, the whole dataset)",
    )
    invalidate.set_defaults(admin_handler=_invalidate)

    status = actions.add_parser(
        "status",
        help="show generations and freshness per dataset",
        description="Show each dataset's generation, last invalidation and freshness.",
        formatter_class=HelpFormatter,
    )
    _common(status)
    status.set_defaults(admin_handler=_status)


def run_admin(args: argparse.Namespace) -> int:
    """Run the parsed `admin` command; returns the exit code."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        print(f"lakegate admin: set {TOKEN_VARIABLE} to the admin token", file=sys.stderr)
        return EXIT_USAGE
    if args.admin_command == "invalidate" and args.param and args.all:
        print("lakegate admin: --param needs --dataset, not --all", file=sys.stderr)
        return EXIT_USAGE
    defaulted = args.url is None
    args.url = args.url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    try:
        response = args.admin_handler(args, token)
    except requests.RequestException as exc:
        source = f" (no --url: ${URL_VARIABLE} or the default)" if defaulted else ""
        print(
            f"lakegate admin: cannot reach {args.url}{source}: {type(exc).__name__}",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    return _report(args, response)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help=f"the API's base URL (default: ${URL_VARIABLE}, else {DEFAULT_URL}, where "
        "`lakegate serve` listens)",
    )
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")


def _key_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _invalidate(args: argparse.Namespace, token: str) -> requests.Response:
    params: list[tuple[str, str]] = (
        [("all", "true")] if args.all else [("dataset", args.dataset), *args.param]
    )
    return requests.post(
        f"{args.url.rstrip('/')}/admin/invalidate",
        params=params,
        headers={ADMIN_TOKEN_HEADER: token, "x-amz-content-sha256": _EMPTY_BODY_SHA256},
        timeout=_TIMEOUT,
    )


def _status(args: argparse.Namespace, token: str) -> requests.Response:
    return requests.get(
        f"{args.url.rstrip('/')}/admin/cache",
        headers={ADMIN_TOKEN_HEADER: token},
        timeout=_TIMEOUT,
    )


def _report(args: argparse.Namespace, response: requests.Response) -> int:
    try:
        body = response.json()
    except ValueError:
        body = None
    ok = 200 <= response.status_code < 300
    if args.json and body is not None:
        print(json.dumps(body, indent=2))
    elif ok and isinstance(body, dict):
        print(_summary(args.admin_command, body))
    elif not ok:
        print(_failure(response, body), file=sys.stderr)
    else:
        print(f"lakegate admin: unexpected answer (HTTP {response.status_code})", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK if ok else EXIT_REFUSED


def _failure(response: requests.Response, body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        line = f"lakegate admin: HTTP {response.status_code} {error.get('code')}: {error.get('message')}"
    else:
        line = f"lakegate admin: HTTP {response.status_code} {response.reason}"
    if "Retry-After" in response.headers:
        line += f" (retry after {response.headers['Retry-After']} s)"
    return line


def _summary(command: str, body: dict[str, Any]) -> str:
    return _invalidated(body) if command == "invalidate" else _cache_status(body)


def _invalidated(body: dict[str, Any]) -> str:
    datasets = ", ".join(f"{d['dataset']} (generation {d['generation']})" for d in body["datasets"])
    if body["scope"] == "query":
        query = body["query"]
        filters = ", ".join(f"{k}={v}" for k, v in query["filters"].items()) or "no filters"
        lines = [
            f"dropped one query of {datasets}: {filters} "
            f"(limit {query['limit']}, offset {query['offset']}, {'/'.join(query['formats'])})"
        ]
    else:
        lines = [f"invalidated {datasets}"]
    edge = body["edge"]
    paths = " ".join(edge["paths"])
    if edge["status"] == "created":
        lines.append(
            f"edge: CloudFront invalidation {edge['invalidation_id']} "
            f"on {edge['distribution_id']} for {paths}"
        )
    elif edge["status"] == "skipped":
        lines.append(f"edge: skipped ({edge.get('reason')})")
    else:
        lines.append(
            f"edge: FAILED ({edge.get('reason')}); the origin is fresh, CloudFront copies "
            "expire within their s-maxage"
        )
    if body.get("note"):
        lines.append(f"note: {body['note']}")
    return "\n".join(lines)


def _cache_status(body: dict[str, Any]) -> str:
    header = f"{'dataset':<24} {'generation':>10}  {'last invalidated':<29}  {'by':<18} fresh/stale"
    lines = [header]
    for d in body["datasets"]:
        freshness = d["freshness"]
        lines.append(
            f"{d['dataset']:<24} {d['generation']:>10}  {d['invalidated_at'] or 'never':<29}  "
            f"{d['invalidated_by'] or '-':<18} "
            f"{freshness['ttl_seconds']} s / {freshness['stale_seconds']} s"
        )
    lines.append(
        f"invalidations allowed per dataset and minute: {body['invalidations_per_minute']}"
    )
    return "\n".join(lines)
