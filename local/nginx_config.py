"""The local edge's nginx configuration and JavaScript, rendered from the catalogue and CDK config.

CloudFront cannot run on a laptop, but a real HTTP cache configured like the CDK's
cache policy, running the same edge function, shows the third tier in load tests and
lets `curl` see it. What that nginx does is decided here (local/edge.py only runs it):

- every data route runs the edge function first (edge/gateway.js, `edge.function`,
  in nginx's njs through local/edge_njs.js), reading the catalogue's rules and the API
  keys from the local key store file as the deployed one reads CloudFront's KeyValueStore
  (local/edge_kvs.js; `write_modules` writes the rules there, edge.store): it
  answers CORS preflights and refusals (unknown, repeated or invalid parameters, a
  missing, unknown or revoked API key) without touching the cache or the origin, and
  rewrites the query string to its canonical form;
- the cache key holds the path, that canonical query string (so parameter order, case
  of case-insensitive values and defaults make no second entry), the encoding normalised
  to gzip/identity (CloudFront's `enable_accept_encoding_gzip`) and `Accept` (the CDK's
  header allow list);
- freshness comes from the origin: stock nginx reads `s-maxage` before `max-age`
  (ngx_http_upstream_process_cache_control) and honours the `stale-while-revalidate`
  and `stale-if-error` extensions (nginx >= 1.11.10); `proxy_cache_valid` only applies
  when the origin sends no caching headers, as CloudFront's default TTL does;
- concurrent misses for one key collapse to one origin request (`proxy_cache_lock`),
  stale copies are refreshed in the background, and served when the origin fails;
- a 4xx is never stored: a 401 or 403 from an origin that checks keys itself must not
  answer the next consumer (the CDK sets the 4xx error caching TTL to 0 too);
- keyed answers (a dataset with `access: key`, or all when keys are required) are cached
  as the origin says and told to viewers `Cache-Control: private, no-cache`, as the CDK's
  keyed response headers policy does (lakegate_cdk.edge_policies says why);
- CORS on simple requests: the allowed origin (the gateway's `cors_origins`) is echoed in
  `Access-Control-Allow-Origin`, computed per request, never cached, with the headers a
  browser may read (`Access-Control-Expose-Headers`, handler.cors, as the origin says);
- `/admin/` is never cached and never runs the function (CloudFront's CachingDisabled
  behaviour).

The configuration is local/nginx.conf.template, filled in by render_config; the JavaScript
goes to the prefix directory's js/ (write_modules).

The edge appends its own RFC 9211 member to the origin's `Cache-Status`
(`lakegate; hit; ttl=12, edge; hit`) and sets `X-Cache-Status` to nginx's own status.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import yaml

from edge.function import function_code
from edge.rules import edge_rules
from edge.store import publish_local, rule_entries
from handler import cors
from handler.catalogue import Catalogue, load_catalogue

CDK_CONFIG_DIR = Path(__file__).resolve().parents[1] / "cdk" / "config"
TEMPLATE = "nginx.conf.template"  # package data of `local`, beside this module
# The edge function's adapter and KeyValueStore for njs, package data of `local` too.
JS_MODULES = ("edge_njs.js", "edge_kvs.js")
# Where packages put nginx's JavaScript module (njs), a dynamic module the configuration
# loads; here rather than with nginx's own discovery in local/edge.py because
# render_config falls back to it.
NJS_MODULE_LOCATIONS = (
    "/usr/lib/nginx/modules/ngx_http_js_module.so",
    "/usr/lib64/nginx/modules/ngx_http_js_module.so",
    "/etc/nginx/modules/ngx_http_js_module.so",
    "/usr/local/lib/nginx/modules/ngx_http_js_module.so",
    "/usr/local/nginx/modules/ngx_http_js_module.so",
    "/opt/homebrew/lib/nginx/modules/ngx_http_js_module.so",
)
_CORS_ORIGIN = re.compile(r"\*|https?://[a-z0-9.-]+(:[0-9]{1,5})?")
# What viewers of keyed answers are told: the CDK's KEYED_CACHE_CONTROL (a test keeps
# them equal; the CDK app is not a package local/ may import).
KEYED_CACHE_CONTROL = "private, no-cache"


class ConfigError(Exception):
    """The settings make no configuration the deployed edge would match (Edge.start
    reports it as an EdgeError)."""


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
    # Here, not in local/edge.py, because rendering reads most of it; the process fields
    # (port, nginx, njs_module, keys_file) ride along so that callers build one object.
    origin_url: str
    port: int = 0  # 0: pick a free port
    host: str = "127.0.0.1"
    catalogue: Catalogue | None = None  # None: the packaged catalogue
    ttls: EdgeTtls = field(default_factory=load_edge_ttls)
    # CloudFront's origin read timeout is the function timeout plus one second.
    origin_read_timeout_seconds: int = 31
    cache_size_mb: int = 256
    nginx: str | None = None  # None: local.edge.nginx_path()
    njs_module: str | None = None  # ngx_http_js_module.so; None: njs_module_path()
    # The edge function's settings (the CDK's GatewayConfig): every data request needs a
    # key; the origins browsers may call from ("*": any).
    require_keys: bool = False
    cors_origins: tuple[str, ...] = ()
    # The key store the function reads its rules from and checks keys against (`lakegate
    # keys` writes it); None: a store of the edge's own, holding its rules and no key, so
    # every key is unknown and a key-only dataset refuses everyone.
    keys_file: Path | None = None


def njs_module_path() -> str | None:
    """nginx's JavaScript module (ngx_http_js_module.so), or None when it is not installed."""
    return next((p for p in NJS_MODULE_LOCATIONS if os.path.isfile(p)), None)


