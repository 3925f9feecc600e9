"""The result cache: keys, the DynamoDB store, single flight, invalidation.

A layer below `handler/` (import-linter enforces it): it knows nothing of datasets,
HTTP or the warehouse. The handler hands it a `CacheRequest` (a key, a freshness
policy, a time budget and how to compute the result) and renders the `Served` outcome.
Import from here, not from the modules:

    keys.py          CanonicalQuery → SHA-256 key
    results.py       ResultCache.serve: hit, stale, miss, collapsed, bypass
    single_flight.py one statement per key at a time (leases)
    rollups.py       roll-ups: fetched once per freshness window, stored, obtained
    held.py          the decoded roll-ups a container keeps, within a bound in bytes
    store.py         DynamoDB (+ S3 overflow); memory.py, its in-memory twin for tests
    invalidation.py  retire a dataset (generation bump) or one key
    budget.py        statements per minute, per dataset and consumer
    errors.py        what the cache fails with
"""

from cache.budget import (
    Budgets,
    DynamoBudget,
    FallbackBudget,
    MemoryBudget,
    StatementBudget,
    dataset_counters,
)
from cache.entry import Entry, GenerationInfo, Lookup, Renderable
from cache.errors import (
    CacheError,
    CacheUnavailable,
    KeyFailing,
    LeaseWaitTimeout,
    NoResultInTime,
    OverConsumerBudget,
    OverShare,
    OverStatementBudget,
    Refused,
    Superseded,
)
from cache.held import Held
from cache.invalidation import invalidate_dataset, invalidate_key
from cache.keys import CanonicalQuery, Scalar, cache_key, canonical_form, digest, rollup_key
from cache.metrics import CountingRecorder, Recorder
from cache.outcomes import Outcome
from cache.policy import Budget, CappedBudget, FlightPolicy, Freshness
from cache.results import ResultCache
from cache.rollups import (
    Decoded,
    Fetched,
    Obtained,
    RollupOversize,
    RollupRequest,
    Rollups,
)
from cache.served import (
    CacheRequest,
    Compute,
    Derived,
    Served,
    UncachedResults,
    Vintage,
    build_entry,
)
from cache.store import CacheStore, DynamoCacheStore

__all__ = [
    "Budget",
    "Budgets",
    "CacheError",
    "CacheRequest",
    "CacheStore",
    "CacheUnavailable",
    "CanonicalQuery",
    "CappedBudget",
    "Compute",
    "CountingRecorder",
    "Decoded",
    "Derived",
    "DynamoBudget",
    "DynamoCacheStore",
    "Entry",
    "FallbackBudget",
    "Fetched",
    "FlightPolicy",
    "Freshness",
    "GenerationInfo",
    "Held",
    "KeyFailing",
    "LeaseWaitTimeout",
    "Lookup",
    "MemoryBudget",
    "NoResultInTime",
    "Obtained",
    "Outcome",
    "OverConsumerBudget",
    "OverShare",
    "OverStatementBudget",
    "Recorder",
    "Refused",
    "Renderable",
    "ResultCache",
    "RollupOversize",
    "RollupRequest",
    "Rollups",
    "Scalar",
    "Served",
    "StatementBudget",
    "Superseded",
    "UncachedResults",
    "Vintage",
    "build_entry",
    "cache_key",
    "canonical_form",
    "dataset_counters",
    "digest",
    "invalidate_dataset",
    "invalidate_key",
    "rollup_key",
]
