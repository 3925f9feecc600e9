"""Child processes that serve on a port: a free port, start, wait until listening, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from local.processes import (
    StartupError,
    free_port,
    start_listening,
    stop_process,
    wait_until_listening,
)

HOST = "127.0.0.1"


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_free_port_can_be_bound() -> None:
    with socket.socket() as sock:
        sock.bind((HOST, free_port(HOST)))


def test_waiting_returns_once_the_port_accepts() -> None:
    with socket.create_server((HOST, 0)) as listener:
        wait_until_listening(HOST, listener.getsockname()[1], timeout=5)


def test_waiting_on_a_port_nobody_opens_fails() -> None:
    with pytest.raises(StartupError, match="did not listen"):
        wait_until_listening(HOST, free_port(HOST), timeout=0.2)


def test_waiting_on_a_process_that_exits_says_how_it_exited() -> None:
    process = subprocess.Popen(python("raise SystemExit(3)"))
    with pytest.raises(StartupError, match="exited with 3"):
        wait_until_listening(HOST, free_port(HOST), timeout=30, process=process)


def test_start_listening_returns_a_serving_process() -> None:
    port = free_port(HOST)
    command = [sys.executable, "-m", "http.server", "--bind", HOST, str(port)]
    process = start_listening(command, HOST, port, timeout=30)
    try:
        with socket.create_connection((HOST, port), timeout=5):
            pass
    finally:
        stop_process(process)
    assert process.returncode == -signal.SIGTERM


def test_a_process_that_never_listens_is_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    with pytest.raises(StartupError):
        start_listening(python(code), HOST, free_port(HOST), timeout=2)
    # Stopped and reaped: not even a zombie is left.
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_a_process_ignoring_sigterm_is_killed() -> None:
    code = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    process = subprocess.Popen(python(code), stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    stop_process(process, grace_seconds=0.2)
    assert process.returncode == -signal.SIGKILL


def test_stopping_an_exited_process_is_harmless() -> None:
    process = subprocess.Popen(python("pass"))
    process.wait()
    stop_process(process)
    assert process.returncode == 0
