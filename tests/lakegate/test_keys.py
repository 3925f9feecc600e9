"""`lakegate keys`: a key shown once, only its digest stored, every change audited.

The file store is exercised through the CLI as an operator runs it; the KeyValueStore
store (edge.keys) in tests/edge/test_keys.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from handler.consumers import KeyFile
from handler.errors import ApiKeyRefused
from lakegate.cli import main
from lakegate.keys import default_keys_file

CHECKOUT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["keys", *argv, "--keys-file", str(tmp_path / "keys.json")])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_create_prints_the_key_once_alone_on_the_last_line_and_stores_its_digest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, tmp_path, "create", "--consumer", "acme", "--datasets", "drivers")
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("lk_") and " " not in key and len(key) > 40
    stored = (tmp_path / "keys.json").read_text()
    assert key not in stored and key not in err
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert orjson.loads(stored)[digest]["consumer"] == "acme"
    consumer = KeyFile(tmp_path / "keys.json").identify({"x-api-key": key})
    assert consumer is not None and consumer.datasets == ("drivers",), "the origin reads it"


def test_list_shows_consumers_datasets_and_times_but_never_a_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out, _ = run(capsys, tmp_path, "create", "--consumer", "acme")
    key = out.strip().splitlines()[-1]
    run(capsys, tmp_path, "create", "--consumer", "zeta", "--datasets", "drivers", "--tier", "bulk")
    code, listing, _ = run(capsys, tmp_path, "list")
    assert code == 0 and key not in listing
    header, *rows = [line.split("\t") for line in listing.strip().splitlines()]
    assert header == ["consumer", "datasets", "tier", "created", "key id"]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("acme", "*", "standard"),
        ("zeta", "drivers", "bulk"),
    ]
    assert all(r[3].startswith("20") for r in rows)
    code, listed, _ = run(capsys, tmp_path, "list", "--json")
    records = orjson.loads(listed)
    assert code == 0 and key not in listed
    assert [(r["consumer"], r["datasets"], r["tier"]) for r in records] == [
        ("acme", ["*"], "standard"),
        ("zeta", ["drivers"], "bulk"),
    ]
    assert all(r["key_id"].startswith("sha256:") for r in records)


def test_create_says_where_the_key_is_stored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out, _ = run(capsys, tmp_path, "create", "--consumer", "acme")
    assert f"in {tmp_path / 'keys.json'};" in out


def test_the_key_store_is_one_place_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_keys_file({}) == CHECKOUT / ".local" / "keys.json", "the project's"
    chosen = tmp_path / "elsewhere" / "keys.json"
    assert default_keys_file({"LAKEGATE_KEYS_FILE": str(chosen)}) == chosen
    relative = default_keys_file({"LAKEGATE_KEYS_FILE": "mine.json"})
    assert relative == tmp_path / "mine.json" and relative.is_absolute()


def test_revoke_removes_every_key_of_the_consumer_and_says_when_there_were_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    acme = [run(capsys, tmp_path, "create", "--consumer", "acme")[1] for _ in range(2)]
    run(capsys, tmp_path, "create", "--consumer", "other")
    assert run(capsys, tmp_path, "revoke", "--consumer", "acme")[0] == 0
    records = orjson.loads((tmp_path / "keys.json").read_bytes())
    assert [r["consumer"] for r in records.values()] == ["other"]
    for out in acme:
        with pytest.raises(ApiKeyRefused):
            KeyFile(tmp_path / "keys.json").identify({"x-api-key": out.strip().splitlines()[-1]})
    code, _, err = run(capsys, tmp_path, "revoke", "--consumer", "acme")
    assert code == 1 and "no keys" in err


def test_every_change_writes_one_audit_line_without_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out, _ = run(capsys, tmp_path, "create", "--consumer", "acme")
    key = out.strip().splitlines()[-1]
    run(capsys, tmp_path, "revoke", "--consumer", "acme")
    lines = [orjson.loads(x) for x in (tmp_path / "keys-audit.jsonl").read_text().splitlines()]
    assert [(x["action"], x["consumer"]) for x in lines] == [("create", "acme"), ("revoke", "acme")]
    assert lines[0]["key_ids"] == lines[1]["key_ids"]
    assert key not in (tmp_path / "keys-audit.jsonl").read_text()


@pytest.mark.parametrize(
    ("argv", "code", "complaint"),
    [
        (["--consumer", "acme", "--datasets", "nope"], 1, "no dataset named nope"),
        (["--consumer", "not a name"], 2, "consumer"),
        (["--consumer", "acme", "--tier", "Gold!"], 2, "tier"),
    ],
)
def test_bad_requests_are_refused_and_store_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], code: int, complaint: str
) -> None:
    got, _, err = run(capsys, tmp_path, "create", *argv)
    assert got == code and complaint in err
    assert not (tmp_path / "keys.json").exists()


def test_the_edge_rules_beside_the_keys_are_kept_and_never_listed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = {"rules/1.0123456789ab/v1/drivers": '{"t":"1.0123456789ab"}'}
    (tmp_path / "keys.json").write_bytes(orjson.dumps(rules))
    assert run(capsys, tmp_path, "create", "--consumer", "acme")[0] == 0
    code, listed, _ = run(capsys, tmp_path, "list")
    assert code == 0 and len(listed.splitlines()) == 2 and "rules/" not in listed  # + header
    assert run(capsys, tmp_path, "revoke", "--consumer", "acme")[0] == 0
    assert orjson.loads((tmp_path / "keys.json").read_bytes()) == rules
