"""Admin settings come from the environment, with the rest of Settings."""

import pytest

from handler.errors import ConfigurationError
from handler.settings import load_settings

BASE = {
    "DATABRICKS_HOST": "dbc-123.cloud.databricks.com",
    "DATABRICKS_WAREHOUSE_ID": "abc",
    "DATABRICKS_TOKEN": "t",
}
ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:lakegate/dev/admin-token"


def test_admin_routes_are_off_without_a_token_secret() -> None:
    assert load_settings(BASE).admin is None


def test_admin_settings_and_their_defaults() -> None:
    admin = load_settings(
        {
            **BASE,
            "LAKEGATE_ADMIN_TOKEN_SECRET_ARN": ARN,
            "LAKEGATE_DISTRIBUTION_ID_PARAMETER": "/lakegate/dev/distribution-id",
            "LAKEGATE_AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
            "AWS_REGION": "eu-west-1",
        }
    ).admin
    assert admin is not None
    assert admin.token_secret_arn == ARN
    assert admin.distribution_id_parameter == "/lakegate/dev/distribution-id"
    assert (admin.token_cache_seconds, admin.invalidations_per_minute) == (60.0, 3)
    assert (admin.endpoint_url, admin.region) == ("http://127.0.0.1:5000", "eu-west-1")


def test_the_throttle_and_token_cache_are_configurable() -> None:
    admin = load_settings(
        {
            **BASE,
            "LAKEGATE_ADMIN_TOKEN_SECRET_ARN": ARN,
            "LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE": "10",
            "LAKEGATE_ADMIN_TOKEN_CACHE_SECONDS": "5",
        }
    ).admin
    assert admin is not None
    assert (admin.invalidations_per_minute, admin.token_cache_seconds) == (10, 5.0)
    assert admin.distribution_id_parameter is None


@pytest.mark.parametrize("limit", ["0", "x"])
def test_a_bad_throttle_is_named(limit: str) -> None:
    with pytest.raises(ConfigurationError, match="invalidations_per_minute"):
        load_settings(
            {
                **BASE,
                "LAKEGATE_ADMIN_TOKEN_SECRET_ARN": ARN,
                "LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE": limit,
            }
        )
