"""The fault matrix (tools/faults.py), one test per cell: every warehouse fault against
no entry, a fresh entry and a stale entry, held to the issue's requirement.

The matrix runs once per module (about half a minute); each test reads its cell.
"""

from collections.abc import Iterator

import pytest

from local.stack import EmbeddedStack
from tools.faults import (
    FAULTS,
    STATES,
    Fault,
    Observed,
    State,
    run_matrix,
    stack_config,
    write_short_catalogue,
)

CELLS = [(fault, state) for fault in FAULTS for state in STATES]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Observed]]:
    catalogue = write_short_catalogue(tmp_path_factory.mktemp("fault-matrix"))
    with EmbeddedStack(stack_config(catalogue)) as stack:
        yield {(row.fault, row.state): row for row in run_matrix(stack)}


def test_the_matrix_covers_every_fault_in_every_state(
    observed: dict[tuple[str, str], Observed],
) -> None:
    assert sorted(observed) == sorted((fault.name, state) for fault, state in CELLS)


@pytest.mark.parametrize(
    ("fault", "state"), CELLS, ids=[f"{fault.name} | {state}" for fault, state in CELLS]
)
def test_cell(observed: dict[tuple[str, str], Observed], fault: Fault, state: State) -> None:
    row = observed[(fault.name, state)]
    assert row.ok, f"{fault.name}, {state}: " + "; ".join(row.problems)
    assert row.status != 500
