"""Cache keys: equivalent requests share one key, and different results never do.

The key is the SHA-256 of a canonical form built from the validated `Query` (typed values,
defaults filled in, case folded where the filter is case-insensitive, parameter order
gone), the catalogue version and a digest of the dataset's declaration. Hypothesis
generates the requests; the `Query` dataclass is the normalised form the key must agree
with, in both directions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections.abc import Callable
from urllib.parse import urlencode

from hypothesis import assume, given
from hypothesis import strategies as st

from cache import keys
from handler.catalogue import Dataset, load_catalogue
from handler.query import Condition, Query, parse_query


def _drivers() -> Dataset:
    drivers = load_catalogue().get("drivers")
    assert drivers is not None
    return drivers


DRIVERS = _drivers()
COLUMNS = DRIVERS.column_names
STATES = ("California", "Texas", "New York", "District of Columbia", "Maine")

# A dataset of every filter type, declared here so the pinned canonical form below does
# not move when someone edits the packaged catalogue's prose.
WIDGETS = Dataset.model_validate(
    {
        "name": "widgets",
        "title": "Widgets",
        "table": "cat.sch.widgets",
        "columns": [
            {"name": "id", "source": "widget_id", "type": "integer"},
            {"name": "colour", "source": "colour", "type": "string"},
            {"name": "weight", "source": "weight", "type": "number"},
            {"name": "made", "source": "made", "type": "date"},
        ],
        "filters": [
            {
                "name": "colour",
                "column": "colour",
                "type": "string",
                "max_length": 20,
                "case_insensitive": True,
            },
            {"name": "id", "column": "widget_id", "type": "integer"},
            {"name": "weight", "column": "weight", "type": "number"},
            {"name": "made", "column": "made", "type": "date"},
        ],
        "order_by": ["id"],
        "limit": {"default": 10, "maximum": 100},
        "freshness": {"ttl_seconds": 60},
    }
)


def cache_key(dataset: Dataset, query: Query, version: int) -> str:
    """The key of a validated query, as handler.serving computes it."""
    return keys.cache_key(query.canonical(dataset, version))


def canonical_form(dataset: Dataset, query: Query, version: int) -> bytes:
    return keys.canonical_form(query.canonical(dataset, version))


def key_of(raw: str, dataset: Dataset = DRIVERS, version: int = 1) -> str:
    return cache_key(dataset, parse_query(dataset, raw), version)


def encode(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


# ---------------------------------------------------------------------------- strategies


def case_variant(text: str) -> st.SearchStrategy[str]:
    """The same text with each character independently upper-, lower- or left as is."""
    changes: list[Callable[[str], str]] = [str, str.upper, str.lower]
    return st.lists(st.sampled_from(changes), min_size=len(text), max_size=len(text)).map(
        lambda picked: "".join(change(c) for change, c in zip(picked, text, strict=True))
    )


PARAMETER_VALUES: dict[str, st.SearchStrategy[str]] = {
    "year": st.sampled_from(["2015", "2016", "2017"]),
    "state": st.sampled_from(STATES).flatmap(case_variant),
    "fields": st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6).map(",".join),
    "limit": st.sampled_from(["1", "10", "1000", "5000"]),
    "offset": st.sampled_from(["0", "10", "1000"]),
    "format": st.sampled_from(["json", "csv"]),
}


@st.composite
def drivers_params(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A valid drivers request as (name, value) pairs, each parameter optional."""
    return [
        (name, draw(values)) for name, values in PARAMETER_VALUES.items() if draw(st.booleans())
    ]


