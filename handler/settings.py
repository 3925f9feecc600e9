"""One typed settings object, built once per container from the environment.

Nothing else in lakegate reads `os.environ`: components receive the parts of
`Settings` they need.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from handler.errors import ConfigurationError


class WarehouseSettings(BaseModel):
    """Where the SQL warehouse is and how to authenticate to it."""

    model_config = ConfigDict(frozen=True)

    host: str
    warehouse_id: str
    # Exactly one credential source is used, in this order of preference:
    token: SecretStr | None = None  # a PAT, locally
    secret_arn: str | None = (
        None  # Secrets Manager: {"token": ...} or {"client_id", "client_secret"}
    )
    client_id: str | None = None  # OAuth machine-to-machine, locally
    client_secret: SecretStr | None = None
    secret_max_age_seconds: int = 300
    # Execute waits this long server-side before handing back a statement id to poll.
    wait_timeout_seconds: int = Field(default=10, ge=0, le=50)
    connect_timeout_seconds: float = 3.05
    read_timeout_seconds: float = 60.0
    # Budget left for the warehouse = Lambda remaining time minus this reserve
    # (time to shape, store and answer), capped at max_budget_seconds.
    reserve_seconds: float = 2.0
    max_budget_seconds: float = 25.0

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


class CacheSettings(BaseModel):
    """The DynamoDB result cache (and its S3 overflow bucket)."""

    model_config = ConfigDict(frozen=True)

    table: str
    bucket: str | None = None
    endpoint_url: str | None = None  # local DynamoDB/S3 (moto); None in AWS
    region: str | None = None
    lease_seconds: float = Field(default=8.0, gt=0, le=60)
    error_hold_seconds: float = Field(default=2.0, ge=0, le=60)
    # Short timeouts and few retries: a slow cache must fail open, not hold the request.
    connect_timeout_seconds: float = 0.5
    read_timeout_seconds: float = 1.0
    max_attempts: int = Field(default=2, ge=1, le=5)
    overflow_bytes: int = Field(default=350_000, ge=1_000, le=380_000)


class AdminSettings(BaseModel):
    """The operator routes under /admin: their token, the edge to invalidate, the throttle."""

    model_config = ConfigDict(frozen=True)

    # Secrets Manager secret holding the token; AWSCURRENT and AWSPREVIOUS are both accepted.
    token_secret_arn: str
    token_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    # An SSM String parameter holding the CloudFront distribution id: the CDK writes it
    # there because passing the id as an environment variable would make the function
    # depend on the distribution that depends on the function. None: no edge to invalidate.
    distribution_id_parameter: str | None = None
    invalidations_per_minute: int = Field(default=3, ge=1, le=1000)
    endpoint_url: str | None = None  # local Secrets Manager/SSM/CloudFront (moto); None in AWS
    region: str | None = None


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    warehouse: WarehouseSettings
    cache: CacheSettings | None = None
    admin: AdminSettings | None = None
    service_name: str = "lakegate"


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def catalogue_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The catalogue file (LAKEGATE_CATALOGUE), or None for the packaged one.

    Separate from `load_settings` so that a container whose warehouse settings are
    broken still starts and answers /healthz and /swagger.
    """
    value = (os.environ if environ is None else environ).get("LAKEGATE_CATALOGUE")
    return Path(value) if value else None


def _cache_settings(env: Mapping[str, str]) -> CacheSettings | None:
    table = env.get("LAKEGATE_CACHE_TABLE")
    if not table:
        return None
    return CacheSettings(
        table=table,
        bucket=_blank_to_none(env.get("LAKEGATE_CACHE_BUCKET")),
        endpoint_url=_blank_to_none(env.get("LAKEGATE_AWS_ENDPOINT_URL")),
        region=_blank_to_none(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")),
    )


def _admin_settings(env: Mapping[str, str]) -> AdminSettings | None:
    secret_arn = env.get("LAKEGATE_ADMIN_TOKEN_SECRET_ARN")
    if not secret_arn:
        return None
    raw: dict[str, str | None] = {
        "token_secret_arn": secret_arn,
        "distribution_id_parameter": _blank_to_none(env.get("LAKEGATE_DISTRIBUTION_ID_PARAMETER")),
        "endpoint_url": _blank_to_none(env.get("LAKEGATE_AWS_ENDPOINT_URL")),
        "region": _blank_to_none(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")),
    }
    optional = {
        "token_cache_seconds": "LAKEGATE_ADMIN_TOKEN_CACHE_SECONDS",
        "invalidations_per_minute": "LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE",
    }
    raw.update({field: env[var] for field, var in optional.items() if env.get(var)})
    return AdminSettings.model_validate(raw)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment variables; raise ConfigurationError naming what is wrong."""
    env = os.environ if environ is None else environ
    missing = [k for k in ("DATABRICKS_HOST", "DATABRICKS_WAREHOUSE_ID") if not env.get(k)]
    if missing:
        raise ConfigurationError(f"missing environment variables: {', '.join(missing)}")
    raw = {
        "host": env["DATABRICKS_HOST"],
        "warehouse_id": env["DATABRICKS_WAREHOUSE_ID"],
        "token": _blank_to_none(env.get("DATABRICKS_TOKEN")),
        "secret_arn": _blank_to_none(env.get("DATABRICKS_SECRET_ARN")),
        "client_id": _blank_to_none(env.get("DATABRICKS_CLIENT_ID")),
        "client_secret": _blank_to_none(env.get("DATABRICKS_CLIENT_SECRET")),
    }
    optional = {
        "wait_timeout_seconds": "LAKEGATE_WAIT_TIMEOUT_SECONDS",
        "max_budget_seconds": "LAKEGATE_MAX_BUDGET_SECONDS",
        "reserve_seconds": "LAKEGATE_RESERVE_SECONDS",
    }
    raw.update({field: env[var] for field, var in optional.items() if env.get(var)})
    try:
        warehouse = WarehouseSettings.model_validate(raw)
        settings = Settings(
            warehouse=warehouse,
            cache=_cache_settings(env),
            admin=_admin_settings(env),
            service_name=env.get("POWERTOOLS_SERVICE_NAME", "lakegate"),
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid settings: {problems}") from exc
    if not (
        warehouse.token or warehouse.secret_arn or (warehouse.client_id and warehouse.client_secret)
    ):
        raise ConfigurationError(
            "no Databricks credentials: set DATABRICKS_TOKEN, DATABRICKS_SECRET_ARN, or "
            "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET"
        )
    return settings
