"""A local Databricks SQL Statement Execution API 2.0, backed by DuckDB.

    with Emulator(EmulatorConfig(latency_ms=50)) as emu:
        WorkspaceClient(host=emu.url, token=emu.config.token).statement_execution...

Modules: config (settings, faults), api (endpoints), server (the Emulator, served by
local.http_server), engine (statements), translate (SQL and parameters), wire/cells
(JSON shapes).
"""

from local.emulator.config import EmulatorConfig, Faults, InitialFaults
from local.emulator.server import Emulator

__all__ = ["Emulator", "EmulatorConfig", "Faults", "InitialFaults"]
