"""What the edge function's agreement with the origin means, for every runner of it.

The function must judge a request as the origin's parser (handler.query.parse_query)
does: what it sends on, the origin parses as the same Query as the request it was
rewritten from; what it refuses, the origin refuses with the same code, message and
parameter. Here are the requests that try it (Hypothesis strategies over every parameter
of every dataset), and `judge`, which holds a batch of the function's answers to that
rule. tests/edge/test_gateway.py runs the function under Node, test_gateway_njs.py
through the local edge (nginx's njs): both judge the same way.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import unquote_plus

from hypothesis import strategies as st

from edge.rules import parameter_rule
from handler.catalogue import Catalogue
from handler.combinations import COMBINATION_CODES
from handler.errors import BadRequest
from handler.query import Query, parse_query

UNKNOWN = ("STATE", "stat", "bogus", "", "Year", "x" * 70, "naïve", "it's")
# Printable in Python's sense (no C* or Z* but the space), so repr() quotes them as is.
PRINTABLE = st.characters(categories=["L", "M", "N", "P", "S"]) | st.sampled_from(" '\"\\\n\t\x00")
JUNK = st.text(PRINTABLE, max_size=8)
BAD_ESCAPES = ("%zz", "%", "%C3", "%C3%28", "%ED%A0%80", "%F4%90%80%80")


def integer_texts(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = int(schema.get("minimum", -(10**18))), int(schema.get("maximum", 10**18))
    near = st.integers(max(low - 3, -(10**19)), min(high + 3, 10**19))
    wide = st.integers(-(10**19), 10**19)

    def spelled(args: tuple[int, str, int]) -> str:
        number, sign, zeros = args
        return ("-" if number < 0 else sign) + "0" * zeros + str(abs(number))

    return st.tuples(near | wide, st.sampled_from(["", "", "+", "-"]), st.integers(0, 3)).map(
        spelled
    )


def number_texts(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    floats = st.floats(
        min_value=schema.get("minimum"), max_value=schema.get("maximum"), allow_nan=False
    ) | st.floats(allow_nan=False, allow_infinity=False)
    formats = st.sampled_from(["{!r}", "{:e}", "{:.3f}", "{:.17g}", "{:E}"])
    spelled = st.tuples(floats, formats).map(lambda a: a[1].format(a[0]))
    odd = st.sampled_from(
        [
            "1e999",
            "-1e999",
            "NaN",
            "inf",
            ".5",
            "1.",
            "+.5e-3",
            "1e1000",
            "0x10",
            " 1",
            "-0",
            "00.50",
        ]
    )
    return spelled | odd | st.integers(-(10**6), 10**7).map(str)


def string_texts(name: str, schema: dict[str, Any], columns: list[str]) -> st.SearchStrategy[str]:
    if "enum" in schema:
        return st.sampled_from([*schema["enum"], "JSON", "xml", ""])
    if schema.get("format") == "date":
        return st.dates().map(str) | st.sampled_from(
            ["2016-02-30", "2015-02-29", "0000-01-01", "2016-1-01"]
        )
    texts = st.text(PRINTABLE, max_size=schema.get("maxLength", 8) + 2)
    if "pattern" in schema:
        texts = texts | st.from_regex(schema["pattern"])
    return texts


def value_texts(name: str, schema: dict[str, Any], columns: list[str]) -> st.SearchStrategy[str]:
    kind = schema["type"]
    if kind == "array":
        # Comma-separated; now and then longer than allowed, empty, or with a bad item.
        items = value_texts("", schema["items"], columns)
        most = schema.get("maxItems", 6)
        return st.lists(items, max_size=most + 2).map(",".join)
    if kind == "integer":
        typed = integer_texts(schema)
    elif kind == "number":
        typed = number_texts(schema)
    else:
        typed = string_texts(name, schema, columns)
    return typed | JUNK


def encoded(text: str, rng: random.Random, faults: bool = True) -> str:
    """`text` as a client might spell it in a query string; now and then a bad escape."""
    out = []
    for char in text:
        must = char in "&=+%#" or not (char.isascii() and char.isprintable()) or char == " "
        if char == " " and rng.random() < 0.5:
            out.append("+")
        elif must or rng.random() < 0.1:
            hexed = "".join(f"%{b:02X}" for b in char.encode("utf-8"))
            out.append(hexed.lower() if rng.random() < 0.3 else hexed)
        else:
            out.append(char)
    if faults and rng.random() < 0.03:
        out.insert(rng.randrange(len(out) + 1), rng.choice(BAD_ESCAPES))
    return "".join(out)


@st.composite
def requests(draw: st.DrawFn, rules: dict[str, Any], catalogue: Catalogue) -> tuple[str, str]:
    route = draw(st.sampled_from(sorted(rules["routes"])))
    params = {n: parameter_rule(rules, route, n) for n in rules["routes"][route]["params"]}
    dataset = catalogue.get(rules["routes"][route]["dataset"])
    assert dataset is not None
    columns = list(dataset.column_names)
    # Spelling choices from a seeded Random: Hypothesis's own would drift to the extremes.
    rng = random.Random(draw(st.integers(0, 2**32)))
    # Mostly declared names, each once; now and then an unknown one, or one given twice.
    names = draw(
        st.lists(st.sampled_from(sorted(params) * 8 + list(UNKNOWN)), max_size=5, unique=True)
    )
    if names and rng.random() < 0.1:
        names.insert(rng.randrange(len(names) + 1), rng.choice(names))
    pairs = []
    for name in names:
        schema = params.get(name, {"type": "string"})
        value = draw(value_texts(name, schema, columns))
        pairs.append(f"{encoded(name, rng)}={encoded(value, rng)}")
    return route, "&".join(pairs)


def origin(catalogue: Catalogue, rules: dict[str, Any], route: str, raw: str) -> Query | BadRequest:
    dataset = catalogue.get(rules["routes"][route]["dataset"])
    assert dataset is not None
    try:
        return parse_query(dataset, raw)
    except BadRequest as refusal:
        return refusal


def repeats_a_name(raw: str) -> bool:
    # CloudFront groups a repeated name's values, so the function meets the pairs in
    # another order than the origin: which of two faults is named first may differ.
    names = [unquote_plus(pair.partition("=")[0]) for pair in raw.split("&") if pair]
    return len(set(names)) != len(names)


def judge(
    catalogue: Catalogue,
    rules: dict[str, Any],
    batch: list[tuple[str, str]],
    answers: list[dict[str, Any]],
) -> list[tuple[str, str]]:
    """Assert the function's `answers` to `batch` agree with the origin; what it sent on.

    An answer is {"query": canonical} (sent on) or {"status": n, "error": {...}}."""
    sent_on: list[tuple[str, str]] = []
    for (route, raw), edge in zip(batch, answers, strict=True):
        parsed = origin(catalogue, rules, route, raw)
        where = f"{route}?{raw} -> {edge}"
        if "query" in edge and isinstance(parsed, BadRequest):
            # How valid values combine is the origin's to judge: it must judge the
            # rewritten request as it judges the original.
            assert parsed.code in COMBINATION_CODES, (
                f"the origin refuses what the edge sent on: {where}"
            )
            again = origin(catalogue, rules, route, edge["query"])
            assert isinstance(again, BadRequest), where
            assert (again.code, again.message, again.parameter) == (
                parsed.code,
                parsed.message,
                parsed.parameter,
            ), where
        elif "query" in edge:
            assert origin(catalogue, rules, route, edge["query"]) == parsed, where
            sent_on.append((route, edge["query"]))
        elif isinstance(parsed, Query):
            raise AssertionError(f"the edge refuses what the origin accepts: {where}")
        elif not repeats_a_name(raw):
            error = {k: v for k, v in edge["error"].items() if k != "request_id"}
            assert (edge["status"], error) == (
                400,
                {
                    "code": parsed.code,
                    "message": parsed.message,
                    **({} if parsed.parameter is None else {"parameter": parsed.parameter}),
                },
            ), where
        else:
            assert edge["status"] == 400, where
    return sent_on


def unusual_value(name: str, schema: dict[str, Any], catalogue: Catalogue, dataset: str) -> str:
    """A valid value of the parameter, in a spelling the canonical form changes."""
    if schema["type"] == "array":
        # Two items, one repeated, in an order the canonical form changes when unordered.
        items = schema["items"]
        if "enum" in items:
            # Items that combine: not two periods of one date, not a measure to sort raw rows.
            enum = items["enum"]
            first, second = enum[0], enum[2] if name == "sort" else enum[-1]
        else:
            first = second = unusual_value("", items, catalogue, dataset)
            second = {"integer": "+0" + str(abs(int(items.get("minimum", 0))) + 8)}.get(
                items["type"], "Ohio" if items["type"] == "string" else second
            )
        return f"{second},{first},{second}"
    if schema["type"] == "integer":
        number = max(int(schema.get("minimum", 0)), 0) + 7
        return f"0{number}" if "x-spelling" in schema else f"+0{number}"
    if schema["type"] == "number":
        return "1.50"
    if "enum" in schema:
        return str(schema["enum"][-1])
    if schema.get("format") == "date":
        return "2016-02-29"
    if "pattern" in schema:
        return "AB12" if schema["pattern"].startswith("^") else "x 1"
    return "New York"
