"""The local edge: nginx's proxy cache standing in for CloudFront in front of the Function URL.

CloudFront cannot run on a laptop, but a real HTTP cache configured like the CDK's
cache policy shows the third tier in load tests and lets `curl` see it:

- the cache key holds the path, *only* the catalogue's query parameters (the CDK's
  allow list, in a fixed order), the encoding normalised to gzip/identity (CloudFront's
  `enable_accept_encoding_gzip`) and `Accept` (the CDK's header allow list);
- freshness comes from the origin: stock nginx reads `s-maxage` before `max-age`
  (ngx_http_upstream_process_cache_control) and honours the `stale-while-revalidate`
  and `stale-if-error` extensions (nginx >= 1.11.10); `proxy_cache_valid` only applies
  when the origin sends no caching headers, as CloudFront's default TTL does;
- concurrent misses for one key collapse to one origin request (`proxy_cache_lock`),
  stale copies are refreshed in the background, and served when the origin fails;
- a 4xx is never stored: the key ignores unknown parameters, so a 400 for
  `?year=2016&bogus=1` would otherwise answer `?year=2016` (the CDK sets the 400 error
  caching TTL to 0 for the same reason);
- `/admin/` is never cached (CloudFront's CachingDisabled behaviour).

The configuration is local/nginx.conf.template, filled in by render_config; its cache
key allow list is the catalogue's `query_parameter_names()`, as the CDK's is.

The edge appends its own RFC 9211 member to the origin's `Cache-Status`
(`lakegate; hit; ttl=12, edge; hit`) and sets `X-Cache-Status` to nginx's own status.

nginx comes from the system: `apt-get install nginx` (Debian/Ubuntu) or
`brew install nginx` (macOS). It runs as a child process with its own prefix
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
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from types import TracebackType
from urllib.parse import urlsplit

import yaml

from handler.catalogue import Catalogue, load_catalogue
from local.processes import StartupError, free_port, start_listening, stop_process

CDK_CONFIG_DIR = Path(__file__).resolve().parents[1] / "cdk" / "config"
TEMPLATE = "nginx.conf.template"  # package data of `local`, beside this module
# Where package managers put nginx; /usr/sbin is often not on a normal user's PATH.
NGINX_LOCATIONS = (
    "/usr/sbin/nginx",
    "/usr/local/sbin/nginx",
    "/usr/local/bin/nginx",
    "/opt/homebrew/bin/nginx",
)
INSTALL_HINT = (
    "install nginx from your system's packages: `sudo apt-get install nginx` on "
    "Debian/Ubuntu (its own service is not needed: `sudo systemctl disable --now nginx`), "
    "`brew install nginx` on macOS"
)


class EdgeError(Exception):
    """nginx is missing, rejected the generated configuration, or did not start."""


@dataclass(frozen=True)
class EdgeTtls:
    """The CDK data cache policy's TTL bounds (cdk/config/<env>.yaml, `edge_cache`)."""

    min_ttl_seconds: int = 0
    default_ttl_seconds: int = 60
    max_ttl_seconds: int = 86_400
    swagger_ttl_seconds: int = 300


def load_edge_ttls(env_name: str = "dev", config_dir: Path = CDK_CONFIG_DIR) -> EdgeTtls:
    """The TTLs the CDK deploys for `env_name`; the CDK's defaults when the file is absent."""
    path = config_dir / f"{env_name}.yaml"
    if not path.is_file():
        return EdgeTtls()
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    section = document.get("edge_cache") or {}
    known = {k: int(v) for k, v in section.items() if k in EdgeTtls.__dataclass_fields__}
    return EdgeTtls(**known)


@dataclass(frozen=True)
class EdgeConfig:
    origin_url: str
    port: int = 0  # 0: pick a free port
    host: str = "127.0.0.1"
    catalogue: Catalogue | None = None  # None: the packaged catalogue
    ttls: EdgeTtls = field(default_factory=load_edge_ttls)
    # CloudFront's origin read timeout is the function timeout plus one second.
    origin_read_timeout_seconds: int = 31
    cache_size_mb: int = 256
    nginx: str | None = None  # None: nginx_path()


