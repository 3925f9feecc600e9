"""Per-environment settings, read from `cdk/config/<env>.yaml` and validated up front.

A typo in a config file should fail `cdk synth` with the file, the field and the
reason, not surface as a CloudFormation rollback twenty minutes into a deploy. So
the model forbids unknown keys and checks every value CloudFormation or an AWS
quota would otherwise reject later.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"

# CloudFront-scope resources (WAF, ACM certificates) and CloudFront's metrics exist
# only in N. Virginia; this is an AWS rule, not a setting.
EDGE_REGION = "us-east-1"

# The only retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

_ENV_NAME = r"^[a-z][a-z0-9-]{0,15}$"
_REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"


class ConfigError(Exception):
    """A config file is missing, unreadable or invalid; the message names the field."""


def _require_quoted(value: object, example: str) -> object:
    # YAML reads an unquoted all-digit id as a number and drops leading zeros.
    if isinstance(value, int):
        raise ValueError(f"quote this id in the YAML file, e.g. {example}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabricksConfig(_Strict):
    host: str = Field(description="Workspace URL, https://<workspace>.cloud.databricks.com")
    warehouse_id: str = Field(pattern=r"^[0-9a-f]{16}$", description="SQL warehouse id")

    @field_validator("warehouse_id", mode="before")
    @classmethod
    def _quoted_id(cls, value: object) -> object:
        return _require_quoted(value, 'warehouse_id: "0123456789abcdef"')

    @field_validator("host")
    @classmethod
    def _https_origin(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(
                "must be a full https:// URL, e.g. https://dbc-1234.cloud.databricks.com"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("must be the workspace origin only, without a path or query")
        return f"https://{parts.netloc}"


class LambdaConfig(_Strict):
    # How the code ships (cdk/README.md, "Packaging"): a container image built by Docker
    # at deploy, or a zip on the managed Python 3.12 runtime with SnapStart (bundled
    # offline from `make lambda-wheels`; SnapStart does not snapshot images).
    packaging: Literal["image", "zip"] = "image"
    # X-Ray: off also keeps X-Ray's SDK out of every cold start (~100 ms).
    tracing: bool = True
    memory_mb: int = Field(default=1024, ge=128, le=10_240)
    # CloudFront waits at most 60 s for an origin without a quota increase; the origin
    # read timeout is set one second above this so the function's own timeout answers.
    timeout_seconds: int = Field(default=30, ge=3, le=59)
    # Caps concurrent warehouse sessions: the warehouse, not Lambda, is the scarce resource.
    reserved_concurrency: int = Field(default=20, ge=1, le=1000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # How much of a container's memory holds decoded roll-ups between invocations (the
    # packaged catalogue's two take about 25 MB: `make bench`'s roll-up memory table).
    rollup_memory_mb: int = Field(default=256, ge=0, le=8_192)

    @model_validator(mode="after")
    def _rollups_fit(self) -> LambdaConfig:
        if self.rollup_memory_mb > self.memory_mb // 2:
            raise ValueError("rollup_memory_mb may take at most half of memory_mb")
        return self


class EdgeCacheConfig(_Strict):
    """CloudFront TTL bounds; the handler's `Cache-Control` picks a value inside them."""

    min_ttl_seconds: int = Field(default=0, ge=0)
    default_ttl_seconds: int = Field(default=60, ge=0)
    max_ttl_seconds: int = Field(default=86_400, ge=1, le=31_536_000)
    swagger_ttl_seconds: int = Field(default=300, ge=0, le=86_400)
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"
    # Origin Shield's region: the one nearest the Function URL (usually the API's own).
    # Every edge location's misses then go through this one regional cache; null turns
    # it off (each regional edge cache then reaches the function separately).
    origin_shield_region: Annotated[str, Field(pattern=_REGION)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> EdgeCacheConfig:
        if not self.min_ttl_seconds <= self.default_ttl_seconds <= self.max_ttl_seconds:
            raise ValueError(
                "TTLs must satisfy min_ttl_seconds <= default_ttl_seconds <= max_ttl_seconds"
            )
        return self


class DeployConfig(_Strict):
    """How a new function version reaches traffic: CodeDeploy shifts the `live` alias."""

    # The new version first takes this share of requests for `canary_minutes`; any of
    # the rollback alarms firing meanwhile sends all traffic back to the old version.
    canary_percent: int = Field(default=10, ge=1, le=99)
    # CodeDeploy's canary interval is whole minutes, at most two days.
    canary_minutes: int = Field(default=5, ge=1, le=2880)
    # CloudFormation refuses to delete a protected stack (prod's cache, logs, key store).
    termination_protection: bool = False


class ResultCacheConfig(_Strict):
    # Objects in the overflow bucket outlive their DynamoDB pointer by at most this long.
    overflow_expiry_days: int = Field(default=2, ge=1, le=365)


class WafConfig(_Strict):
    rate_limit: int = Field(
        default=2000, ge=10, le=2_000_000_000, description="requests per IP per window"
    )
    rate_window_seconds: Literal[60, 120, 300, 600] = 300
    admin_allow_list: tuple[str, ...] = Field(default=(), max_length=1000)
    # WAF logs cost $0.50/GB ingested, ~1.5 KB a request; CloudFront's access logs
    # already record every request. By default WAF logs only what it blocked or counted.
    log_allowed_requests: bool = False

    @field_validator("admin_allow_list")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        normalised = []
        for cidr in value:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a CIDR block ({exc})") from None
            if "/" not in cidr:
                raise ValueError(f"{cidr!r} needs a prefix length, e.g. {cidr}/32")
            normalised.append(str(network))
        return tuple(normalised)

    def admin_cidrs(self, version: Literal[4, 6]) -> tuple[str, ...]:
        return tuple(c for c in self.admin_allow_list if ipaddress.ip_network(c).version == version)


# What a CORS origin may look like: a scheme, a host and an optional port, nothing else
# (browsers send exactly that in `Origin`). Plain http only for a developer's own machine.
_CORS_ORIGIN = re.compile(
    r"https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?"
    r"|http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?"
)
_TIER = r"^[a-z][a-z0-9_-]{0,31}$"


class GatewayConfig(_Strict):
    """The edge gateway and the origin's budgets: both read these values, so they agree.

    The CloudFront Function takes `require_keys` and `cors_origins` into its rules; the
    Lambda function gets all of it through its environment (`LAKEGATE_*`).
    """

    # True: every data request needs a valid `x-api-key`; false: each dataset's own
    # `access` in the catalogue decides.
    require_keys: bool = False
    cors_origins: tuple[str, ...] = ()
    # Only present to be refused by name: the API authenticates with a header, never a
    # cookie, so browsers must not send credentials.
    cors_allow_credentials: bool = False
    # Warehouse statements the origin may start per minute for one dataset, everything
    # together (cache/budget.py): `rollup_reserve_per_minute` of them kept for roll-up
    # statements, the rest in `fair_shares` equal shares, one per consumer (an API key's;
    # all keyless traffic is one). A consumer within its share is refused (503) only once
    # `fair_shares` other consumers spent theirs in the same minute.
    statements_per_minute: int = Field(default=120, ge=1, le=100_000)
    fair_shares: int = Field(default=4, ge=1, le=10_000)
    rollup_reserve_per_minute: int = Field(default=4, ge=0, le=10_000)
    # Cache misses (statements) per minute for one consumer of each tier.
    miss_budgets: dict[Annotated[str, Field(pattern=_TIER)], Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {"standard": 60}, min_length=1
    )
    # WAF's per-key rate limit (requests per 5 minutes for one `x-api-key` value).
    api_key_requests_per_5_minutes: int = Field(default=5000, ge=10, le=2_000_000_000)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "*" in value and len(value) > 1:
            raise ValueError("'*' allows every origin: list it alone or not at all")
        for origin in value:
            if origin != "*" and not _CORS_ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme and lower-case host only, e.g. "
                    "https://dashboards.example.com (http:// only for localhost)"
                )
        if len(set(value)) != len(value):
            raise ValueError("lists an origin twice")
        return value

    @model_validator(mode="after")
    def _no_credentials(self) -> GatewayConfig:
        if self.cors_allow_credentials:
            wildcard = " (and browsers refuse credentials with the '*' origin)"
            raise ValueError(
                "cors_allow_credentials must be false: consumers authenticate with the "
                "x-api-key header, never with cookies"
                + (wildcard if "*" in self.cors_origins else "")
            )
        return self


