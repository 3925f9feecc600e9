"""A local Databricks SQL Statement Execution API 2.0, backed by DuckDB.

    with Emulator(EmulatorConfig(latency_ms=50)) as emu:
        WorkspaceClient(host=emu.url, token=emu.config.token).statement_execution...

Modules: config (settings), faults (switchable misbehaviour), api and oauth (endpoints),
server (the Emulator, served by local.http_server), engine (statements), queries (one
run on DuckDB), translate and parameters (SQL and typed values in), wire, schema and
cells (JSON shapes, column types, cell text out).
"""

from local.emulator.config import EmulatorConfig
from local.emulator.faults import Faults, InitialFaults
from local.emulator.server import Emulator

__all__ = ["Emulator", "EmulatorConfig", "Faults", "InitialFaults"]
