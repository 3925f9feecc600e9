"""Checks on a succeeded statement's answer: which chunk comes next, and whether it adds up."""

import pytest

from handler.errors import WarehouseRejected
from handler.warehouse.results import (
    check_arrow_manifest,
    check_chunk,
    check_chunk_rows,
    check_totals,
    link_of,
    next_chunk,
)
from handler.warehouse.wire import ExternalLink, ResultData, ResultManifest

ID = "01ef-statement"
LINK = "/api/2.0/sql/statements/01ef-statement/result/chunks/{}"


def chunk(**fields: object) -> ResultData:
    return ResultData.model_validate(fields)


def test_the_next_chunk_is_this_statements_next_index() -> None:
    following = chunk(next_chunk_index=3, next_chunk_internal_link=LINK.format(3))
    assert next_chunk(following, 2, ID, total_chunks=4) == 3
    assert next_chunk(chunk(next_chunk_index=3), 2, ID, total_chunks=None) == 3
    assert next_chunk(chunk(next_chunk_internal_link=LINK.format(3)), 2, ID, None) == 3
    assert next_chunk(chunk(), 3, ID, total_chunks=4) is None


@pytest.mark.parametrize(
    ("fields", "index", "total"),
    [
        ({"next_chunk_internal_link": "https://elsewhere" + LINK.format(1)}, 0, None),
        ({"next_chunk_internal_link": "//elsewhere" + LINK.format(1)}, 0, None),
        ({"next_chunk_internal_link": LINK.format(1) + "?x=1"}, 0, None),
        ({"next_chunk_internal_link": LINK.format(1) + "\n"}, 0, None),
        ({"next_chunk_internal_link": LINK.format("\u0661")}, 0, None),  # Arabic-Indic 1
        ({"next_chunk_internal_link": LINK.format(1).replace(ID, "another")}, 0, None),
        ({"next_chunk_internal_link": LINK.format("1/../2")}, 0, None),
        ({"next_chunk_internal_link": LINK.format(0)}, 0, None),  # itself
        ({"next_chunk_index": 1, "next_chunk_internal_link": LINK.format(2)}, 0, None),
        ({"next_chunk_index": 1}, 1, None),  # does not advance
        ({"next_chunk_index": 4}, 3, 4),  # beyond the manifest
    ],
)
def test_any_other_next_chunk_is_refused(
    fields: dict[str, object], index: int, total: int | None
) -> None:
    with pytest.raises(WarehouseRejected) as caught:
        next_chunk(chunk(**fields), index, ID, total)
    assert caught.value.statement_id == ID


def test_a_chunk_must_be_the_one_asked_for_and_inline() -> None:
    check_chunk(chunk(chunk_index=2, data_array=[["x"]]), 2, ID)
    with pytest.raises(WarehouseRejected):
        check_chunk(chunk(chunk_index=1), 2, ID)
    with pytest.raises(WarehouseRejected):
        check_chunk(chunk(chunk_index=2, external_links=[{"external_link": "https://s3"}]), 2, ID)


def test_totals_must_match_what_was_read() -> None:
    manifest = ResultManifest.model_validate({"total_row_count": 2, "total_chunk_count": 1})
    check_totals(manifest, [["a"], ["b"]], 1, 1, ID)
    wrong: list[tuple[list[list[str | None]], int, int]] = [
        ([["a"]], 1, 1),
        ([["a"], ["b"]], 2, 1),
        ([["a"], ["b"]], 1, 2),
    ]
    for rows, chunks, width in wrong:
        with pytest.raises(WarehouseRejected):
            check_totals(manifest, rows, chunks, width, ID)


def test_a_manifest_that_announces_no_count_vouches_for_nothing() -> None:
    # A chain of chunks that stops early would read as a complete, shorter answer.
    with pytest.raises(WarehouseRejected):
        check_totals(ResultManifest(), [["a"]], 1, 1, ID)
    rows_only = ResultManifest.model_validate({"total_row_count": 2})
    check_totals(rows_only, [["a"], ["b"]], 2, 1, ID)
    with pytest.raises(WarehouseRejected):
        check_totals(rows_only, [["a"]], 1, 1, ID)
    chunks_only = ResultManifest.model_validate({"total_chunk_count": 2})
    check_totals(chunks_only, [["a"], ["b"]], 2, 1, ID)
    with pytest.raises(WarehouseRejected):
        check_totals(chunks_only, [["a"]], 1, 1, ID)


def test_each_chunk_follows_the_rows_read_and_holds_what_it_announces() -> None:
    check_chunk(chunk(chunk_index=1, row_offset=2, row_count=1, data_array=[["x"]]), 1, ID, 2)
    with pytest.raises(WarehouseRejected):  # a gap: rows 2..4 were never read
        check_chunk(chunk(chunk_index=1, row_offset=5, data_array=[["x"]]), 1, ID, 2)
    with pytest.raises(WarehouseRejected):
        check_chunk(chunk(chunk_index=1, row_count=3, data_array=[["x"]]), 1, ID, 2)


def test_databricks_may_add_the_row_offset_to_a_chunk_link() -> None:
    assert (
        next_chunk(chunk(next_chunk_internal_link=LINK.format(3) + "?row_offset=300"), 2, ID, 4)
        == 3
    )
    with pytest.raises(WarehouseRejected):
        next_chunk(chunk(next_chunk_internal_link=LINK.format(3) + "?row_offset=x"), 2, ID, 4)


def test_an_external_links_chunk_has_exactly_its_own_link() -> None:
    url = {"external_link": "https://bucket/r/2"}
    assert link_of(chunk(external_links=[{**url, "chunk_index": 2}]), 2, ID).chunk_index == 2
    wrong: list[dict[str, object]] = [
        {"external_links": []},
        {"external_links": [url, url]},
        {"external_links": [{**url, "chunk_index": 1}]},
        {"external_links": [url], "data_array": [["x"]]},
        {},
    ]
    for fields in wrong:
        with pytest.raises(WarehouseRejected):
            link_of(chunk(**fields), 2, ID)


def test_arrow_results_are_uncompressed_arrow_streams() -> None:
    check_arrow_manifest(ResultManifest.model_validate({"format": "ARROW_STREAM"}), ID)
    check_arrow_manifest(ResultManifest.model_validate({"result_compression": "NONE"}), ID)
    for fields in ({"format": "CSV"}, {"result_compression": "LZ4_FRAME"}):
        with pytest.raises(WarehouseRejected):
            check_arrow_manifest(ResultManifest.model_validate(fields), ID)


def test_each_chunk_holds_the_rows_its_link_announced() -> None:
    links = {i: ExternalLink(external_link="https://b", row_count=10) for i in range(2)}
    check_chunk_rows(links, [10, 10], ID)
    with pytest.raises(WarehouseRejected):
        check_chunk_rows(links, [10, 9], ID)
