"""`python -m loadtests` (what `lakegate loadtest` runs) refuses what it should before starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.__main__ import EXIT_USAGE, build_parser, main
from loadtests.scenarios import SCENARIOS


def test_defaults() -> None:
    args = build_parser().parse_args(["--scenario", "steady"])
    assert (args.host, args.users, args.duration, args.edge) == (None, None, None, False)
    assert args.output == Path("reports")


def test_the_scenarios_are_the_runners_with_their_summaries() -> None:
    (scenario,) = [a for a in build_parser()._actions if a.dest == "scenario"]
    assert scenario.choices == list(SCENARIOS)
    for spec in SCENARIOS.values():
        assert f"{spec.name}: {spec.summary}" in str(scenario.help)


@pytest.mark.parametrize("argv", [["--scenario", "marathon"], [], ["--users", "3"]])
def test_no_or_an_unknown_scenario_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2


def test_a_non_loopback_host_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("LAKEGATE_LOADTEST_HOST", "https://api.example.com")
    assert main(["--scenario", "smoke", "--output", str(tmp_path)]) == EXIT_USAGE
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
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--output", str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("lakegate loadtest: ") and message in err
    assert not list(tmp_path.iterdir()), "nothing started, no report directory"


def test_required_keys_are_refused_against_a_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("LAKEGATE_REQUIRE_KEYS", "1")
    argv = ["--scenario", "cache-buster", "--host", "http://127.0.0.1:9", "--output", str(tmp_path)]
    assert main(argv) == EXIT_USAGE
    assert "key store" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
