"""Credentials: PAT, OAuth M2M, and either one kept in Secrets Manager (moto over HTTP)."""

import json
from collections.abc import Iterator

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from handler.errors import ConfigurationError, WarehouseRejected, WarehouseUnavailable
from handler.settings import WarehouseSettings
from handler.warehouse import Deadline, WarehouseClient, token_provider
from handler.warehouse.auth import OAuthMachineToMachine, SecretsManagerCredentials, StaticToken
from local.aws import REGION, MotoServer, use_local_credentials
from local.emulator import Emulator
from tests.handler.warehouse.test_client import CALIFORNIA_2016


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    use_local_credentials()
    with MotoServer() as server:
        yield server


def secret(moto: MotoServer, name: str, value: str) -> str:
    client = boto3.client("secretsmanager", endpoint_url=moto.url, region_name=REGION)
    return str(client.create_secret(Name=name, SecretString=value)["ARN"])


def provider(moto: MotoServer) -> SecretsProvider:
    client = boto3.client("secretsmanager", endpoint_url=moto.url, region_name=REGION)
    return SecretsProvider(boto3_client=client)


def run_with(emulator: Emulator, moto: MotoServer, arn: str) -> int:
    settings = WarehouseSettings(
        host=emulator.url, warehouse_id=emulator.config.warehouse_id, secret_arn=arn
    )
    session = requests.Session()
    tokens = token_provider(settings, session, provider(moto))
    assert isinstance(tokens, SecretsManagerCredentials)
    return len(
        WarehouseClient(settings, tokens, session).run(CALIFORNIA_2016, Deadline.after(10)).rows
    )


def test_a_pat_in_secrets_manager(emulator: Emulator, moto: MotoServer) -> None:
    arn = secret(moto, "pat-json", json.dumps({"token": emulator.config.token}))
    assert run_with(emulator, moto, arn) == 38


def test_a_bare_string_secret_is_a_pat(emulator: Emulator, moto: MotoServer) -> None:
    arn = secret(moto, "pat-bare", emulator.config.token)
    assert run_with(emulator, moto, arn) == 38


def test_oauth_credentials_in_secrets_manager(emulator: Emulator, moto: MotoServer) -> None:
    value = {
        "client_id": emulator.config.oauth_client_id,
        "client_secret": emulator.config.oauth_client_secret,
    }
    arn = secret(moto, "m2m", json.dumps(value))
    assert run_with(emulator, moto, arn) == 38


def test_the_deploy_time_placeholder_is_a_configuration_error(
    emulator: Emulator, moto: MotoServer
) -> None:
    arn = secret(moto, "placeholder", json.dumps({"placeholder": "set me"}))
    with pytest.raises(ConfigurationError):
        run_with(emulator, moto, arn)


def test_an_unreadable_secret_is_unavailable_not_a_crash(
    emulator: Emulator, moto: MotoServer
) -> None:
    with pytest.raises(WarehouseUnavailable):
        run_with(emulator, moto, "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")


def test_oauth_tokens_are_refreshed_a_minute_before_expiry(emulator: Emulator) -> None:
    now = [0.0]
    tokens = OAuthMachineToMachine(
        emulator.url,
        emulator.config.oauth_client_id,
        emulator.config.oauth_client_secret,
        requests.Session(),
        clock=lambda: now[0],
    )
    first = tokens.token()
    now[0] = 3600 - 61  # the emulator's tokens live an hour
    assert tokens.token() == first
    now[0] = 3600 - 59
    assert tokens.token() != first


def test_refused_oauth_credentials(emulator: Emulator) -> None:
    tokens = OAuthMachineToMachine(emulator.url, "nobody", "wrong", requests.Session())
    with pytest.raises(WarehouseRejected):
        tokens.token()


def test_the_provider_follows_the_settings() -> None:
    session = requests.Session()
    pat = WarehouseSettings(host="h", warehouse_id="w", token="t")
    assert isinstance(token_provider(pat, session), StaticToken)
    m2m = WarehouseSettings(host="h", warehouse_id="w", client_id="i", client_secret="s")
    assert isinstance(token_provider(m2m, session), OAuthMachineToMachine)
    with pytest.raises(ConfigurationError):
        token_provider(WarehouseSettings(host="h", warehouse_id="w"), session)
