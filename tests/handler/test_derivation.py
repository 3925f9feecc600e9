"""A derived answer is the warehouse's answer, byte for byte.

Hypothesis writes dashboard queries in every form the catalogue allows (filters as
equalities, lists and ranges, case-folded text, groups at every period, every measure,
sorts, `fields`, `limit`/`offset`, exports, JSON and CSV). Each is answered twice: by
its own statement through the Statement Execution API emulator over the real sample
tables (handler.datasets.fetch_page, as a miss without roll-ups), and from the first
roll-up that answers it (handler.datasets.derive_page over the roll-up fetched the
same way). The bodies must be the same bytes, with the same row count and "more rows"
flag, which are all the `Link` and `X-Row-Count` headers are made of. A float measure
may differ in its last place (docs/rollups.md says so); any other difference fails.

Two catalogues: the packaged one (each dataset's whole table as its roll-up), and one
whose grouped roll-ups answer first (tests/handler/rollup_catalogue.py), so that every
re-aggregation rule meets the warehouse.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from handler.catalogue import Catalogue, Dataset, load_catalogue
from handler.datasets import HeldRollup, Page, derive_page, fetch_page, fetch_rollup
from handler.errors import BadRequest
from handler.query import parse_query
from handler.rollups import answering_rollup
from handler.warehouse import Deadline, WarehouseClient
from local.emulator import Emulator, EmulatorConfig
from tests.handler.rollup_catalogue import rollup_catalogue
from tests.handler.warehouse.conftest import client_for

pytestmark = pytest.mark.slow  # an emulator, the sample tables, a few hundred statements

PACKAGED = load_catalogue()
RICH = rollup_catalogue()
VALUES: dict[str, tuple[str, ...]] = {
    "year": ("1993", "1994", "2000", "2016", "2018", "2019"),
    "state": ("California", "texas", "OHIO", "District of Columbia", "Nowhere"),
    "cohort": ("16", "20-24", "85+", "Under 16"),
    "date": (
        "2009-12-31",
        "2010-01-01",
        "2016-02-29",
        "2019-12-31",
        "2020-01-01",
        "2024-03-31",
        "2024-04-01",
        "2024-06-30",
        "2025-12-31",
        "2026-01-01",
    ),
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(port=0, latency_ms=0)) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> WarehouseClient:
    return client_for(emulator)


@pytest.fixture(scope="module")
def held(client: WarehouseClient) -> dict[tuple[int, str, str], HeldRollup]:
    """Every roll-up of both catalogues, fetched once from the emulator."""
    fetched: dict[tuple[int, str, str], HeldRollup] = {}
    for catalogue in (PACKAGED, RICH):
        for dataset in catalogue.datasets:
            for rollup in dataset.rollups:
                result = fetch_rollup(client, dataset, rollup, Deadline.after(120))
                assert result.decoded is not None, f"{rollup.name} is within its bound"
                fetched[(id(catalogue), dataset.name, rollup.name)] = result.decoded.value
    return fetched


@st.composite
def query_string(draw: st.DrawFn, dataset: Dataset) -> str:
    """A request of `dataset` as a client would write it (it may still be refused)."""
    pairs: list[tuple[str, str]] = []
    for spec in dataset.filters:
        values = VALUES[spec.name]
        form = draw(st.sampled_from([None, *spec.operators, "range"]))
        if form == "in" and "in" in spec.operators:
            items = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3))
            pairs.append((f"{spec.name}[in]", ",".join(items)))
        elif form == "range" and "gte" in spec.operators:
            low, high = draw(st.sampled_from(["gt", "gte"])), draw(st.sampled_from(["lt", "lte"]))
            for op in draw(st.sampled_from([(low,), (high,), (low, high)])):
                pairs.append((f"{spec.name}[{op}]", draw(st.sampled_from(values))))
        elif form is not None and form not in ("in", "range"):
            pairs.append((spec.parameter(form), draw(st.sampled_from(values))))  # type: ignore[arg-type]
    if draw(st.sampled_from(["raw rows", "aggregate", "aggregate"])) == "raw rows":
        columns = draw(st.lists(st.sampled_from(dataset.column_names), max_size=3, unique=True))
        if columns:
            pairs.append(("fields", ",".join(columns)))
        keys: list[str] = list(dataset.sortable)
    else:
        periods = {token.partition(":")[0]: token for token in draw(_groups(dataset))}
        measures = draw(
            st.lists(st.sampled_from([m.name for m in dataset.measures]), max_size=3, unique=True)
        )
        if not periods and not measures:
            measures = [dataset.measures[0].name]
        if periods:
            pairs.append(("group_by", ",".join(periods.values())))
        if measures:
            pairs.append(("measures", ",".join(measures)))
        keys = [*periods.values(), *measures] if periods else []
    if bool(keys) and draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
        signs = [bool(draw(st.booleans())) for _ in chosen]
        pairs.append(
            (
                "sort",
                ",".join(f"-{k}" if down else k for k, down in zip(chosen, signs, strict=True)),
            )
        )
    limit = draw(st.sampled_from([1, 3, 20, 1000, *([6000] if dataset.export else [])]))
    pairs.append(("limit", str(limit)))
    offset = draw(st.sampled_from([0, 0, 2, 45]))
    if offset:
        pairs.append(("offset", str(offset)))
    kind = draw(st.sampled_from([None, "json", "csv"] if limit <= 5000 else ["json", "csv"]))
    if kind:
        pairs.append(("format", kind))
    return "&".join(f"{name}={quote(value, safe=',')}" for name, value in pairs)


def _groups(dataset: Dataset) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(dataset.group_tokens), max_size=3, unique=True)


def same_answer(derived: Page, direct: Page) -> bool:
    """Whether the bodies are the same bytes (else they differ only in floats' last place)."""
    assert (derived.content_type, derived.row_count, derived.has_more) == (
        direct.content_type,
        direct.row_count,
        direct.has_more,
    )
    if derived.body == direct.body:
        return True
    mine, theirs = _cells(derived), _cells(direct)
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs, strict=True):
        assert _close(a, b), f"{a!r} != {b!r}"
    return False