@st.composite
def neighbour(draw: st.DrawFn, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same request with one parameter added, removed or given another value."""
    changed = dict(params)
    name = draw(st.sampled_from(sorted(PARAMETER_VALUES)))
    if name in changed and draw(st.booleans()):
        del changed[name]
    else:
        changed[name] = draw(PARAMETER_VALUES[name])
    return list(changed.items())


# ------------------------------------------------------------- equivalent requests share a key


@given(drivers_params(), st.randoms(use_true_random=False))
def test_parameter_order_never_changes_the_key(
    params: list[tuple[str, str]], rng: random.Random
) -> None:
    shuffled = list(params)
    rng.shuffle(shuffled)
    assert key_of(encode(shuffled)) == key_of(encode(params))


@given(st.sampled_from(STATES).flatmap(lambda s: st.tuples(st.just(s), case_variant(s))))
def test_any_case_variant_of_state_shares_a_key(names: tuple[str, str]) -> None:
    original, variant = names
    assert key_of(encode([("state", variant)])) == key_of(encode([("state", original)]))
    assert key_of(encode([("state", variant.upper())])) == key_of(
        encode([("state", original.lower())])
    )


@given(st.text(min_size=1, max_size=20).flatmap(lambda s: st.tuples(st.just(s), case_variant(s))))
def test_case_folding_holds_for_any_text_that_lower_cases_alike(names: tuple[str, str]) -> None:
    original, variant = names
    # Folding is str.lower(), as the SQL's lower(column) side expects; "SS" is not "ß".
    assume(variant.lower() == original.lower() and len(variant) <= 64)
    assert key_of(encode([("state", variant)])) == key_of(encode([("state", original)]))


@given(drivers_params())
def test_omitted_defaults_and_written_out_defaults_share_a_key(
    params: list[tuple[str, str]],
) -> None:
    written = dict(params)
    written.setdefault("limit", "1000")
    written.setdefault("offset", "0")
    written.setdefault("format", "json")
    written.setdefault("fields", ",".join(COLUMNS))  # every column, in catalogue order
    assert key_of(encode(list(written.items()))) == key_of(encode(params))


def test_each_default_written_out_alone_shares_the_bare_key() -> None:
    bare = key_of("")
    for raw in ("limit=1000", "offset=0", "format=json", "fields=" + ",".join(COLUMNS)):
        assert key_of(raw) == bare, raw


@given(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=5), st.data())
def test_a_repeated_field_is_the_same_as_naming_it_once(
    fields: list[str], data: st.DataObject
) -> None:
    repeated = data.draw(st.sampled_from(fields))
    assert key_of("fields=" + ",".join([*fields, repeated])) == key_of("fields=" + ",".join(fields))


def test_numerically_equal_number_filters_share_a_key() -> None:
    # -0 and 0 are the same number (Query compares them equal; SQL matches the same rows).
    assert parse_query(WIDGETS, "weight=-0") == parse_query(WIDGETS, "weight=0")
    assert key_of("weight=-0", WIDGETS) == key_of("weight=0", WIDGETS)
    assert key_of("weight=1e0", WIDGETS) == key_of("weight=1.0", WIDGETS)


# --------------------------------------------------------- different results never share a key


@given(
    drivers_params().flatmap(
        lambda first: st.tuples(st.just(first), st.one_of(neighbour(first), drivers_params()))
    )
)
def test_keys_are_equal_exactly_when_the_normalised_queries_are(
    pair: tuple[list[tuple[str, str]], list[tuple[str, str]]],
) -> None:
    # The second request is mostly a one-parameter neighbour of the first: independent
    # random requests almost never differ in just one place, where a dropped field hides.
    first, second = pair
    a, b = parse_query(DRIVERS, encode(first)), parse_query(DRIVERS, encode(second))
    assert (cache_key(DRIVERS, a, 1) == cache_key(DRIVERS, b, 1)) == (a == b)


def test_field_order_is_part_of_the_result_and_of_the_key() -> None:
    assert key_of("fields=state,year") != key_of("fields=year,state")


def test_each_output_parameter_changes_the_key() -> None:
    bare = key_of("")
    changed = ["limit=999", "offset=1", "format=csv", "fields=year", "year=2016", "state=maine"]
    keys = {key_of(raw) for raw in changed}
    assert bare not in keys
    assert len(keys) == len(changed)


def test_typed_values_differ_from_every_other_type_with_the_same_text() -> None:
    def query(value: int | float | str | dt.date) -> Query:
        return Query(
            "drivers", (Condition("year", "eq", value),), COLUMNS, (), (), (), 1000, 0, "json"
        )

    values: list[int | float | str | dt.date] = [
        2016,
        2016.0,
        "2016",
        dt.date(2016, 1, 1),
        "2016-01-01",
    ]
    keys = {cache_key(DRIVERS, query(value), 1) for value in values}
    assert len(keys) == len(values)
    assert parse_query(DRIVERS, "year=2016").filters == (Condition("year", "eq", 2016),)


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=1, max_value=10_000))
def test_a_different_catalogue_version_changes_the_key(one: int, other: int) -> None:
    assume(one != other)
    assert key_of("state=Maine", version=one) != key_of("state=Maine", version=other)


def test_a_changed_dataset_declaration_changes_the_key() -> None:
    edits: list[dict[str, object]] = [
        {"table": "lakegate.dmv.licensed_drivers_v2"},
        {"limit": {"default": 1000, "maximum": 4000}},
        {"freshness": {"ttl_seconds": 60, "stale_seconds": 3600}},
        {"order_by": ("state", "year", "cohort", "gender")},
        {"columns": (*DRIVERS.columns[:4], DRIVERS.columns[4].model_copy(update={"source": "n"}))},
        {"filters": (DRIVERS.filters[0], DRIVERS.filters[1].model_copy(update={"max_length": 32}))},
    ]
    query = parse_query(DRIVERS, "state=Maine&year=2016")
    original = cache_key(DRIVERS, query, 1)
    for edit in edits:
        edited = Dataset.model_validate({**DRIVERS.model_dump(), **edit})
        assert cache_key(edited, query, 1) != original, edit


def test_editing_prose_or_access_keeps_the_key() -> None:
    query = parse_query(DRIVERS, "state=Maine&year=2016")
    reworded = DRIVERS.model_copy(
        update={
            "title": "Drivers",
            "description": "Reworded.",
            "columns": tuple(c.model_copy(update={"description": "x"}) for c in DRIVERS.columns),
            "access": "key",
        }
    )
    assert cache_key(reworded, query, 1) == cache_key(DRIVERS, query, 1)


@given(drivers_params())
def test_the_key_is_sha256_hex_of_the_canonical_form(params: list[tuple[str, str]]) -> None:
    query = parse_query(DRIVERS, encode(params))
    key = cache_key(DRIVERS, query, 1)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert key == hashlib.sha256(canonical_form(DRIVERS, query, 1)).hexdigest()


def test_the_canonical_form_is_pinned() -> None:
    # Deliberate regression pin. If this fails, the key format changed: every cached
    # entry in every deployed table becomes unreachable at once (a fleet-wide cold
    # cache and a burst of warehouse statements). Update these literals only on purpose,
    # and bump the catalogue version or announce the flush when you do.
    query = parse_query(
        WIDGETS,
        "weight=2.5&colour=Red&made=2016-02-29&id=7&fields=colour,id&limit=5&offset=10&format=csv",
    )
    # Last changed on purpose when lists, ranges, aggregates and sorting arrived (the
    # declaration digest moved with the catalogue's new fields anyway).
    assert canonical_form(WIDGETS, query, 3) == (
        b'{"dataset":"widgets","declaration":"edff87064fdcd03b","fields":["colour","id"],'
        b'"filters":[["colour",["s","red"]],["id",["i",7]],["made",["d","2016-02-29"]],'
        b'["weight",["f",2.5]]],"format":"csv","group_by":[],"limit":5,"measures":[],'
        b'"offset":10,"sort":["id"],"v":3}'
    )
    assert cache_key(WIDGETS, query, 3) == (
        "aea68621bfabaad9b577204ca709417693149e0d32748812fbe0d428f0ce04f4"
    )
    grouped = parse_query(DRIVERS, "year[in]=2016,2010&group_by=state&measures=total_drivers")
    assert keys.canonical_form(grouped.canonical(DRIVERS, 1)).startswith(
        b'{"dataset":"drivers","declaration":"'
    )
    assert b'"filters":[["year[in]",["l",[["i",2010],["i",2016]]]]]' in keys.canonical_form(
        grouped.canonical(DRIVERS, 1)
    )
