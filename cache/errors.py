"""What the cache itself can fail with. `handler` maps each to HTTP (handler.responses).

    CacheError
    ├── CacheUnavailable    the store (DynamoDB/S3) failed or was slow; callers fail open
    ├── Superseded          our lease lapsed and another invocation stored the key's result
    ├── RollupOversize      a roll-up holds more rows than its bound (cache/rollups.py)
    └── NoResultInTime      no result for this request now (all carry Retry-After)
        ├── LeaseWaitTimeout    waited out its budget for the lease holder's result
        ├── KeyFailing          a statement for this key failed moments ago
        └── Refused             a statement would exceed a budget (cache/budget.py)
            ├── OverShare            this consumer's share of the dataset's minute
            ├── OverConsumerBudget   this consumer's misses this minute (its tier's)
            └── OverStatementBudget  the dataset's statements this minute

Failures of the computation the cache wraps (the warehouse, shaping) are not the
cache's: they pass through it unchanged, after it has released the lease.
"""

from __future__ import annotations


class CacheError(Exception):
    """Base of every error the cache raises."""


class CacheUnavailable(CacheError):
    """The store failed. `error_code` is the AWS error code, for logs only.

    Callers fail open, except for an answer too large to send in line: without its
    object there is nothing whole to send, so the client is told to come back."""

    retry_after = 5  # seconds: S3 and DynamoDB blips are short

    def __init__(self, detail: str, *, error_code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error_code = error_code

    @classmethod
    def of(cls, operation: str, exc: Exception) -> CacheUnavailable:
        """botocore's failure of `operation`, keeping only its AWS error code."""
        response = getattr(exc, "response", None)  # a ClientError's parsed answer
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
        return cls(f"cache {operation} failed", error_code=code or type(exc).__name__)


class Superseded(CacheError):
    """Our lease had lapsed and another invocation stored this key's result since we took it:
    that result stands (ours is not written over it)."""


class NoResultInTime(CacheError):
    """This request will not get the result another invocation is computing."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class LeaseWaitTimeout(NoResultInTime):
    """The lease holder had not stored a result when this request's budget ran out."""


class KeyFailing(NoResultInTime):
    """The last statement for this key failed moments ago: do not send another yet."""


class Refused(NoResultInTime):
    """Running a statement now would exceed a budget; cached answers still flow."""


class OverShare(Refused):
    """The consumer has started its share of the dataset's statements for this minute."""


class OverConsumerBudget(Refused):
    """The consumer has used its warehouse statements (misses) for this minute."""


class OverStatementBudget(Refused):
    """The dataset has used its warehouse statements for this minute, for everyone."""
