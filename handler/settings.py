"""One typed settings object, built once per container from the environment.

Each setting is declared once: its field, type, default, bounds and environment
variable (the field's alias) together. Nothing else in lakegate reads `os.environ`:
the composition root (`handler.container`) hands each component its part. The
embedded stack builds its settings through `load_settings` too, from an environment
of its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from handler.errors import ConfigurationError

_REGION = AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
# moto's server locally; unset in AWS.
EndpointUrl = Annotated[str | None, Field(validation_alias="LAKEGATE_AWS_ENDPOINT_URL")]
Region = Annotated[str | None, Field(validation_alias=_REGION)]


class _Section(BaseModel):
    # Environment names when loading, field names when a test or the stack builds one.
    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True)


class WarehouseSettings(_Section):
    """Where the SQL warehouse is and how to authenticate to it."""

    host: str = Field(validation_alias="DATABRICKS_HOST")
    warehouse_id: str = Field(validation_alias="DATABRICKS_WAREHOUSE_ID")
    # Exactly one credential source is used, in this order of preference:
    token: SecretStr | None = Field(default=None, validation_alias="DATABRICKS_TOKEN")
    # Secrets Manager: {"token": ...} or {"client_id", "client_secret"}.
    secret_arn: str | None = Field(default=None, validation_alias="DATABRICKS_SECRET_ARN")
    client_id: str | None = Field(default=None, validation_alias="DATABRICKS_CLIENT_ID")
    client_secret: SecretStr | None = Field(
        default=None, validation_alias="DATABRICKS_CLIENT_SECRET"
    )
    secret_max_age_seconds: int = 300
    # Execute waits this long server-side before handing back a statement id to poll.
    wait_timeout_seconds: int = Field(
        default=10, ge=0, le=50, validation_alias="LAKEGATE_WAIT_TIMEOUT_SECONDS"
    )
    connect_timeout_seconds: float = 3.05
    read_timeout_seconds: float = 60.0
    # Budget left for the warehouse = Lambda remaining time minus this reserve
    # (time to shape, store and answer), capped at max_budget_seconds.
    reserve_seconds: float = Field(default=2.0, ge=0, validation_alias="LAKEGATE_RESERVE_SECONDS")
    max_budget_seconds: float = Field(
        default=25.0, gt=0, validation_alias="LAKEGATE_MAX_BUDGET_SECONDS"
    )

    @field_validator("host")
    @classmethod
    def _url(cls, value: str) -> str:
        # Like the Databricks SDK, accept a bare workspace host and assume https.
        value = value.strip().rstrip("/")
        if not value:
            raise ValueError("must not be empty")
        if "://" not in value:
            value = f"https://{value}"
        return value

    @field_validator("wait_timeout_seconds")
    @classmethod
    def _databricks_range(cls, value: int) -> int:
        # The API accepts 0 (return at once) or 5..50 seconds, nothing in between.
        if 0 < value < 5:
            raise ValueError("must be 0 or between 5 and 50")
        return value


class CacheSettings(_Section):
    """The DynamoDB result cache (and its S3 overflow bucket), and how single flight waits."""

    table: str = Field(validation_alias="LAKEGATE_CACHE_TABLE")
    bucket: str | None = Field(default=None, validation_alias="LAKEGATE_CACHE_BUCKET")
    endpoint_url: EndpointUrl = None
    region: Region = None
    # How long a dead lease holder blocks others, and how long a failing key fails fast.
    lease_seconds: float = Field(
        default=8.0, gt=0, le=60, validation_alias="LAKEGATE_LEASE_SECONDS"
    )
    error_hold_seconds: float = Field(
        default=2.0, ge=0, le=60, validation_alias="LAKEGATE_ERROR_HOLD_SECONDS"
    )
    # With a stale copy to fall back on, a refresh gets this long, not the whole budget.
    stale_refresh_seconds: float = Field(
        default=3.0, gt=0, le=60, validation_alias="LAKEGATE_STALE_REFRESH_SECONDS"
    )
    # Short timeouts and few retries: a slow cache must fail open, not hold the request.
    connect_timeout_seconds: float = 0.5
    read_timeout_seconds: float = 1.0
    max_attempts: int = Field(default=2, ge=1, le=5)
    # In Lambda (which sets AWS_LAMBDA_FUNCTION_NAME) a stale entry is refreshed by an
    # asynchronous invocation of the same function version, so the stale answer goes out
    # at once; LAKEGATE_ASYNC_REFRESH=0 refreshes in line instead.
    async_refresh: bool = Field(default=True, validation_alias="LAKEGATE_ASYNC_REFRESH")
    function_name: str | None = Field(default=None, validation_alias="AWS_LAMBDA_FUNCTION_NAME")
    function_version: str | None = Field(
        default=None, validation_alias="AWS_LAMBDA_FUNCTION_VERSION"
    )
    # Bodies above this (gzip) go to S3: DynamoDB items stop at 400 KB.
    overflow_bytes: int = Field(
        default=350_000, ge=1_000, le=380_000, validation_alias="LAKEGATE_CACHE_OVERFLOW_BYTES"
    )


class AdminSettings(_Section):
    """The operator routes under /admin: their token, the edge to invalidate, the throttle."""

    # Secrets Manager secret holding the token; AWSCURRENT and AWSPREVIOUS are both accepted.
    token_secret_arn: str = Field(validation_alias="LAKEGATE_ADMIN_TOKEN_SECRET_ARN")
    token_cache_seconds: float = Field(
        default=60.0, ge=0, le=3600, validation_alias="LAKEGATE_ADMIN_TOKEN_CACHE_SECONDS"
    )
    # An SSM String parameter holding the CloudFront distribution id: the CDK writes it
    # there because passing the id as an environment variable would make the function
    # depend on the distribution that depends on the function. None: no edge to invalidate.
    distribution_id_parameter: str | None = Field(
        default=None, validation_alias="LAKEGATE_DISTRIBUTION_ID_PARAMETER"
    )
    invalidations_per_minute: int = Field(
        default=3, ge=1, le=1000, validation_alias="LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE"
    )
    endpoint_url: EndpointUrl = None
    region: Region = None


def _pairs(value: object) -> object:
    """ "standard=60,bulk=600" → {"standard": "60", "bulk": "600"} (pydantic types the values)."""
    if not isinstance(value, str):
        return value
    pairs = (item.partition("=") for item in value.split(",") if item.strip())
    return {name.strip(): number.strip() for name, _, number in pairs}


def _items(value: object) -> object:
    """ "a, b" → ("a", "b")."""
    if not isinstance(value, str):
        return value
    return tuple(item.strip() for item in value.split(",") if item.strip())


class GatewaySettings(_Section):
    """Who may read what, and how many warehouse statements a minute may start."""

    # Every data route needs an API key, whatever the catalogue's `access` says.
    require_keys: bool = Field(default=False, validation_alias="LAKEGATE_REQUIRE_KEYS")
    # Browser origins allowed to call the API ("*": any; never with credentials).
    cors_origins: Annotated[tuple[str, ...], BeforeValidator(_items)] = Field(
        default=(), validation_alias="LAKEGATE_CORS_ORIGINS"
    )
    # Statements per minute per dataset, everything together (cache/budget.py: how it is
    # shared): a reserve for roll-up statements, the rest in equal shares, one per consumer
    # (an API key's; all keyless traffic together is one consumer).
    statement_budget_per_minute: int = Field(
        default=120, ge=1, le=100_000, validation_alias="LAKEGATE_STATEMENT_BUDGET_PER_MINUTE"
    )
    fair_shares: int = Field(default=4, ge=1, le=10_000, validation_alias="LAKEGATE_FAIR_SHARES")
    rollup_reserve_per_minute: int = Field(
        default=4, ge=0, le=10_000, validation_alias="LAKEGATE_ROLLUP_RESERVE_PER_MINUTE"
    )
    # The function's concurrency limit: while the cache table cannot count, each container
    # holds to this part of every budget on its own.
    max_containers: int = Field(
        default=1, ge=1, le=100_000, validation_alias="LAKEGATE_MAX_CONTAINERS"
    )
    # Misses (statements) per minute per consumer, by the tier its key carries.
    miss_budgets: Annotated[dict[str, Annotated[int, Field(ge=1)]], BeforeValidator(_pairs)] = (
        Field(default_factory=lambda: {"standard": 60}, validation_alias="LAKEGATE_MISS_BUDGETS")
    )
    # A Function URL answer is at most 6 MB (6,291,456 bytes), headers included, and a
    # binary or gzip body counts as base64 (4/3): an answer whose body could exceed this
    # on the wire is stored in the cache bucket and answered 303 with a presigned URL.
    inline_response_max_bytes: int = Field(
        default=5_000_000,
        ge=1,
        le=6_000_000,
        validation_alias="LAKEGATE_INLINE_RESPONSE_MAX_BYTES",
    )
    # The embedded stack's key store (edge/keys.py): the origin checks keys itself.
    # Unset in AWS, where the edge function checks them and says who asked.
    keys_file: Path | None = Field(default=None, validation_alias="LAKEGATE_KEYS_FILE")


class RollupSettings(_Section):
    """Roll-ups (the catalogue's `rollups:`): whether queries are derived from them, and how
    much of a container's memory holds them decoded between invocations."""

    enabled: bool = Field(default=True, validation_alias="LAKEGATE_ROLLUPS")
    memory_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        le=16 * 1024**3,
        validation_alias="LAKEGATE_ROLLUP_MEMORY_BYTES",
    )


