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
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import yaml

from handler.catalogue import Catalogue, load_catalogue

CDK_CONFIG_DIR = Path(__file__).resolve().parents[1] / "cdk" / "config"
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


def cache_key_query_strings(catalogue: Catalogue) -> tuple[str, ...]:
    """Every dataset's query parameters, sorted: the CDK's cache key allow list."""
    return tuple(sorted({name for d in catalogue.datasets for name in d.query_parameter_names()}))


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
    args = "&".join(f"{name}=$arg_{name}" for name in cache_key_query_strings(catalogue))
    read_timeout = config.origin_read_timeout_seconds
    user_line = f"user {user};\n" if user else ""
    return f"""# Generated by local/edge.py for lakegate's local edge; regenerated on every start.
{user_line}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}

http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;

    proxy_cache_path {prefix}/cache levels=1:2 keys_zone=lakegate:16m
                     max_size={config.cache_size_mb}m inactive={config.ttls.max_ttl_seconds}s
                     use_temp_path=off;

    upstream lakegate_origin {{
        server {origin.hostname}:{origin.port};
        keepalive 64;
    }}

    # CloudFront's enable_accept_encoding_gzip: the key holds gzip or nothing.
    map $http_accept_encoding $edge_encoding {{
        default identity;
        "~*(^|[\\s,])(gzip|\\*)([\\s;,]|$)" gzip;
    }}
    # Never store a 4xx (see the module docstring of local/edge.py).
    map $upstream_status $edge_no_store {{
        default 0;
        "~4[0-9][0-9]$" 1;
    }}
    # RFC 9211: the origin's members first, then this cache's.
    map $upstream_http_cache_status $origin_cache_status {{
        default "$upstream_http_cache_status, ";
        "" "";
    }}
    map $upstream_cache_status $edge_cache_status {{
        default "edge; fwd=bypass";
        HIT "edge; hit";
        REVALIDATED "edge; hit; detail=revalidated";
        UPDATING "edge; hit; detail=stale-while-revalidate";
        STALE "edge; hit; detail=stale";
        MISS "edge; fwd=miss";
        EXPIRED "edge; fwd=stale";
        BYPASS "edge; fwd=bypass";
    }}

    server {{
        listen {config.host}:{port} backlog=4096;
        # A background refresh holds the client connection it started on until the origin
        # answers, so the next request on a kept-alive connection would wait for it;
        # CloudFront has no such coupling. One request per connection keeps them apart.
        keepalive_timeout 0;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $proxy_host;
        proxy_set_header Accept-Encoding $edge_encoding;
        proxy_set_header Cookie "";
        proxy_connect_timeout 5s;
        proxy_read_timeout {read_timeout}s;
        proxy_hide_header Cache-Status;
        add_header Cache-Status "$origin_cache_status$edge_cache_status" always;
        add_header X-Cache-Status $upstream_cache_status always;

        # The data routes: CloudFront's data cache policy.
        location / {{
            proxy_pass http://lakegate_origin;
            proxy_cache lakegate;
            proxy_cache_key "$uri?{args}|$edge_encoding|$http_accept";
            # The key already holds the normalised encoding and Accept; the origin's
            # Vary would make every raw Accept-Encoding spelling its own variant.
            proxy_ignore_headers Vary;
            proxy_no_cache $edge_no_store;
            proxy_cache_valid 200 {config.ttls.default_ttl_seconds}s;
            # No conditional refreshes: a 304 from an origin serving stale-if-error
            # (s-maxage=0) would re-arm the copy for the default TTL and hide the brownout.
            proxy_cache_revalidate off;
            proxy_cache_lock on;
            proxy_cache_lock_timeout {read_timeout}s;
            proxy_cache_lock_age {read_timeout}s;
            proxy_cache_background_update on;
            proxy_cache_use_stale error timeout http_500 http_502 http_503 http_504;
        }}

        # CloudFront's swagger cache policy: keyed on ?format, a fixed TTL.
        location /swagger {{
            proxy_pass http://lakegate_origin;
            proxy_cache lakegate;
            proxy_cache_key "$uri?format=$arg_format|$edge_encoding";
            proxy_ignore_headers Vary Cache-Control Expires;
            proxy_cache_valid 200 {config.ttls.swagger_ttl_seconds}s;
            proxy_cache_lock on;
        }}

        # CloudFront's CachingDisabled behaviour: every request reaches the origin.
        location /admin/ {{
            proxy_pass http://lakegate_origin;
            proxy_cache off;
        }}
    }}
}}
"""


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
            port = self.config.port or _free_port(self.config.host)
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
            self._process = subprocess.Popen(
                [*command, "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us, and we stop nginx in order
            )
            self._wait_until_listening(timeout)
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

    def _wait_until_listening(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EdgeError(f"nginx exited with {self._process.returncode}: {self.error_log()}")
            try:
                with socket.create_connection((self.config.host, self._port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise EdgeError(f"nginx did not listen on {self.config.host}:{self._port} in {timeout} s")

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
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
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


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
