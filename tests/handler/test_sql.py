"""SQL generation: identifiers from the catalogue, values only as named parameters."""

import pytest

from handler.catalogue import Dataset, load_catalogue
from handler.query import parse_query
from handler.sql import build_statement
from handler.warehouse import Parameter

_DRIVERS = load_catalogue().get("drivers")
assert _DRIVERS is not None
DRIVERS: Dataset = _DRIVERS  # narrowed once, for the functions below


def test_the_articles_query() -> None:
    statement = build_statement(DRIVERS, parse_query(DRIVERS, "state=California&year=2016"))
    assert statement.sql == (
        "SELECT t.`year` AS `year`, t.`state` AS `state`, t.`cohort` AS `cohort`, "
        "t.`gender` AS `gender`, t.`drivers` AS `drivers` "
        "FROM `lakegate`.`dmv`.`licensed_drivers` AS t "
        "WHERE lower(t.`state`) = :state AND t.`year` = :year "
        "ORDER BY t.`year` ASC NULLS FIRST, t.`state` ASC NULLS FIRST, "
        "t.`cohort` ASC NULLS FIRST, t.`gender` ASC NULLS FIRST "
        "LIMIT 1001 OFFSET 0"
    )
    assert statement.parameters == (
        Parameter("state", "california", "STRING"),
        Parameter("year", "2016", "BIGINT"),
    )


def test_projection_renames_and_paging() -> None:
    statement = build_statement(
        DRIVERS, parse_query(DRIVERS, "fields=drivers,state&limit=5&offset=10")
    )
    assert statement.sql.startswith("SELECT t.`drivers` AS `drivers`, t.`state` AS `state` FROM")
    assert "WHERE" not in statement.sql
    assert statement.sql.endswith("LIMIT 6 OFFSET 10")
    assert statement.parameters == ()


@pytest.mark.parametrize(
    "hostile",
    ["Cali'fornia", "x' OR '1'='1", "`; DROP TABLE t; --", ":year", "\\' --"],
)
def test_request_text_never_enters_sql(hostile: str) -> None:
    from urllib.parse import quote

    statement = build_statement(DRIVERS, parse_query(DRIVERS, f"state={quote(hostile)}"))
    assert hostile.lower() not in statement.sql
    assert statement.parameters == (Parameter("state", hostile.lower(), "STRING"),)


def test_a_grouped_period_is_answered_under_an_identifier() -> None:
    crashes = load_catalogue().get("crashes")
    assert crashes is not None
    query = parse_query(crashes, "group_by=date:month&measures=days&sort=-date:month")
    sql = build_statement(crashes, query).sql
    assert "AS `date_month`" in sql and "`date:month`" not in sql
    assert "ORDER BY `date_month` DESC NULLS LAST" in sql