class PoolSettings(_Section):
    """Connections the container's clients keep open to each host: as many as the
    invocations sharing those clients use at once.

    A Lambda container runs one invocation at a time. Its most at once to one warehouse
    host is an answer's parallel chunk downloads (handler.warehouse.links.DOWNLOAD_WORKERS,
    4); to DynamoDB, its own call beside its lease's renewal (2, and room for a budget
    count). The embedded stack shares one set of clients among its simulated containers,
    and sets both to what they all need (local.stack)."""

    warehouse_connections: int = Field(
        default=4, ge=1, le=4096, validation_alias="LAKEGATE_WAREHOUSE_CONNECTIONS"
    )
    aws_connections: int = Field(
        default=4, ge=1, le=4096, validation_alias="LAKEGATE_AWS_CONNECTIONS"
    )


class Settings(_Section):
    warehouse: WarehouseSettings
    cache: CacheSettings | None = None  # None: no table configured, every request is a miss
    admin: AdminSettings | None = None  # None: no token secret, the admin routes are off
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    rollups: RollupSettings = Field(default_factory=RollupSettings)
    pools: PoolSettings = Field(default_factory=PoolSettings)
    service_name: str = "lakegate"


def variables() -> frozenset[str]:
    """Every environment variable the function reads (each setting's, and the catalogue's)."""
    names = {CATALOGUE_VARIABLE, "POWERTOOLS_SERVICE_NAME"}
    for section in (
        *(WarehouseSettings, CacheSettings, AdminSettings, GatewaySettings, RollupSettings),
        PoolSettings,
    ):
        for info in section.model_fields.values():
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                names.update(str(choice) for choice in alias.choices)
            elif isinstance(alias, str):
                names.add(alias)
    return frozenset(names)