def _cells(page: Page) -> list[Any]:
    if page.content_type.startswith("text/csv"):
        rows = list(csv.reader(io.StringIO(page.body.decode())))
        return [cell for row in rows for cell in row]
    return [value for row in orjson.loads(page.body) for value in row.items()]


def _close(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]:
        a, b = a[1], b[1]
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return False
    return math.isclose(x, y, rel_tol=0, abs_tol=math.ulp(max(abs(x), abs(y))))


def check(
    catalogue: Catalogue,
    held: dict[tuple[int, str, str], HeldRollup],
    client: WarehouseClient,
    name: str,
    raw: str,
) -> tuple[str, bool] | None:
    """Which roll-up answered `raw` as the warehouse does, and whether in the same bytes;
    None when no roll-up answers it (a refused request, an export past every bound)."""
    dataset = _of(catalogue, name)
    try:
        query = parse_query(dataset, raw)
    except BadRequest:
        return None
    rollup = answering_rollup(dataset, query)
    if rollup is None:
        return None
    kept = held[(id(catalogue), name, rollup.name)]
    assert query.aggregated or kept.unique_rows, "the sample tables' row keys are unique"
    derived = derive_page(dataset, rollup, kept, query)
    direct = fetch_page(client, dataset, query, Deadline.after(60))
    return rollup.name, same_answer(derived, direct)


def derived_by(
    catalogue: Catalogue,
    held: dict[tuple[int, str, str], HeldRollup],
    client: WarehouseClient,
    request: tuple[str, str],
) -> None:
    answered = check(catalogue, held, client, *request)
    assume(answered is not None)
    assert answered is not None
    event(f"from {answered[0]}")
    event("same bytes" if answered[1] else "a float's last place differs")


SETTINGS = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


def requests_of(catalogue: Catalogue) -> st.SearchStrategy[tuple[str, str]]:
    """(dataset, query string) for any dataset of `catalogue`."""
    names = st.sampled_from([d.name for d in catalogue.datasets])
    return names.flatmap(lambda n: st.tuples(st.just(n), query_string(_of(catalogue, n))))


@SETTINGS
@given(request=requests_of(PACKAGED))
def test_answers_derived_from_the_whole_table_are_the_warehouses(
    held: dict[tuple[int, str, str], HeldRollup],
    client: WarehouseClient,
    request: tuple[str, str],
) -> None:
    derived_by(PACKAGED, held, client, request)


