"""The admin token check: both secret versions, constant-time comparison, a short cache."""

import contextlib
import hmac
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler.admin.auth import (
    AdminSecretUnavailable,
    TokenVerifier,
    parse_token,
    secrets_manager_fetch,
    token_id,
)
from handler.errors import Unauthorized

CURRENT = "current-token-0123456789abcdef"
PREVIOUS = "previous-token-fedcba9876543210"


class FakeSecret:
    """Version stages of one secret, counting reads; `broken` makes every read fail."""

    def __init__(self, current: str | None = CURRENT, previous: str | None = PREVIOUS) -> None:
        self.versions = {"AWSCURRENT": current, "AWSPREVIOUS": previous}
        self.reads = 0
        self.broken = False

    def __call__(self, stage: str) -> str | None:
        self.reads += 1
        if self.broken:
            raise AdminSecretUnavailable("unreadable", error_code="ServiceUnavailable")
        return self.versions[stage]

    def rotate(self, token: str) -> None:
        self.versions = {"AWSCURRENT": token, "AWSPREVIOUS": self.versions["AWSCURRENT"]}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secret() -> FakeSecret:
    return FakeSecret()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def verifier(secret: FakeSecret, clock: FakeClock) -> TokenVerifier:
    return TokenVerifier(secret, cache_seconds=60, clock=clock)


def test_the_current_token_is_accepted_and_named_by_digest_and_stage(
    verifier: TokenVerifier,
) -> None:
    principal = verifier.verify(CURRENT)
    assert principal.token_id == token_id(CURRENT, "current")
    assert principal.token_id.endswith("/current") and len(principal.token_id) == 8 + 8
    assert CURRENT not in principal.token_id


def test_the_previous_token_is_accepted_during_a_rotation(verifier: TokenVerifier) -> None:
    assert verifier.verify(PREVIOUS).token_id == token_id(PREVIOUS, "previous")


@pytest.mark.parametrize(
    "presented",
    [None, "", "wrong", CURRENT + "x", CURRENT[:-1], CURRENT.upper(), " " + CURRENT, "\ud800"],
)
def test_missing_and_wrong_tokens_are_refused_alike(
    verifier: TokenVerifier, presented: str | None
) -> None:
    with pytest.raises(Unauthorized) as refused:
        verifier.verify(presented)
    assert str(refused.value) == "" and refused.value.args == ()


def test_without_a_previous_version_only_the_current_token_works(clock: FakeClock) -> None:
    verifier = TokenVerifier(FakeSecret(previous=None), cache_seconds=60, clock=clock)
    assert verifier.verify(CURRENT).token_id.endswith("/current")
    for presented in (PREVIOUS, "", None):
        with pytest.raises(Unauthorized):
            verifier.verify(presented)


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    calls: list[tuple[bytes, bytes]] = []
    # auth's `hmac` is this module: patching it here is patching what auth calls.
    real: Callable[[bytes, bytes], bool] = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    return calls


@pytest.mark.parametrize("presented", [CURRENT, PREVIOUS, "wrong", "", None])
def test_every_check_makes_both_constant_time_comparisons_on_fixed_length_digests(
    verifier: TokenVerifier, comparisons: list[tuple[bytes, bytes]], presented: str | None
) -> None:
    with contextlib.suppress(Unauthorized):
        verifier.verify(presented)
    assert len(comparisons) == 2, "no short circuit: timing says neither whether nor which"
    assert all(len(a) == len(b) == 32 for a, b in comparisons), "no length leak"


def test_versions_are_cached_until_they_expire_then_a_rotation_is_seen(
    verifier: TokenVerifier, secret: FakeSecret, clock: FakeClock
) -> None:
    verifier.verify(CURRENT)
    verifier.verify(PREVIOUS)
    assert secret.reads == 2, "one read per stage, then served from the cache"
    secret.rotate("rotated-token")
    clock.now += 59
    with pytest.raises(Unauthorized):
        verifier.verify("rotated-token")
    clock.now += 1
    assert verifier.verify("rotated-token").token_id.endswith("/current")
    assert verifier.verify(CURRENT).token_id.endswith("/previous")
    with pytest.raises(Unauthorized):
        verifier.verify(PREVIOUS)
    assert secret.reads == 4


def test_a_zero_cache_reads_the_secret_every_time(secret: FakeSecret, clock: FakeClock) -> None:
    verifier = TokenVerifier(secret, cache_seconds=0, clock=clock)
    verifier.verify(CURRENT)
    verifier.verify(CURRENT)
    assert secret.reads == 4


def test_a_failed_refresh_keeps_the_cached_versions(
    verifier: TokenVerifier, secret: FakeSecret, clock: FakeClock
) -> None:
    verifier.verify(CURRENT)
    secret.broken = True
    clock.now += 3600
    assert verifier.verify(CURRENT).token_id.endswith("/current")
    with pytest.raises(Unauthorized):
        verifier.verify("wrong")


def test_an_unreadable_secret_without_a_cache_is_unavailable_not_unauthorized(
    secret: FakeSecret, clock: FakeClock
) -> None:
    secret.broken = True
    with pytest.raises(AdminSecretUnavailable):
        TokenVerifier(secret, cache_seconds=60, clock=clock).verify(CURRENT)


@pytest.mark.parametrize(
    ("stored", "token"),
    [
        ("plain-token", "plain-token"),
        ("  padded\n", "padded"),
        ('{"token": "from-json"}', "from-json"),
        ('{"other": 1}', None),
        ("", None),
        (None, None),
    ],
)
def test_the_secret_holds_a_plain_token_or_json_with_a_token(
    stored: str | None, token: str | None
) -> None:
    assert parse_token(stored) == token


@pytest.fixture
def secrets_manager() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_secrets_manager_versions_current_and_previous(secrets_manager: Any) -> None:
    arn = secrets_manager.create_secret(Name="admin", SecretString="first")["ARN"]
    fetch = secrets_manager_fetch(lambda: secrets_manager, arn)
    assert fetch("AWSCURRENT") == "first"
    assert fetch("AWSPREVIOUS") is None, "no previous version before the first rotation"
    secrets_manager.put_secret_value(SecretId=arn, SecretString="second")
    assert (fetch("AWSCURRENT"), fetch("AWSPREVIOUS")) == ("second", "first")


def test_a_missing_secret_is_unavailable(secrets_manager: Any) -> None:
    fetch = secrets_manager_fetch(lambda: secrets_manager, "no-such-secret")
    with pytest.raises(AdminSecretUnavailable) as failure:
        fetch("AWSCURRENT")
    assert failure.value.error_code == "ResourceNotFoundException"


@pytest.mark.parametrize("force", [True, False], ids=["deleted", "scheduled-for-deletion"])
def test_a_deleted_secret_refuses_every_token_within_the_cache_lifetime(
    secrets_manager: Any, force: bool
) -> None:
    arn = secrets_manager.create_secret(Name="admin", SecretString="the-token")["ARN"]
    clock = FakeClock()
    verifier = TokenVerifier(secrets_manager_fetch(lambda: secrets_manager, arn), 60, clock)
    assert verifier.verify("the-token").token_id.endswith("/current")
    if force:
        secrets_manager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    else:
        secrets_manager.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    assert verifier.verify("the-token"), "cached: still valid inside the 60 s"
    clock.now += 61
    with pytest.raises(Unauthorized):
        verifier.verify("the-token")