CATALOGUE_VARIABLE = "LAKEGATE_CATALOGUE"


def catalogue_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The catalogue file (LAKEGATE_CATALOGUE), or None for the packaged one.

    Separate from `load_settings` so that a container whose warehouse settings are
    broken still starts and answers /healthz and /swagger.
    """
    value = (os.environ if environ is None else environ).get(CATALOGUE_VARIABLE)
    return Path(value) if value else None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment variables; raise ConfigurationError naming what is wrong."""
    # A variable set to the empty string counts as unset, as in a CDK `environment` map.
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if v}
    missing = [k for k in ("DATABRICKS_HOST", "DATABRICKS_WAREHOUSE_ID") if k not in env]
    if missing:
        raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
    try:
        warehouse = WarehouseSettings.model_validate(env)
        settings = Settings(
            warehouse=warehouse,
            cache=CacheSettings.model_validate(env) if "LAKEGATE_CACHE_TABLE" in env else None,
            admin=AdminSettings.model_validate(env)
            if "LAKEGATE_ADMIN_TOKEN_SECRET_ARN" in env
            else None,
            gateway=GatewaySettings.model_validate(env),
            rollups=RollupSettings.model_validate(env),
            pools=PoolSettings.model_validate(env),
            service_name=env.get("POWERTOOLS_SERVICE_NAME", "lakegate"),
        )
    except ValidationError as exc:
        raise ConfigurationError(f"invalid settings: {_problems(exc)}") from exc
    if not (
        warehouse.token or warehouse.secret_arn or (warehouse.client_id and warehouse.client_secret)
    ):
        raise ConfigurationError(
            "no Databricks credentials: set DATABRICKS_TOKEN, DATABRICKS_SECRET_ARN, or "
            "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET"
        )
    return settings


def _problems(exc: ValidationError) -> str:
    """Each problem under its variable and its field name; never the value (it may be a secret)."""
    described = []
    for error in exc.errors(include_input=False):
        variable = str(error["loc"][0]) if error["loc"] else "?"
        field = _field_of(exc.title, variable)
        described.append(f"{variable} ({field}): {error['msg']}")
    return "; ".join(described)


def _field_of(model_name: str, variable: str) -> str:
    sections = (
        *(WarehouseSettings, CacheSettings, AdminSettings, GatewaySettings, RollupSettings),
        PoolSettings,
    )
    model = {m.__name__: m for m in sections}.get(model_name)
    if model is not None:
        for name, info in model.model_fields.items():
            alias = info.validation_alias
            names = alias.choices if isinstance(alias, AliasChoices) else [alias]
            if variable in names:
                return name
    return variable.lower()