@SETTINGS
@given(request=requests_of(RICH))
def test_answers_derived_from_grouped_rollups_are_the_warehouses(
    held: dict[tuple[int, str, str], HeldRollup],
    client: WarehouseClient,
    request: tuple[str, str],
) -> None:
    derived_by(RICH, held, client, request)


def _of(catalogue: Catalogue, name: str) -> Dataset:
    found = catalogue.get(name)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("name", "raw", "rollup"),
    [
        ("drivers", "group_by=state&measures=total_drivers,cohorts&limit=60", "table"),
        (
            "drivers",
            "group_by=year,state,gender&measures=cohorts&year=2016",
            "by_year_state_gender",
        ),
        (
            "drivers",
            "group_by=year&measures=average_group,smallest_group&state[in]=ohio,texas",
            "by_year_state_gender",
        ),
        ("drivers", "measures=groups,total_drivers&cohort=85%2B", "table"),
        (
            "crashes",
            "group_by=date:quarter,weekend&measures=total_crashes,last_update&date[gte]=2024-01-01&date[lte]=2024-06-30",
            "monthly",
        ),
        (
            "crashes",
            "group_by=date:week&measures=total_crashes&date[gte]=2024-01-01&limit=60",
            "table",
        ),
        (
            "crashes",
            "group_by=date:month&measures=total_rate,rated_days,lowest_rate&date[gte]=2024-01-15",
            "table",
        ),
        ("crashes", "measures=states,days&date[lt]=2010-03-01", "table"),
        ("crashes", "measures=total_crashes&state=Nowhere", "monthly"),
        (
            "crashes",
            "fields=date,fatality_rate,updated_at&sort=-fatality_rate&limit=50&offset=7",
            "table",
        ),
        ("crashes", "state=ohio&limit=10000&format=csv", "table"),
    ],
)
def test_each_rule_meets_the_warehouse(
    held: dict[tuple[int, str, str], HeldRollup],
    client: WarehouseClient,
    name: str,
    raw: str,
    rollup: str,
) -> None:
    """Queries each rule decides, named: which roll-up answers, and that it answers right."""
    answered = check(RICH, held, client, name, raw)
    assert answered is not None and answered[0] == rollup


def test_an_empty_selection_answers_as_sql_does(
    held: dict[tuple[int, str, str], HeldRollup], client: WarehouseClient
) -> None:
    """No row: the sum of nothing is NULL, the count 0, and there are no groups."""
    check(RICH, held, client, "crashes", "measures=total_crashes,days,lowest_rate&date=2009-01-01")
    check(RICH, held, client, "crashes", "group_by=state&measures=days&date=2009-01-01")
    dataset = _of(RICH, "crashes")
    query = parse_query(dataset, "measures=total_crashes,days&date=2009-01-01")
    page = fetch_page(client, dataset, query, Deadline.after(60))
    assert orjson.loads(page.body) == [{"total_crashes": None, "days": 0}]


FOLDED = ("İSTANBUL", "ΟΔΟΣ", "ΟΔΟΣ ΑΣ.", "ΣΑΣ", "Σ", "STRASSE ẞ", "ǅ", "Ohio", "DİYARBAKIR")


def test_case_folding_is_the_warehouses_on_every_path(client: WarehouseClient) -> None:
    """One rule: the parser folds a value with str.lower, the derivation with polars, the
    statement with the warehouse's lower(); on the strings where engines differ (a dotted
    capital I, a final sigma), all three give the same text."""
    import polars as pl

    from handler.warehouse import Parameter, Statement

    markers = ", ".join(f"lower(:v{i}) AS `f{i}`" for i in range(len(FOLDED)))
    values = tuple(Parameter(f"v{i}", text) for i, text in enumerate(FOLDED))
    result = client.run(Statement(f"SELECT {markers}", values), Deadline.after(30))
    warehouse = [cell for cell in result.rows[0]]
    derivation = pl.Series(FOLDED).str.to_lowercase().to_list()
    crashes = _of(PACKAGED, "crashes")
    parser = [parse_query(crashes, f"state={quote(text)}").filters[0].value for text in FOLDED]
    assert warehouse == derivation == parser
    assert parser[0] == "i̇stanbul" and parser[1] == "οδος", "full mapping, final sigma"
