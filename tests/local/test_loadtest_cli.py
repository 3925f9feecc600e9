"""`lakegate loadtest` refuses what it should before starting anything."""

import argparse

import pytest

from local.loadtest_cli import EXIT_USAGE, add_loadtest_parser, run_loadtest


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lakegate")
    add_loadtest_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["loadtest", *argv])


def test_defaults() -> None:
    args = parse("--scenario", "steady")
    assert (args.host, args.users, args.duration, args.edge) == (None, None, None, False)
    assert str(args.output) == "reports"


def test_an_unknown_scenario_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_:
        parse("--scenario", "marathon")
    assert exit_.value.code == 2


def test_a_non_loopback_host_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAKEGATE_LOADTEST_HOST", "https://api.example.com")
    assert run_loadtest(parse("--scenario", "smoke")) == EXIT_USAGE
    assert "only loopback hosts" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "brownout", "--host", "http://127.0.0.1:9"], "without --host"),
        (["--scenario", "smoke", "--host", "http://127.0.0.1:9", "--edge"], "drop --host"),
        (["--scenario", "smoke", "--users", "0"], "users must be between"),
        (["--scenario", "smoke", "--duration", "99999"], "duration must be between"),
        (["--scenario", "smoke", "--host", "ftp://127.0.0.1"], "http(s) URL"),
    ],
)
def test_usage_errors(
    argv: list[str], message: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_loadtest(parse(*argv, "--output", str(tmp_path))) == EXIT_USAGE
    assert message in capsys.readouterr().err
