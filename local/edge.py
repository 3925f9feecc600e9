"""The local edge as a process: finding nginx and its njs module, and running it.

nginx's proxy cache stands in for CloudFront in front of the Function URL; what it
serves and caches, and the JavaScript it runs, is local/nginx_config.py's. Here nginx
is found and run: it comes from the system (`apt-get install nginx
libnginx-mod-http-js` on Debian/Ubuntu) and runs as a child process with its own prefix
directory, configuration and cache, on 127.0.0.1, and never touches /etc/nginx.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Self

from edge.store import EdgeRulesError
from local.nginx_config import (
    ConfigError,
    EdgeConfig,
    njs_module_path,
    render_config,
    store_path,
    write_modules,
)
from local.processes import StartupError, free_port, start_listening, stop_process
from local.running import Running

KEYS_FILE_VARIABLE = "LAKEGATE_KEYS_FILE"
# Where package managers put nginx; /usr/sbin is often not on a normal user's PATH.
NGINX_LOCATIONS = (
    "/usr/sbin/nginx",
    "/usr/local/sbin/nginx",
    "/usr/local/bin/nginx",
    "/opt/homebrew/bin/nginx",
)
INSTALL_HINT = (
    "install nginx and its JavaScript module from your system's packages: "
    "`sudo apt-get install nginx libnginx-mod-http-js` on Debian/Ubuntu (its own service "
    "is not needed: `sudo systemctl disable --now nginx`), `brew install nginx` and njs "
    "(https://nginx.org/en/docs/njs/install.html) on macOS"
)


class EdgeError(Exception):
    """nginx is missing, rejected the generated configuration, or did not start."""


def nginx_path() -> str | None:
    """The nginx executable that can run the edge (its njs module installed), or None."""
    found = shutil.which("nginx") or next(
        (p for p in NGINX_LOCATIONS if os.access(p, os.X_OK)), None
    )
    return found if found and njs_module_path() else None


def nginx_missing_message() -> str:
    return (
        "nginx or its JavaScript module (njs) not found, so the local edge cannot run; "
        f"{INSTALL_HINT}."
    )


def _worker_user(prefix: Path, keys_file: Path | None = None) -> str | None:
    """When root, hand the cache and temp directories to the workers' user and run them as it.

    A root master switches its workers to `nobody` anyway (nginx's default), and they
    could then not write into a root-owned 0700 temp directory. With a key store the
    workers run as the owner of its directory instead, so that they can read the file
    however private its directory is; the edge's own store (no keys_file) is theirs."""
    if os.geteuid() != 0:
        return None
    owner = keys_file.parent.stat().st_uid if keys_file and keys_file.parent.is_dir() else None
    worker = pwd.getpwuid(owner) if owner is not None else pwd.getpwnam("nobody")
    prefix.chmod(0o711)
    owned = [prefix / "cache", prefix / "tmp", prefix / "js"]
    if (prefix / "kvs").is_dir():
        owned += [prefix / "kvs", *(prefix / "kvs").iterdir()]
    for path in owned:
        os.chown(path, worker.pw_uid, worker.pw_gid)
    return f"{worker.pw_name} {grp.getgrgid(worker.pw_gid).gr_name}"


class Edge(Running):
    """A running edge: Edge(EdgeConfig(origin_url=...)).start() ... .stop(), or `with`."""

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None
        self._prefix: Path | None = None
        self._port = 0

    @property
    def url(self) -> str:
        if self._process is None:
            raise EdgeError("edge not started")
        return f"http://{self.config.host}:{self._port}"

    @property
    def prefix(self) -> Path | None:
        """The directory holding nginx.conf, the cache and error.log while running."""
        return self._prefix

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self, timeout: float = 10.0) -> Self:
        executable = self.config.nginx or nginx_path()
        if executable is None or not (self.config.njs_module or njs_module_path()):
            raise EdgeError(nginx_missing_message())
        prefix = Path(tempfile.mkdtemp(prefix="lakegate-edge-"))
        self._prefix = prefix
        try:
            for directory in ("cache", "tmp"):
                (prefix / directory).mkdir()
            write_modules(self.config, prefix)
            port = self.config.port or free_port(self.config.host)
            conf = prefix / "nginx.conf"
            user = _worker_user(prefix, self.config.keys_file)
            conf.write_text(render_config(self.config, prefix, port, user), encoding="utf-8")
            command = [
                executable,
                "-p",
                str(prefix),
                "-c",
                str(conf),
                "-e",
                str(prefix / "error.log"),
            ]
            self._test_config(command)
            self._port = port
            self._process = self._start_nginx([*command, "-g", "daemon off;"], timeout)
        except (ConfigError, EdgeRulesError) as error:
            # Callers handle one error for an edge that cannot start, whatever the cause.
            self.stop()
            raise EdgeError(str(error)) from error
        except BaseException:
            self.stop()
            raise
        return self

    def _environment(self) -> dict[str, str]:
        """nginx's environment: the key store's path for edge_kvs.js (`env` passes it on)."""
        environment = {k: v for k, v in os.environ.items() if k != KEYS_FILE_VARIABLE}
        if self._prefix is not None:
            environment[KEYS_FILE_VARIABLE] = str(store_path(self.config, self._prefix).resolve())
        return environment

    def _test_config(self, command: list[str]) -> None:
        result = subprocess.run(
            [*command, "-t", "-q"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=self._environment(),
        )
        if result.returncode != 0:
            raise EdgeError(f"nginx rejected the edge configuration: {result.stderr.strip()}")

    def _start_nginx(self, command: list[str], timeout: float) -> subprocess.Popen[bytes]:
        try:
            # Its own session: Ctrl-C reaches us, and we stop nginx in order.
            return start_listening(
                command,
                self.config.host,
                self._port,
                timeout,
                new_session=True,
                env=self._environment(),
            )
        except StartupError as error:
            raise EdgeError(f"nginx {error}: {self.error_log()}") from None

    def error_log(self, tail: int = 2000) -> str:
        if self._prefix is None:
            return ""
        try:
            return (self._prefix / "error.log").read_text(errors="replace")[-tail:].strip()
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop nginx (fast shutdown, then kill) and delete its directory; safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)
        prefix, self._prefix = self._prefix, None
        if prefix is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(prefix)
