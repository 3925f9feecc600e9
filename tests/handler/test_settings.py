"""Settings: one typed object from the environment, with errors that say what is missing."""

from pathlib import Path

import pytest

from handler.errors import ConfigurationError
from handler.settings import catalogue_path, load_settings
from handler.warehouse.links import DOWNLOAD_WORKERS

BASE = {"DATABRICKS_HOST": "dbc-123.cloud.databricks.com", "DATABRICKS_WAREHOUSE_ID": "abc"}


def test_a_pat_configuration() -> None:
    settings = load_settings({**BASE, "DATABRICKS_TOKEN": "dapi-x"})
    assert settings.warehouse.host == "https://dbc-123.cloud.databricks.com"
    assert settings.warehouse.token is not None
    assert settings.warehouse.token.get_secret_value() == "dapi-x"
    assert "dapi-x" not in repr(settings), "secrets never print"


def test_full_urls_are_kept_and_trailing_slashes_dropped() -> None:
    settings = load_settings(
        {**BASE, "DATABRICKS_HOST": "http://127.0.0.1:8081/", "DATABRICKS_TOKEN": "t"}
    )
    assert settings.warehouse.host == "http://127.0.0.1:8081"


def test_oauth_and_secret_arn_configurations() -> None:
    oauth = load_settings({**BASE, "DATABRICKS_CLIENT_ID": "id", "DATABRICKS_CLIENT_SECRET": "s"})
    assert oauth.warehouse.client_id == "id"
    arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db"
    assert load_settings({**BASE, "DATABRICKS_SECRET_ARN": arn}).warehouse.secret_arn == arn


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({}, "DATABRICKS_HOST, DATABRICKS_WAREHOUSE_ID"),
        (BASE, "no Databricks credentials"),
        ({**BASE, "DATABRICKS_CLIENT_ID": "id"}, "no Databricks credentials"),
        (
            {**BASE, "DATABRICKS_TOKEN": "t", "LAKEGATE_WAIT_TIMEOUT_SECONDS": "3"},
            "wait_timeout_seconds",
        ),
        (
            {**BASE, "DATABRICKS_TOKEN": "t", "LAKEGATE_WAIT_TIMEOUT_SECONDS": "x"},
            "wait_timeout_seconds",
        ),
    ],
)
def test_bad_configurations_are_named(environ: dict[str, str], complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        load_settings(environ)


def test_catalogue_path_is_optional() -> None:
    assert catalogue_path({}) is None
    assert catalogue_path({"LAKEGATE_CATALOGUE": "/x/c.yaml"}) == Path("/x/c.yaml")


def test_connection_pools_are_one_lambda_container_s_unless_raised() -> None:
    """One invocation at a time needs at most its parallel chunk downloads to one host."""
    pools = load_settings({**BASE, "DATABRICKS_TOKEN": "t"}).pools
    assert (pools.warehouse_connections, pools.aws_connections) == (DOWNLOAD_WORKERS, 4)
    shared = {"LAKEGATE_WAREHOUSE_CONNECTIONS": "64", "LAKEGATE_AWS_CONNECTIONS": "32"}
    pools = load_settings({**BASE, "DATABRICKS_TOKEN": "t", **shared}).pools
    assert (pools.warehouse_connections, pools.aws_connections) == (64, 32)
    with pytest.raises(ConfigurationError, match="aws_connections"):
        load_settings({**BASE, "DATABRICKS_TOKEN": "t", "LAKEGATE_AWS_CONNECTIONS": "0"})
