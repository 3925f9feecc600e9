"""`lakegate keys`: consumers and their API keys, created, listed and revoked by operators.

    lakegate keys create --consumer acme [--datasets drivers] [--tier standard]
    lakegate keys list [--json]
    lakegate keys revoke --consumer acme

A key is shown once, alone on the last line of `create`'s output, and never stored:
the store maps its SHA-256 to the consumer's record (`handler.consumers.KeyRecord`).
Two stores, one format:

- the embedded stack's file, read by the local edge and by the origin, changed under a
  lock and replaced atomically. One place, wherever the command runs from:
  $LAKEGATE_KEYS_FILE, else the project's `.local/keys.json` (the checkout lakegate is
  installed from), else `lakegate/keys.json` in the user's data directory
  ($XDG_DATA_HOME, ~/.local/share) for an installed package. `keys create` and
  `lakegate serve` print it;
- CloudFront's KeyValueStore (`--kvs-arn`, or $LAKEGATE_KVS_ARN: the API stack's
  output), read by the edge function, written through boto3's cloudfront-keyvaluestore
  client (its SigV4A signing needs `pip install 'botocore[crt]'`), each write carrying
  the store's ETag.

Both stores also hold the edge function's rules, under keys no digest can be
(edge/store.py): this command lists and changes API keys only, and leaves them be.

Every change appends one audit line (JSON: action, consumer, key id, datasets, tier,
time, store; never a key) to the audit log and prints it on standard error.
Exit codes: 0 done, 1 refused (unknown consumer or dataset), 2 usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from edge.keys import FileKeyStore, KeyStore, KvsKeyStore, create, revoke
from handler.catalogue import load_catalogue
from handler.consumers import EVERY_DATASET, KeyRecord, key_digest
from handler.settings import catalogue_path
from lakegate.common import HelpFormatter

KEYS_FILE_VARIABLE = "LAKEGATE_KEYS_FILE"
PROJECT_KEYS_FILE = Path(".local/keys.json")  # under the project's checkout
# A checkout is the directory holding lakegate/ beside the pyproject.toml that names it.
_CHECKOUT = Path(__file__).resolve().parents[1]
KVS_VARIABLE = "LAKEGATE_KVS_ARN"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def add_keys_parser(commands: Any) -> None:
    """Add `keys create|list|revoke` to the `lakegate` subcommands."""
    keys = commands.add_parser(
        "keys",
        help="manage consumers' API keys (local store or CloudFront KeyValueStore)",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    actions = keys.add_subparsers(dest="keys_command", required=True)
    made = actions.add_parser(
        "create",
        help="create a key for a consumer",
        description="Create an API key for a consumer, readable on the datasets named, and "
        "print it once\n(only its SHA-256 is stored). Send it as `x-api-key`.",
        formatter_class=HelpFormatter,
    )
    made.add_argument("--consumer", required=True, help="the consumer's id, e.g. acme-dashboards")
    made.add_argument(
        "--datasets",
        default=EVERY_DATASET,
        help="comma-separated datasets the key may read ('*': every dataset)",
    )
    made.add_argument("--tier", default="standard", help="its rate tier (LAKEGATE_MISS_BUDGETS)")
    listed = actions.add_parser(
        "list",
        help="consumers, datasets, created (never a key)",
        description="List every key's consumer, datasets, tier, creation time and key id "
        "(a digest prefix,\nnever the key), with a header line; --json for programs.",
        formatter_class=HelpFormatter,
    )
    listed.add_argument(
        "--json", action="store_true", help="one JSON array of the records instead of a table"
    )
    gone = actions.add_parser(
        "revoke",
        help="revoke every key of a consumer",
        description="Revoke every key of a consumer: requests with them are refused (401) "
        "from then on.",
        formatter_class=HelpFormatter,
    )
    gone.add_argument("--consumer", required=True, help="the consumer whose keys to revoke")
    for action in (made, listed, gone):
        action.add_argument(
            "--keys-file",
            type=Path,
            default=default_keys_file(),
            help=f"the embedded stack's key store (${KEYS_FILE_VARIABLE}, else the project's)",
        )
        action.add_argument(
            "--kvs-arn",
            default=os.environ.get(KVS_VARIABLE),
            help=f"write CloudFront's KeyValueStore instead (${KVS_VARIABLE}; default: the file)",
        )
        action.add_argument(
            "--audit-log",
            type=Path,
            default=None,
            help="where audit lines are appended (default: keys-audit.jsonl beside the key file)",
        )


def run_keys(args: argparse.Namespace) -> int:
    store = _store(args)
    audit_log = args.audit_log or args.keys_file.with_name("keys-audit.jsonl")
    if args.keys_command == "list":
        _list(store, as_json=args.json)
        return EXIT_OK
    if args.keys_command == "create":
        datasets = tuple(n.strip() for n in args.datasets.split(",") if n.strip())
        known = {d.name for d in load_catalogue(catalogue_path()).datasets}
        unknown = [n for n in datasets if n != EVERY_DATASET and n not in known]
        if unknown or not datasets:
            print(
                f"lakegate keys: no dataset named {', '.join(unknown) or '(none)'}", file=sys.stderr
            )
            return EXIT_REFUSED
        try:
            key, record = create(store, args.consumer, datasets, args.tier)
        except ValueError as exc:  # the record's own validation: consumer or tier malformed
            print(f"lakegate keys: {_first_problem(exc)}", file=sys.stderr)
            return EXIT_USAGE
        _audit(audit_log, "create", record, [key_digest(key)], store)
        print(f"created a key for {record.consumer} ({','.join(record.datasets)}, {record.tier})")
        print(f"in {store.name};")
        print("it is shown once, here; only its SHA-256 is stored:")
        print(key)
        return EXIT_OK
    records = {d: r for d, r in store.records().items() if r.consumer == args.consumer}
    digests = revoke(store, args.consumer)
    if not digests:
        print(f"lakegate keys: no keys for consumer {args.consumer!r}", file=sys.stderr)
        return EXIT_REFUSED
    _audit(audit_log, "revoke", records[digests[0]], digests, store)
    print(f"revoked {len(digests)} key(s) of {args.consumer}")
    return EXIT_OK


def default_keys_file(environ: Mapping[str, str] = os.environ) -> Path:
    """The key store file `keys` and `serve` use unless told: the same from any directory."""
    if environ.get(KEYS_FILE_VARIABLE):
        return Path(environ[KEYS_FILE_VARIABLE]).expanduser().resolve()
    if _is_checkout(_CHECKOUT):
        return _CHECKOUT / PROJECT_KEYS_FILE
    data = Path(environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "lakegate" / "keys.json"


def _is_checkout(directory: Path) -> bool:
    try:
        text = (directory / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return False
    return 'name = "lakegate"' in text


_COLUMNS = ("consumer", "datasets", "tier", "created", "key id")


def _list(store: KeyStore, *, as_json: bool) -> None:
    records = sorted(store.records().items(), key=lambda kv: kv[1].consumer)
    if as_json:
        listed = [
            {
                "consumer": r.consumer,
                "datasets": list(r.datasets),
                "tier": r.tier,
                "created_at": r.created_at,
                "key_id": _id(digest),
            }
            for digest, r in records
        ]
        print(orjson.dumps(listed, option=orjson.OPT_INDENT_2).decode())
        return
    print("\t".join(_COLUMNS))
    for digest, r in records:
        print("\t".join((r.consumer, ",".join(r.datasets), r.tier, r.created_at, _id(digest))))


def _store(args: argparse.Namespace) -> KeyStore:
    if not args.kvs_arn:
        return FileKeyStore(args.keys_file)
    import boto3

    if importlib.util.find_spec("awscrt") is None:
        raise SystemExit("lakegate keys: --kvs-arn needs SigV4A: pip install 'lakegate[kvs]'")
    # The KeyValueStore API is global, served from us-east-1.
    return KvsKeyStore(
        args.kvs_arn, boto3.client("cloudfront-keyvaluestore", region_name="us-east-1")
    )


def _id(digest: str) -> str:
    """What logs and listings call a key: a prefix of its digest, never the key."""
    return f"sha256:{digest[:12]}"


def _audit(path: Path, action: str, record: KeyRecord, digests: list[str], store: KeyStore) -> None:
    line = orjson.dumps(
        {
            "audit": "keys",
            "action": action,
            "consumer": record.consumer,
            "key_ids": [_id(d) for d in digests],
            "datasets": list(record.datasets),
            "tier": record.tier,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "store": store.name,
        }
    ).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    print(line, file=sys.stderr)


def _first_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"invalid {first['loc'][0]}: {first['msg']}"
    return str(exc)
