"""Wrong answers: a 200 whose rows are not what its URL asked for, or any answer to a request
the gateway must refuse.

A cache keyed on less than the request answers with someone else's rows: an edge key
that drops unknown parameters (`?stat=ohio&year=2016` served `?year=2016`), folds a
name's case or keeps only the first of a repeated name; a key mix-up at the origin.
So every 200 JSON or CSV answer is read back and held to its own URL, read here
independently of the origin's parser: every row has the requested year and (compared
case-insensitively) state, exactly the requested fields, and there are at most `limit`
rows. A typo or a made-up key that gets a 200 (or a 304) at all is wrong, whatever the
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
from loadtests.samples import Sample

EXAMPLES = 10  # wrong answers quoted in the report


@dataclass(frozen=True, slots=True)
class Requested:
    """What a valid URL asks for, as far as its answer's rows can show it."""

    year: int | None
    state: str | None  # lower-cased
    fields: frozenset[str]
    limit: int

    @classmethod
    def from_url(cls, url: str, dataset: Dataset) -> Requested:
        params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        fields = params.get("fields")
        return cls(
            year=int(params["year"]) if "year" in params else None,
            state=params["state"].lower() if "state" in params else None,
            fields=frozenset(fields.split(",") if fields else dataset.column_names),
            limit=int(params.get("limit", dataset.limit.default)),
        )


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
        if requested.year is not None and "year" in row and _integer(row["year"]) != requested.year:
            return f"row {index} has year {row['year']!r}, not {requested.year}"
        state = row.get("state")
        if (
            requested.state is not None
            and state is not None
            and str(state).lower() != requested.state
        ):
            return f"row {index} has state {state!r}, not {requested.state!r}"
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
