"""The edge: CloudFront invalidations for the paths a dataset is served under.

The origin is made fresh first (a generation bump or a delete in DynamoDB); the edge
purge follows. Its failure is reported, never raised: the origin is already fresh,
and CloudFront copies age out within the dataset's s-maxage anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from mypy_boto3_cloudfront import CloudFrontClient

logger = Logger(service="lakegate", child=True)  # under handler.app's logger, whatever the env

# The distribution id never changes for a deployed stack: read it about once per container.
DISTRIBUTION_ID_MAX_AGE_SECONDS = 3600

EdgeStatus = Literal["created", "skipped", "failed"]


class DistributionIdUnavailable(Exception):
    """The SSM parameter naming the distribution could not be read."""


@dataclass(frozen=True, slots=True)
class EdgeResult:
    status: EdgeStatus
    paths: tuple[str, ...]
    distribution_id: str | None = None
    invalidation_id: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        document: dict[str, object] = {"status": self.status, "paths": list(self.paths)}
        for name in ("distribution_id", "invalidation_id", "reason"):
            value = getattr(self, name)
            if value is not None:
                document[name] = value
        return document


def edge_paths(routes: Iterable[str]) -> tuple[str, ...]:
    """Invalidation paths covering every cached variant of each route.

    CloudFront caches one object per path *and* query string, and an invalidation
    path cannot name a query string: the trailing `*` covers them all.
    """
    return tuple(f"{route}*" for route in routes)


class EdgeInvalidator:
    def __init__(
        self,
        cloudfront: Callable[[], CloudFrontClient],
        distribution_id: Callable[[], str | None],
    ) -> None:
        self._cloudfront = cloudfront
        self._distribution_id = distribution_id

    def invalidate(self, paths: Sequence[str], reference: str) -> EdgeResult:
        """Create one CloudFront invalidation; `reference` makes a retried request idempotent."""
        paths = tuple(paths)
        try:
            distribution = self._distribution_id()
        except DistributionIdUnavailable:
            logger.warning("edge invalidation failed", extra={"stage": "distribution_id"})
            return EdgeResult("failed", paths, reason="distribution id parameter unreadable")
        if distribution is None:
            return EdgeResult("skipped", paths, reason="no distribution configured")
        try:
            answer = self._cloudfront().create_invalidation(
                DistributionId=distribution,
                InvalidationBatch={
                    "Paths": {"Quantity": len(paths), "Items": list(paths)},
                    "CallerReference": reference,
                },
            )
        except (BotoCoreError, ClientError) as exc:
            code = (
                exc.response.get("Error", {}).get("Code")
                if isinstance(exc, ClientError)
                else type(exc).__name__
            )
            logger.warning(
                "edge invalidation failed",
                extra={"stage": "create_invalidation", "error_code": code},
            )
            return EdgeResult(
                "failed", paths, distribution, reason=f"CloudFront invalidation failed ({code})"
            )
        return EdgeResult("created", paths, distribution, answer["Invalidation"]["Id"])


def ssm_distribution_id(
    provider: Callable[[], SSMProvider], parameter: str | None
) -> Callable[[], str | None]:
    """The distribution id from its SSM parameter (cached by Powertools); None without one."""

    def distribution_id() -> str | None:
        if parameter is None:
            return None
        # Imported here: the parameters package imports boto3, which the init phase of a
        # container that only serves data requests should not pay for.
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            value = provider().get(parameter, max_age=DISTRIBUTION_ID_MAX_AGE_SECONDS)
        except GetParameterError as exc:
            raise DistributionIdUnavailable(parameter) from exc
        if not isinstance(value, str) or not value.strip():
            raise DistributionIdUnavailable(parameter)
        return value.strip()

    return distribution_id
