"""Emulator settings, fixed at start; the switchable faults live in local.emulator.faults."""

from __future__ import annotations

from dataclasses import dataclass, field

from local.emulator.faults import Faults, InitialFaults

__all__ = ["DEFAULT_TOKEN", "EmulatorConfig", "Faults", "InitialFaults"]

DEFAULT_TOKEN = "dapi-local-emulator"


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator needs to know before it starts."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: let the OS pick a free port (tests run in parallel)
    token: str = DEFAULT_TOKEN
    oauth_client_id: str = "lakegate-local"
    oauth_client_secret: str = "lakegate-local-secret"
    latency_ms: int = 300
    chunk_rows: int = 10_000
    warehouse_id: str = "local-warehouse"
    # Databricks keeps a finished result for an hour, then reports CLOSED (polling does
    # not extend it); the emulator does the same, and forgets the statement after twice
    # that so a long load test does not hold every result set in memory.
    result_ttl_s: float = 3600.0
    # How long a presigned EXTERNAL_LINKS link stays valid (Databricks: at most 15 minutes).
    link_ttl_s: float = 900.0
    seed: int = 0  # seeds Faults.error_rate so a failing run can be replayed
    faults: InitialFaults = field(default_factory=InitialFaults)