class DomainConfig(_Strict):
    name: str = Field(description="the API's host name, e.g. api.example.com")
    hosted_zone_id: str = Field(pattern=r"^Z[A-Z0-9]{1,31}$")
    zone_name: str

    @model_validator(mode="after")
    def _inside_zone(self) -> DomainConfig:
        for field, value in (("name", self.name), ("zone_name", self.zone_name)):
            if not re.fullmatch(
                r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", value
            ):
                raise ValueError(f"{field} {value!r} is not a lower-case DNS name")
        if not self.name.endswith("." + self.zone_name):
            raise ValueError(f"name {self.name!r} is not inside zone {self.zone_name!r}")
        return self


class AlarmConfig(_Strict):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    lambda_errors_per_5_minutes: int = Field(default=5, ge=1)
    cloudfront_5xx_rate_percent: float = Field(default=5.0, gt=0, le=100)
    # The handler's own 500/502/503/504 answers (Lambda's Errors never counts them).
    handler_5xx_rate_percent: float = Field(default=5.0, gt=0, le=100)
    # Shares of the origin's cache outcomes: stale answers (the warehouse is slow or
    # failing) and bypasses (the cache table is unreachable: every request a statement).
    stale_rate_percent: float = Field(default=25.0, gt=0, le=100)
    bypass_rate_percent: float = Field(default=5.0, gt=0, le=100)
    # Requests that waited out their budget for another's statement (LeaseWaitGaveUp).
    lease_give_ups_per_5_minutes: int = Field(default=5, ge=1)
    # Concurrent executions at this share of the reserved concurrency: throttling is near.
    concurrency_percent: float = Field(default=80.0, gt=0, le=100)
    # Requests WAF blocked in 5 minutes, all rules together (an attack, or a client loop).
    waf_blocks_per_5_minutes: int = Field(default=1000, ge=1)