def render_config(config: EdgeConfig, prefix: Path, port: int, user: str | None = None) -> str:
    """nginx.conf for an edge rooted at `prefix`, listening on config.host:port.

    `user` ("name group") runs the workers as that user; it only matters when the
    master runs as root. The JavaScript it imports is written by write_modules."""
    catalogue = config.catalogue or load_catalogue()
    _check_ttls(catalogue, config.ttls)
    origin = urlsplit(config.origin_url)
    if origin.scheme != "http" or not origin.hostname or not origin.port:
        raise ConfigError(f"the edge needs an http://host:port origin, not {config.origin_url!r}")
    module = config.njs_module or njs_module_path()
    template = _NginxTemplate(resources.files("local").joinpath(TEMPLATE).read_text("utf-8"))
    return template.substitute(
        user_directive=f"user {user};" if user else "",
        load_module=f"load_module {module};" if module else "# no njs module found",
        gateway_locations="".join(
            f"        location = {d.route} {{\n"
            "            js_content edge.handle;\n"
            '            add_header Cache-Status "edge; detail=gateway" always;\n'
            "        }\n"
            for d in catalogue.datasets
        ),
        cors_map=_cors_map(_cors_origins(config)),
        keyed_routes="".join(
            f'        "{d.route}" "{KEYED_CACHE_CONTROL}";\n'
            for d in catalogue.datasets
            if config.require_keys or d.access == "key"
        ),
        cors_headers=_cors_headers(_cors_origins(config)),
        prefix=prefix,
        cache_size_mb=config.cache_size_mb,
        inactive_seconds=config.ttls.max_ttl_seconds,
        origin_host=origin.hostname,
        origin_port=origin.port,
        listen_host=config.host,
        listen_port=port,
        read_timeout_seconds=config.origin_read_timeout_seconds,
        default_ttl_seconds=config.ttls.default_ttl_seconds,
        swagger_ttl_seconds=config.ttls.swagger_ttl_seconds,
    )


def store_path(config: EdgeConfig, prefix: Path) -> Path:
    """The key store file the edge function reads: the configured one, or the edge's own."""
    return config.keys_file or prefix / "kvs" / "keys.json"


def write_modules(config: EdgeConfig, prefix: Path) -> Path:
    """The edge function for njs and its adapter in prefix/js; the catalogue's rules in
    the key store file (`store_path`), where the function reads them."""
    catalogue = config.catalogue or load_catalogue()
    rules = rule_entries(
        edge_rules(catalogue, require_keys=config.require_keys, cors_origins=_cors_origins(config)),
        catalogue.version,
    )
    publish_local(store_path(config, prefix), rules)
    directory = prefix / "js"
    directory.mkdir(exist_ok=True)
    (directory / "gateway.js").write_text(function_code(rules.tag, "njs"), encoding="utf-8")
    for name in JS_MODULES:
        source = resources.files("local").joinpath(name).read_text("utf-8")
        (directory / name).write_text(source, encoding="utf-8")
    return directory


class _NginxTemplate(Template):
    delimiter = "@"  # nginx's own variables are $name


def _cors_origins(config: EdgeConfig) -> tuple[str, ...]:
    for origin in config.cors_origins:
        # Checked here too: each becomes a key of an nginx map.
        if not _CORS_ORIGIN.fullmatch(origin):
            raise ConfigError(f"{origin!r} is not an origin: scheme and lower-case host, or '*'")
    return config.cors_origins


def _cors_map(origins: tuple[str, ...]) -> str:
    """$edge_cors_origin: what Access-Control-Allow-Origin says to this request's Origin."""
    if not origins:
        return ""
    if "*" in origins:
        return '    map $http_origin $edge_cors_origin {\n        default "*";\n    }\n'
    entries = "".join(f'        "{o}" "{o}";\n' for o in origins)
    return f'    map $http_origin $edge_cors_origin {{\n        default "";\n{entries}    }}\n'


def _cors_headers(origins: tuple[str, ...]) -> str:
    if not origins:
        return ""
    return (
        "            # Computed per request, never from the cache: the origin's are hidden.\n"
        "            proxy_hide_header Access-Control-Allow-Origin;\n"
        "            proxy_hide_header Access-Control-Allow-Credentials;\n"
        "            proxy_hide_header Access-Control-Expose-Headers;\n"
        "            add_header Access-Control-Allow-Origin $edge_cors_origin always;\n"
        f'            add_header Access-Control-Expose-Headers "{", ".join(cors.EXPOSE_HEADERS)}" always;\n'
        "            add_header Vary Origin always;\n"
    )


def _check_ttls(catalogue: Catalogue, ttls: EdgeTtls) -> None:
    # CloudFront clamps the origin's s-maxage into [min, max]; nginx cannot, so refuse a
    # catalogue whose freshness the deployed edge would not honour as is.
    for dataset in catalogue.datasets:
        ttl = dataset.freshness.ttl_seconds
        if not ttls.min_ttl_seconds <= ttl <= ttls.max_ttl_seconds:
            raise ConfigError(
                f"dataset {dataset.name!r}: ttl_seconds={ttl} is outside the edge TTL bounds "
                f"[{ttls.min_ttl_seconds}, {ttls.max_ttl_seconds}], which CloudFront would "
                "clamp and the local edge cannot"
            )
