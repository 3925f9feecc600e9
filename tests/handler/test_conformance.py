"""Conformance: a warehouse answer is shaped only when its columns are the ones asked for.

The expectation comes from the catalogue and the query as handler.sql writes the
statement; the accepted types are exactly those shaping turns into the JSON type the
OpenAPI document publishes. Every statement lakegate builds conforms on the emulator;
any other column list (one more, another name, another order, another type) is a
SchemaMismatch that names nothing the warehouse sent.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import jsonschema
import orjson
import pytest

from handler import conformance
from handler.catalogue import Catalogue, Dataset, load_catalogue
from handler.conformance import SHAPED_AS, ExpectedColumn, check, expected_columns
from handler.encoding import to_json
from handler.errors import SchemaMismatch
from handler.openapi import row_schema
from handler.query import parse_query
from handler.result import ResultColumn, StatementResult
from handler.shaping import to_frame
from handler.sql import build_statement
from handler.warehouse import Deadline
from local.emulator import Emulator, EmulatorConfig
from tests.handler.warehouse.conftest import client_for

CATALOGUE = load_catalogue()


def dataset(name: str) -> Dataset:
    found = CATALOGUE.get(name)
    assert found is not None
    return found


DRIVERS, CRASHES = dataset("drivers"), dataset("crashes")
ID = "01ef-statement"

# A cell each accepted type name shapes from (JSON_ARRAY text).
SAMPLES = {
    "BYTE": "1",
    "SHORT": "1",
    "INT": "1",
    "LONG": "1",
    "FLOAT": "1.5",
    "DOUBLE": "1.5",
    "DECIMAL": "1.50",
    "STRING": "x",
    "CHAR": "x",
    "VARCHAR": "x",
    "BOOLEAN": "true",
    "DATE": "2024-01-31",
    "TIMESTAMP": "2024-01-31T13:45:00Z",
}
QUERIES = {
    "drivers": [
        "state=California&year=2016",
        "year=2016&fields=drivers,state",
        "year=2016&group_by=state&measures=total_drivers&sort=-total_drivers",
        "measures=total_drivers",
        "group_by=gender,year&year[gte]=2014",
    ],
    "crashes": [
        "state=Ohio&date[gte]=2024-01-01&date[lte]=2024-01-31",
        "date[gte]=2024-01-01&group_by=date:month,state,weekend"
        "&measures=total_crashes,average_fatality_rate,days",
        "date[gte]=2024-01-01&group_by=date:week&measures=days",
        "date[gte]=2024-01-01&group_by=date:quarter,weekend&measures=total_crashes",
        "state=Ohio&fields=updated_at,fatality_rate,weekend,date",
    ],
}
CASES = [(name, raw) for name, queries in QUERIES.items() for raw in queries]


def column(name: str, type_name: str, type_text: str | None = None) -> ResultColumn:
    return ResultColumn(name, type_name, type_text or type_name)


# --- what the statement must answer ---------------------------------------------------


def test_raw_rows_are_the_fields_asked_for_in_their_order() -> None:
    query = parse_query(DRIVERS, "year=2016&fields=drivers,state")
    assert expected_columns(DRIVERS, query) == (
        ExpectedColumn("drivers", frozenset({"BYTE", "SHORT", "INT", "LONG"})),
        ExpectedColumn("state", frozenset({"STRING", "CHAR", "VARCHAR"})),
    )


def test_groups_keep_their_columns_types_and_measures_the_types_they_are_cast_to() -> None:
    query = parse_query(
        CRASHES, "group_by=date:month,state&measures=total_crashes,average_fatality_rate,days"
    )
    assert expected_columns(CRASHES, query) == (
        ExpectedColumn("date_month", frozenset({"DATE"})),
        ExpectedColumn("state", SHAPED_AS["string"]),
        ExpectedColumn("total_crashes", frozenset({"LONG"})),
        ExpectedColumn("average_fatality_rate", frozenset({"DOUBLE"})),
        ExpectedColumn("days", frozenset({"LONG"})),
    )


def test_min_and_max_keep_their_columns_type() -> None:
    raw = DRIVERS.model_dump(mode="json")
    raw["measures"] = [*raw["measures"], {"name": "most", "function": "max", "column": "drivers"}]
    dataset = Catalogue.model_validate({"version": 1, "datasets": [raw]}).datasets[0]
    query = parse_query(dataset, "group_by=state&measures=most")
    assert expected_columns(dataset, query)[1] == ExpectedColumn("most", SHAPED_AS["integer"])


@pytest.mark.parametrize(
    ("kind", "type_name"), [(k, t) for k, names in SHAPED_AS.items() for t in sorted(names)]
)
def test_every_accepted_type_shapes_to_the_published_json_type(kind: str, type_name: str) -> None:
    text = "DECIMAL(4,2)" if type_name == "DECIMAL" else type_name
    result = StatementResult(ID, (column("value", type_name, text),), [[SAMPLES[type_name]]])
    [row] = orjson.loads(to_json(to_frame(result)))
    published = {
        "integer": "crashes",
        "number": "average_fatality_rate",
        "decimal": "fatality_rate",
        "string": "state",
        "boolean": "weekend",
        "date": "date",
        "timestamp": "updated_at",
    }[kind]
    schema = row_schema(CRASHES)["properties"][published]
    jsonschema.validate(row["value"], schema, format_checker=jsonschema.FormatChecker())


# --- what is refused -------------------------------------------------------------------

EXPECTED = (
    ExpectedColumn("state", SHAPED_AS["string"]),
    ExpectedColumn("drivers", SHAPED_AS["integer"]),
)
RIGHT = [column("state", "STRING"), column("drivers", "LONG", "BIGINT")]


def test_the_columns_asked_for_conform() -> None:
    check(RIGHT, EXPECTED, ID)
    check([column("state", "string"), column("drivers", " int ")], EXPECTED, ID)


@pytest.mark.parametrize(
    "columns",
    [
        [*RIGHT, column("secret", "STRING")],
        RIGHT[:1],
        [column("STATE", "STRING"), RIGHT[1]],
        [RIGHT[0], column("Drivers", "LONG")],
        list(reversed(RIGHT)),
        [RIGHT[0], column("drivers", "VARIANT")],
        [RIGHT[0], column("drivers", "GEOGRAPHY")],
        [RIGHT[0], column("drivers", "DECIMAL", "DECIMAL(20,0)")],
        [RIGHT[0], column("drivers", "STRING")],
        [column("state", "BINARY"), RIGHT[1]],
    ],
    ids=[
        "extra",
        "missing",
        "upper-case",
        "capitalised",
        "reordered",
        "variant",
        "geography",
        "decimal-for-integer",
        "text-for-integer",
        "binary-for-string",
    ],
)
def test_any_other_columns_are_a_mismatch_naming_nothing_the_warehouse_sent(
    columns: list[ResultColumn], every_log_line: io.StringIO
) -> None:
    with pytest.raises(SchemaMismatch) as caught:
        check(columns, EXPECTED, ID)
    assert caught.value.statement_id == ID
    said = str(caught.value) + every_log_line.getvalue()
    assert "does not conform" in every_log_line.getvalue()
    for word in ("secret", "STATE", "Drivers", "VARIANT", "GEOGRAPHY", "DECIMAL", "BINARY"):
        assert word not in said


def test_a_timestamp_without_a_zone_is_not_a_published_date_time() -> None:
    query = parse_query(CRASHES, "state=Ohio&fields=updated_at")
    with pytest.raises(SchemaMismatch):
        check([column("updated_at", "TIMESTAMP_NTZ")], expected_columns(CRASHES, query), ID)


# --- every statement lakegate builds conforms --------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(port=0, latency_ms=0, chunk_rows=500)) as running:
        yield running


@pytest.mark.parametrize(("name", "raw"), CASES)
def test_the_statements_lakegate_builds_answer_what_is_expected(
    emulator: Emulator, name: str, raw: str
) -> None:
    declared = dataset(name)
    query = parse_query(declared, raw)
    client = client_for(emulator)
    for run in (client.run, client.run_arrow):
        result = run(build_statement(declared, query), Deadline.after(20))
        conformance.check(result.columns, expected_columns(declared, query), result.statement_id)
