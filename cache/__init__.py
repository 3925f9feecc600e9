"""The result cache: keys, the DynamoDB store, single flight, invalidation.

A layer below `handler/` (import-linter enforces it): it knows nothing of datasets,
HTTP or the warehouse. The handler hands it a `CacheRequest` (a key, a freshness
policy, a time budget and how to compute the result) and renders the `Served` outcome.
Import from here, not from the modules:

    keys.py          CanonicalQuery → SHA-256 key
    results.py       ResultCache.serve: hit, stale, miss, collapsed, bypass
    single_flight.py one statement per key at a time (leases)
    store.py         DynamoDB (+ S3 overflow); memory.py, its in-memory twin for tests
    invalidation.py  retire a dataset (generation bump) or one key
    budget.py        statements per minute, per dataset and consumer
    errors.py        what the cache fails with
"""

from cache.budget import Budgets, DynamoBudget, MemoryBudget, StatementBudget
from cache.entry import Entry, GenerationInfo, Lookup, Renderable
from cache.errors import (
    CacheError,
    CacheUnavailable,
    KeyFailing,
    LeaseWaitTimeout,
    NoResultInTime,
    OverConsumerBudget,
    OverStatementBudget,
    Refused,
    Superseded,
)
from cache.invalidation import invalidate_dataset, invalidate_key
from cache.keys import CanonicalQuery, Scalar, cache_key, canonical_form, digest
from cache.metrics import CountingRecorder, Recorder
from cache.policy import Budget, CappedBudget, FlightPolicy, Freshness
from cache.results import ResultCache
from cache.served import CacheRequest, Compute, Outcome, Served, UncachedResults, build_entry
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
    "DynamoBudget",
    "DynamoCacheStore",
    "Entry",
    "FlightPolicy",
    "Freshness",
    "GenerationInfo",
    "KeyFailing",
    "LeaseWaitTimeout",
    "Lookup",
    "MemoryBudget",
    "NoResultInTime",
    "Outcome",
    "OverConsumerBudget",
    "OverStatementBudget",
    "Recorder",
    "Refused",
    "Renderable",
    "ResultCache",
    "Scalar",
    "Served",
    "StatementBudget",
    "Superseded",
    "UncachedResults",
    "build_entry",
    "cache_key",
    "canonical_form",
    "digest",
    "invalidate_dataset",
    "invalidate_key",
]
