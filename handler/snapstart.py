"""Lambda SnapStart (the `zip` packaging, cdk/README.md): what the snapshot holds, and what
a restored container renews.

Lambda initialises a SnapStart version once, when the version is published, and
snapshots the initialised memory; every new container is restored from the snapshot
instead of importing anything. A cold start then costs the restore, whatever the init
phase did, so before the snapshot the container loads what it would otherwise load on
its first requests (`prepare`): each dataset's parameter model, the miss path
(handler.datasets, polars, the roll-up derivation) and the warehouse client. After a
restore, `random` is reseeded: every container restored from one snapshot would
otherwise draw the same retry jitter (handler.warehouse.deadline). Nothing else needs
renewing: no connection is opened and no secret is read during init, and boto3 reads
SnapStart's container credentials when it first signs a request.

The hooks come from `snapshot_restore_py`, part of every Python managed runtime.
Elsewhere (the container image, the embedded stack, the tests) it is absent and nothing
is registered: those containers load the miss path on their first miss instead.
"""

from __future__ import annotations

import gc
import importlib
import random
from typing import TYPE_CHECKING

from handler.parameters import parameters_of

if TYPE_CHECKING:
    from handler.catalogue import Catalogue
    from handler.container import Wired

# What a miss loads beyond a hit (tests/e2e/test_cold_start.py keeps this list whole).
MISS_PATH = (
    "handler.datasets",
    "handler.derivation",
    "handler.shaping",
    "handler.encoding",
    "handler.arrow_frames",
    "handler.json_text",
)


def register(catalogue: Catalogue, wired: Wired) -> bool:
    """Register the snapshot hooks where the runtime offers them; whether it did."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False
    register_before_snapshot(prepare, catalogue, wired)
    register_after_restore(random.seed)
    return True


def prepare(catalogue: Catalogue, wired: Wired) -> None:
    """Load now what the container's first requests would load, then freeze it all out of
    later collections (as handler.app does with the init phase's objects)."""
    for dataset in catalogue.datasets:
        parameters_of(dataset)
    for module in MISS_PATH:
        importlib.import_module(module)
    wired.prepare()
    gc.collect()
    gc.freeze()