class LakegateConfig(_Strict):
    """One deployment environment (dev, prod, ...)."""

    env_name: Annotated[str, Field(pattern=_ENV_NAME)]
    account: str = Field(pattern=r"^[0-9]{12}$", description="12-digit AWS account id")
    region: str = Field(pattern=_REGION, description="region of the API stack")
    databricks: DatabricksConfig
    # `lambda` is a keyword, hence the alias.
    function: LambdaConfig = Field(default_factory=LambdaConfig, alias="lambda")
    edge_cache: EdgeCacheConfig = Field(default_factory=EdgeCacheConfig)
    result_cache: ResultCacheConfig = Field(default_factory=ResultCacheConfig)
    waf: WafConfig = Field(default_factory=WafConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    domain: DomainConfig | None = None
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    alarms: AlarmConfig
    log_retention_days: int = 30
    # Keep log groups and the access-log bucket when the stacks are deleted (prod).
    retain_logs: bool = False

    @field_validator("account", mode="before")
    @classmethod
    def _quoted_account(cls, value: object) -> object:
        return _require_quoted(value, 'account: "012345678901"')

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"must be one of CloudWatch's periods: {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        return value

    @property
    def edge_region(self) -> str:
        return EDGE_REGION


def available_envs(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.stem for p in config_dir.glob("*.yaml"))


def load_config(env_name: str, config_dir: Path = CONFIG_DIR) -> LakegateConfig:
    """Read `<config_dir>/<env_name>.yaml`; raise ConfigError listing every problem in it."""
    if not re.fullmatch(_ENV_NAME, env_name):
        raise ConfigError(f"environment name {env_name!r} must match {_ENV_NAME}")
    path = config_dir / f"{env_name}.yaml"
    if not path.is_file():
        known = ", ".join(available_envs(config_dir)) or "none"
        raise ConfigError(
            f"no config for environment {env_name!r}: {path} is missing (known: {known})"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    if raw.setdefault("env_name", env_name) != env_name:
        raise ConfigError(f"{path}: env_name {raw['env_name']!r} does not match the file name")
    try:
        return LakegateConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "\n".join(
            f"  - {'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid config {path}:\n{problems}") from None
