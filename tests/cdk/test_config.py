"""The per-environment config: the shipped files load, and every mistake is named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lakegate_cdk.config import (
    EDGE_REGION,
    ConfigError,
    LakegateConfig,
    available_envs,
    load_config,
)

from .conftest import ENVIRONMENTS


def _write(tmp_path: Path, env: str, data: dict[str, Any]) -> Path:
    (tmp_path / f"{env}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return tmp_path


def _valid() -> dict[str, Any]:
    return {
        "account": "123456789012",
        "region": "eu-central-1",
        "databricks": {
            "host": "https://dbc-1.cloud.databricks.com",
            "warehouse_id": "0123456789abcdef",
        },
        "alarms": {"email": "ops@example.com"},
    }


def _error(tmp_path: Path, **changes: object) -> str:
    data = _valid()
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = data
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    with pytest.raises(ConfigError) as info:
        load_config("test", _write(tmp_path, "test", data))
    return str(info.value)


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_shipped_configs_load(env_name: str) -> None:
    config = load_config(env_name)
    assert config.env_name == env_name
    assert config.edge_region == EDGE_REGION == "us-east-1"


def test_shipped_environments_are_dev_and_prod() -> None:
    assert available_envs() == ["dev", "prod"]


def test_prod_has_a_domain_and_an_admin_allow_list() -> None:
    prod = load_config("prod")
    assert prod.domain is not None
    assert prod.waf.admin_cidrs(4) and prod.waf.admin_cidrs(6)
    assert prod.retain_logs


def test_defaults_fill_optional_sections(tmp_path: Path) -> None:
    config = load_config("test", _write(tmp_path, "test", _valid()))
    assert isinstance(config, LakegateConfig)
    assert config.function.timeout_seconds == 30
    assert config.domain is None
    assert config.waf.admin_allow_list == ()
    # No keys required, no CORS, the origin's default budgets.
    gateway = config.gateway
    assert (gateway.require_keys, gateway.cors_origins, gateway.cors_allow_credentials) == (
        False,
        (),
        False,
    )
    assert gateway.statements_per_minute == 120
    assert gateway.miss_budgets == {"standard": 60}


def test_shipped_gateways_leave_public_datasets_open() -> None:
    """The article's keyless curl must keep working in both environments."""
    for env_name in ENVIRONMENTS:
        gateway = load_config(env_name).gateway
        assert not gateway.require_keys
        assert not gateway.cors_allow_credentials
        assert "*" not in gateway.cors_origins


@pytest.mark.parametrize(
    "origins",
    [["*"], ["https://dashboards.example.com", "http://localhost:3000", "https://a.b:8443"]],
)
def test_cors_origins_accepted(tmp_path: Path, origins: list[str]) -> None:
    data = {**_valid(), "gateway": {"cors_origins": origins}}
    assert load_config("test", _write(tmp_path, "test", data)).gateway.cors_origins == tuple(
        origins
    )


def test_host_is_normalised_to_its_origin(tmp_path: Path) -> None:
    data = _valid()
    data["databricks"]["host"] = "https://dbc-1.cloud.databricks.com/"
    assert load_config("test", _write(tmp_path, "test", data)).databricks.host == (
        "https://dbc-1.cloud.databricks.com"
    )


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"no config for environment 'staging'.*dev, prod"):
        load_config("staging")


def test_environment_name_must_be_safe() -> None:
    with pytest.raises(ConfigError, match="environment name"):
        load_config("../etc/passwd")


def test_env_name_in_file_must_match_file_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not match the file name"):
        load_config("test", _write(tmp_path, "test", {**_valid(), "env_name": "prod"}))


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "test.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config("test", tmp_path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"account": "12345"}, "account: String should match pattern"),
        ({"account": 123456789012}, "account: Value error, quote this id"),
        ({"region": "Europe"}, "region: String should match pattern"),
        ({"databricks__host": "http://dbc-1.cloud.databricks.com"}, "databricks.host"),
        ({"databricks__host": "dbc-1.cloud.databricks.com"}, "full https:// URL"),
        ({"databricks__host": "https://dbc-1.cloud.databricks.com/sql"}, "without a path"),
        ({"databricks__warehouse_id": "not-an-id"}, "databricks.warehouse_id"),
        ({"lambda__memory_mb": 64}, "lambda.memory_mb"),
        ({"lambda__timeout_seconds": 60}, "lambda.timeout_seconds"),
        ({"lambda__reserved_concurrency": 0}, "lambda.reserved_concurrency"),
        ({"edge_cache__min_ttl_seconds": 100, "edge_cache__default_ttl_seconds": 10}, "TTLs"),
        ({"waf__rate_limit": 5}, "waf.rate_limit"),
        ({"waf__rate_window_seconds": 30}, "waf.rate_window_seconds"),
        ({"waf__admin_allow_list": ["10.0.0.0/33"]}, "not a CIDR block"),
        ({"waf__admin_allow_list": ["10.0.0.1/8"]}, "host bits set"),
        ({"waf__admin_allow_list": ["10.0.0.1"]}, "needs a prefix length"),
        (
            {"domain": {"name": "api.other.org", "hosted_zone_id": "Z1", "zone_name": "a.com"}},
            "is not inside zone",
        ),
        (
            {"domain": {"name": "api.a.com", "hosted_zone_id": "nope", "zone_name": "a.com"}},
            "domain.hosted_zone_id",
        ),
        ({"alarms__email": "not-an-address"}, "alarms.email"),
        ({"gateway__cors_origins": ["https://a.example/"]}, "is not an origin"),
        ({"gateway__cors_origins": ["https://a.example/app"]}, "is not an origin"),
        ({"gateway__cors_origins": ["http://a.example"]}, "http:// only for localhost"),
        ({"gateway__cors_origins": ["https://A.example"]}, "lower-case host"),
        ({"gateway__cors_origins": ["*", "https://a.example"]}, "list it alone"),
        ({"gateway__cors_origins": ["https://a.example"] * 2}, "lists an origin twice"),
        ({"gateway__cors_allow_credentials": True}, "cors_allow_credentials must be false"),
        (
            {"gateway__cors_origins": ["*"], "gateway__cors_allow_credentials": True},
            "browsers refuse credentials with the '*' origin",
        ),
        ({"gateway__require_keys": "sometimes"}, "gateway.require_keys"),
        ({"gateway__statements_per_minute": 0}, "gateway.statements_per_minute"),
        ({"gateway__miss_budgets": {}}, "gateway.miss_budgets"),
        ({"gateway__miss_budgets": {"Bulk Tier": 5}}, "gateway.miss_budgets"),
        ({"gateway__miss_budgets": {"standard": 0}}, "gateway.miss_budgets.standard"),
        ({"gateway__api_key_requests_per_5_minutes": 5}, "api_key_requests_per_5_minutes"),
        ({"gateway__rate": 5}, "gateway.rate: Extra inputs are not permitted"),
        ({"log_retention_days": 10}, "one of CloudWatch's periods"),
        ({"surprise": True}, "surprise: Extra inputs are not permitted"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    message = _error(tmp_path, **change)
    assert "invalid config" in message and str(tmp_path) in message
    assert expected in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = _error(tmp_path, account="1", region="nowhere", log_retention_days=2)
    assert all(f in message for f in ("account", "region", "log_retention_days"))