def nginx_path() -> str | None:
    """The nginx executable, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_LOCATIONS if os.access(p, os.X_OK)), None)


def nginx_missing_message() -> str:
    return f"nginx not found, so the local edge cannot run; {INSTALL_HINT}."


def render_config(config: EdgeConfig, prefix: Path, port: int, user: str | None = None) -> str:
    """nginx.conf for an edge rooted at `prefix`, listening on config.host:port.

    `user` ("name group") runs the workers as that user; it only matters when the
    master runs as root."""
    catalogue = config.catalogue or load_catalogue()
    _check_ttls(catalogue, config.ttls)
    origin = urlsplit(config.origin_url)
    if origin.scheme != "http" or not origin.hostname or not origin.port:
        raise EdgeError(f"the edge needs an http://host:port origin, not {config.origin_url!r}")
    template = _NginxTemplate(resources.files("local").joinpath(TEMPLATE).read_text("utf-8"))
    return template.substitute(
        user_directive=f"user {user};" if user else "",
        prefix=prefix,
        cache_size_mb=config.cache_size_mb,
        inactive_seconds=config.ttls.max_ttl_seconds,
        origin_host=origin.hostname,
        origin_port=origin.port,
        listen_host=config.host,
        listen_port=port,
        read_timeout_seconds=config.origin_read_timeout_seconds,
        # In a fixed order: CloudFront's key ignores the order of parameters too.
        cache_key_args="&".join(f"{n}=$arg_{n}" for n in catalogue.query_parameter_names()),
        default_ttl_seconds=config.ttls.default_ttl_seconds,
        swagger_ttl_seconds=config.ttls.swagger_ttl_seconds,
    )


class _NginxTemplate(Template):
    delimiter = "@"  # nginx's own variables are $name


def _check_ttls(catalogue: Catalogue, ttls: EdgeTtls) -> None:
    # CloudFront clamps the origin's s-maxage into [min, max]; nginx cannot, so refuse a
    # catalogue whose freshness the deployed edge would not honour as is.
    for dataset in catalogue.datasets:
        ttl = dataset.freshness.ttl_seconds
        if not ttls.min_ttl_seconds <= ttl <= ttls.max_ttl_seconds:
            raise EdgeError(
                f"dataset {dataset.name!r}: ttl_seconds={ttl} is outside the edge TTL bounds "
                f"[{ttls.min_ttl_seconds}, {ttls.max_ttl_seconds}], which CloudFront would "
                "clamp and the local edge cannot"
            )


def _worker_user(prefix: Path) -> str | None:
    """When root, hand the cache and temp directories to `nobody` and run the workers as it.

    A root master switches its workers to `nobody` anyway (nginx's default), and they
    could then not write into a root-owned 0700 temp directory."""
    if os.geteuid() != 0:
        return None
    worker = pwd.getpwnam("nobody")
    prefix.chmod(0o711)
    for path in (prefix / "cache", prefix / "tmp"):
        os.chown(path, worker.pw_uid, worker.pw_gid)
    return f"{worker.pw_name} {grp.getgrgid(worker.pw_gid).gr_name}"


class Edge:
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

    def start(self, timeout: float = 10.0) -> Edge:
        executable = self.config.nginx or nginx_path()
        if executable is None:
            raise EdgeError(nginx_missing_message())
        prefix = Path(tempfile.mkdtemp(prefix="lakegate-edge-"))
        self._prefix = prefix
        try:
            for directory in ("cache", "tmp"):
                (prefix / directory).mkdir()
            port = self.config.port or free_port(self.config.host)
            conf = prefix / "nginx.conf"
            conf.write_text(
                render_config(self.config, prefix, port, _worker_user(prefix)), encoding="utf-8"
            )
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
        except BaseException:
            self.stop()
            raise
        return self

    def _test_config(self, command: list[str]) -> None:
        result = subprocess.run(
            [*command, "-t", "-q"], capture_output=True, text=True, timeout=30, check=False
        )
        if result.returncode != 0:
            raise EdgeError(f"nginx rejected the edge configuration: {result.stderr.strip()}")

    def _start_nginx(self, command: list[str], timeout: float) -> subprocess.Popen[bytes]:
        try:
            # Its own session: Ctrl-C reaches us, and we stop nginx in order.
            return start_listening(command, self.config.host, self._port, timeout, new_session=True)
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

    def __enter__(self) -> Edge:
        return self.start() if self._process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
