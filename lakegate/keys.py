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
(local/edge_store.py): this command lists and changes API keys only, and leaves them be.

Every change appends one audit line (JSON: action, consumer, key id, datasets, tier,
time, store; never a key) to the audit log and prints it on standard error.
Exit codes: 0 done, 1 refused (unknown consumer or dataset), 2 usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import importlib.util
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import orjson

from handler.catalogue import load_catalogue
from handler.consumers import EVERY_DATASET, KeyRecord, is_key_digest, key_digest, key_records
from lakegate.common import HelpFormatter

DEFAULT_KEYS_FILE = Path(".local/keys.json")
KEYS_FILE_VARIABLE = "LAKEGATE_KEYS_FILE"
KVS_VARIABLE = "LAKEGATE_KVS_ARN"
KEY_PREFIX = "lk_"  # recognisable in a leaked-secret scan
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class KeyStore(Protocol):
    name: str

    def records(self) -> dict[str, KeyRecord]:
        """digest → record, every key in the store."""

    def put(self, digest: str, record: KeyRecord) -> None: ...

    def delete(self, digests: Iterable[str]) -> None: ...


class FileKeyStore:
    """The embedded stack's store: one JSON object, replaced atomically on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    def records(self) -> dict[str, KeyRecord]:
        if not self.path.exists():
            return {}
        return key_records(orjson.loads(self.path.read_bytes()))

    def put(self, digest: str, record: KeyRecord) -> None:
        update_store_file(self.path, lambda store: {**store, digest: record.model_dump()})

    def delete(self, digests: Iterable[str]) -> None:
        gone = set(digests)
        update_store_file(
            self.path, lambda store: {k: v for k, v in store.items() if k not in gone}
        )


def update_store_file(path: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Replace the key store file's object with `change(object)`, under an exclusive lock.

    Two writers share the file (`lakegate keys`, and the local edge writing its rules):
    the lock keeps one from losing the other's change. Readers (the edge, the origin)
    never see half a file: the new one replaces the old atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        store = orjson.loads(path.read_bytes()) if path.exists() else {}
        data = orjson.dumps(change(store))
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)


class KvsKeyStore:
    """CloudFront's KeyValueStore, as the edge function reads it."""

    def __init__(self, arn: str, client: Any) -> None:
        self.arn = arn
        self.name = arn
        self._client = client

    def records(self) -> dict[str, KeyRecord]:
        found: dict[str, KeyRecord] = {}
        for page in self._client.get_paginator("list_keys").paginate(KvsARN=self.arn):
            for item in page.get("Items", []):
                if is_key_digest(item["Key"]):
                    found[item["Key"]] = KeyRecord.model_validate_json(item["Value"])
        return found

    def put(self, digest: str, record: KeyRecord) -> None:
        self._client.put_key(
            KvsARN=self.arn, Key=digest, Value=record.model_dump_json(), IfMatch=self._etag()
        )

    def delete(self, digests: Iterable[str]) -> None:
        for digest in digests:
            self._client.delete_key(KvsARN=self.arn, Key=digest, IfMatch=self._etag())

    def _etag(self) -> str:
        return str(self._client.describe_key_value_store(KvsARN=self.arn)["ETag"])


def create(
    store: KeyStore, consumer: str, datasets: tuple[str, ...], tier: str
) -> tuple[str, KeyRecord]:
    """A new key for `consumer`: (the key, its record). Only the digest is stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = KeyRecord(
        consumer=consumer,
        datasets=datasets,
        tier=tier,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    store.put(key_digest(key), record)
    return key, record


def revoke(store: KeyStore, consumer: str) -> list[str]:
    """Delete every key of `consumer`; their digests (none: no such consumer)."""
    digests = [d for d, r in store.records().items() if r.consumer == consumer]
    if digests:
        store.delete(digests)
    return digests


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
