"""Wrong answers: a 200 whose rows are not what its URL asked for, or any answer to a request
the gateway must refuse.

A cache keyed on less than the request answers with someone else's rows: an edge key
that drops unknown parameters (`?stat=ohio&year=2016` served `?year=2016`), folds a
name's case or keeps only the first of a repeated name; a key mix-up at the origin.
So every 200 JSON or CSV answer is read back and held to its own URL, read here
independently of the origin's parser: every row has a requested year (one, a list or a
range) and (compared case-insensitively) state, exactly the requested fields (or
groups and measures), and there are at most `limit` rows. A typo or a made-up key that gets a 200 (or a 304) at all is wrong, whatever the
rows. The Locust process judges each response as it is recorded (samples.csv's
`wrong` column); `tally` sums them up for the report.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from handler.catalogue import Dataset
from handler.vocabulary import group_column
from loadtests.samples import Sample

EXAMPLES = 10  # wrong answers quoted in the report


@dataclass(frozen=True, slots=True)
class Requested:
    """What a valid URL asks for, as far as its answer's rows can show it.

    Read from the URL alone (not with the origin's parser): the years a row may hold
    (`year`, `year[in]`, or the bounds of `year[gte]`…), the states (`state`,
    `state[in]`), the keys every row holds (`fields`, or `group_by` and `measures`) and
    the most rows."""

    year: int | None
    state: str | None  # lower-cased
    fields: frozenset[str]
    limit: int
    years: frozenset[int] | None = None  # year[in]
    year_bounds: tuple[int | None, int | None] = (None, None)  # inclusive
    states: frozenset[str] | None = None  # state[in], lower-cased

    @classmethod
    def from_url(cls, url: str, dataset: Dataset) -> Requested:
        params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        fields = params.get("fields")
        groups = [group_column(token) for token in _items(params.get("group_by"))]
        grouped = [*groups, *_items(params.get("measures"))]
        low = _bound(params, "year[gte]", "year[gt]", +1)
        high = _bound(params, "year[lte]", "year[lt]", -1)
        return cls(
            year=int(params["year"]) if "year" in params else None,
            state=params["state"].lower() if "state" in params else None,
            fields=frozenset(grouped or (fields.split(",") if fields else dataset.column_names)),
            limit=int(params.get("limit", dataset.limit.default)),
            years=frozenset(int(y) for y in _items(params.get("year[in]"))) or None,
            year_bounds=(low, high),
            states=frozenset(s.lower() for s in _items(params.get("state[in]"))) or None,
        )

    def allows_year(self, year: int | None) -> bool:
        low, high = self.year_bounds
        return (
            (self.year is None or year == self.year)
            and (self.years is None or year in self.years)
            and (low is None or (year is not None and year >= low))
            and (high is None or (year is not None and year <= high))
        )

    def asked_years(self) -> str:
        if self.year is not None:
            return str(self.year)
        if self.years is not None:
            return "one of " + ", ".join(str(y) for y in sorted(self.years))
        low, high = self.year_bounds
        return f"from {low if low is not None else '…'} to {high if high is not None else '…'}"

    def asked_states(self) -> str:
        if self.states is not None and self.state is None:
            return "one of " + ", ".join(repr(s) for s in sorted(self.states))
        return repr(self.state)

    def allows_state(self, state: str) -> bool:
        return (self.state is None or state == self.state) and (
            self.states is None or state in self.states
        )


def _items(value: str | None) -> list[str]:
    return value.split(",") if value else []


def _bound(params: dict[str, str], inclusive: str, exclusive: str, step: int) -> int | None:
    if inclusive in params:
        return int(params[inclusive])
    return int(params[exclusive]) + step if exclusive in params else None


class Answers:
    """Judges the answers of one dataset's route."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def wrong(
        self, url: str, status: int, content_type: str, body: bytes, *, refused: bool
    ) -> str | None:
        """Why this answer is wrong, or None when it is right (or not an answer at all)."""
        if refused:
            return f"{status} to a request that must be refused" if 200 <= status < 400 else None
        if status != 200 or urlsplit(url).path != self.dataset.route:
            return None
        try:
            requested = Requested.from_url(url, self.dataset)
        except (KeyError, ValueError):
            return None  # not a URL this check understands; the origin's 400 is its own check
        try:
            rows = parse_rows(content_type, body)
        except ValueError as exc:
            return f"unreadable {content_type or 'body'}: {exc}"
        return check_rows(requested, rows)


def parse_rows(content_type: str, body: bytes) -> list[Mapping[str, Any]]:
    """The rows of a JSON array of objects or of a CSV with a header; ValueError otherwise."""
    if content_type.startswith("text/csv"):
        try:
            return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
        except csv.Error as exc:
            raise ValueError("not CSV") from exc
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(document, list) or not all(isinstance(row, dict) for row in document):
        raise ValueError("not an array of row objects")
    return document


def check_rows(requested: Requested, rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The first way `rows` fail `requested`, or None."""
    if len(rows) > requested.limit:
        return f"{len(rows)} rows for limit={requested.limit}"
    for index, row in enumerate(rows):
        if set(row) != requested.fields:
            return f"row {index} has fields {','.join(sorted(row))}"
        if "year" in row and not requested.allows_year(_integer(row["year"])):
            return f"row {index} has year {row['year']!r}, not {requested.asked_years()}"
        state = row.get("state")
        if state is not None and not requested.allows_state(str(state).lower()):
            return f"row {index} has state {state!r}, not {requested.asked_states()}"
    return None


def _integer(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def tally(samples: Sequence[Sample]) -> dict[str, Any]:
    """Wrong answers in a run: how many, on which routes, and the first few."""
    wrong = [s for s in samples if s.wrong]
    return {
        "total": len(wrong),
        "answers_read": sum(1 for s in samples if s.status == 200),
        "by_route": dict(sorted(Counter(s.route for s in wrong).items())),
        "examples": [
            {"t": s.t, "route": s.route, "status": s.status, "url": s.url, "problem": s.wrong}
            for s in sorted(wrong, key=lambda s: s.t)[:EXAMPLES]
        ],
    }
