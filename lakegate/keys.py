"""`lakegate keys`: consumers and their API keys, created, listed and revoked by operators.

    lakegate keys create --consumer acme [--datasets drivers] [--tier standard]
    lakegate keys list
    lakegate keys revoke --consumer acme

A key is shown once, alone on the last line of `create`'s output, and never stored:
the store maps its SHA-256 to the consumer's record (`handler.consumers.KeyRecord`).
Two stores, one format:

- the embedded stack's file (default `.local/keys.json`, or $LAKEGATE_KEYS_FILE), read
  by the local edge and by the origin, changed under a lock and replaced atomically;
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
from pathlib import Path
from typing import Any

import orjson

from edge.keys import FileKeyStore, KeyStore, KvsKeyStore, create, revoke
from handler.catalogue import load_catalogue
from handler.consumers import EVERY_DATASET, KeyRecord, key_digest
from lakegate.common import HelpFormatter

DEFAULT_KEYS_FILE = Path(".local/keys.json")
KEYS_FILE_VARIABLE = "LAKEGATE_KEYS_FILE"
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
        "create", help="create a key for a consumer", formatter_class=HelpFormatter
    )
    made.add_argument("--consumer", required=True, help="the consumer's id, e.g. acme-dashboards")
    made.add_argument(
        "--datasets",
        default=EVERY_DATASET,
        help="comma-separated datasets the key may read ('*': every dataset)",
    )
    made.add_argument("--tier", default="standard", help="its rate tier (LAKEGATE_MISS_BUDGETS)")
    listed = actions.add_parser(
        "list", help="consumers, datasets, created (never a key)", formatter_class=HelpFormatter
    )
    gone = actions.add_parser(
        "revoke", help="revoke every key of a consumer", formatter_class=HelpFormatter
    )
    gone.add_argument("--consumer", required=True, help="the consumer whose keys to revoke")
    for action in (made, listed, gone):
        action.add_argument(
            "--keys-file",
            type=Path,
            default=Path(os.environ.get(KEYS_FILE_VARIABLE) or DEFAULT_KEYS_FILE),
            help=f"the embedded stack's key store (${KEYS_FILE_VARIABLE})",
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
        for digest, record in sorted(store.records().items(), key=lambda kv: kv[1].consumer):
            allowed = ",".join(record.datasets)
            print(
                f"{record.consumer}\t{allowed}\t{record.tier}\t{record.created_at}\t{_id(digest)}"
            )
        return EXIT_OK
    if args.keys_command == "create":
        datasets = tuple(n.strip() for n in args.datasets.split(",") if n.strip())
        known = {d.name for d in load_catalogue().datasets}
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
        print(f"created a key for {record.consumer} ({','.join(record.datasets)}, {record.tier});")
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
