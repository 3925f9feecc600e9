"""Child processes that serve on a port (moto, nginx): a free port, start, wait, stop.

A server is ready when its port accepts a connection; a process that exits first
will never be, so the wait watches both and ends with one of two named failures.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Mapping, Sequence

POLL_SECONDS = 0.05


class StartupError(OSError):
    """A child process exited, or did not listen, before its deadline."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS's choice); the caller binds it soon after."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_listening(
    host: str,
    port: int,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Return once host:port accepts a connection; raise StartupError if `process` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise StartupError(
                f"exited with {process.returncode} before listening on {host}:{port}"
            )
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise StartupError(f"did not listen on {host}:{port} within {timeout} s")
        time.sleep(POLL_SECONDS)


def start_listening(
    command: Sequence[str],
    host: str,
    port: int,
    timeout: float,
    *,
    new_session: bool = False,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Run `command` (output discarded) and return it once it listens on host:port.

    `new_session` keeps the terminal's Ctrl-C from reaching the child, so the parent
    can stop it in order; `env` replaces the environment it inherits. A child that never
    listens is stopped before the error."""
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=new_session,
        env=dict(env) if env is not None else None,
    )
    try:
        wait_until_listening(host, port, timeout, process)
    except BaseException:
        stop_process(process)
        raise
    return process


def stop_process(process: subprocess.Popen[bytes], grace_seconds: float = 5.0) -> None:
    """SIGTERM (nginx's fast shutdown, moto's exit), then SIGKILL after the grace period."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace_seconds)
