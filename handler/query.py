"""From a raw query string to a validated, typed `Query` for one dataset.

This is the one place request text is judged, once per request, against the
dataset's one parameter declaration (`handler.parameters`). The raw query string is
read (not the framework's parsed dict) because a Function URL joins repeated keys
with commas, which would hide `?state=a&state=b`; and it is decoded strictly, so
`%zz` or invalid UTF-8 is a 400 naming the parameter, never a silent empty match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_to_bytes

from pydantic import ValidationError

from cache import CanonicalQuery
from handler import combinations
from handler.catalogue import Dataset
from handler.combinations import Condition, FilterValue
from handler.errors import BadRequest, NotAcceptable
from handler.parameters import parameters_of
from handler.vocabulary import group_column

OutputFormat = Literal["json", "csv", "parquet"]
__all__ = ["Condition", "FilterValue", "OutputFormat", "Query", "parse_query", "single_valued"]

MAX_PARAMETERS = 64
_MEDIA = {"json": "application/json", "csv": "text/csv"}
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SHOWN = 64  # an overlong parameter name is cut to this in messages


@dataclass(frozen=True, slots=True)
class Query:
    """A validated request in canonical form: equivalent requests are equal Queries.

    Conditions are normalised (a one-item list is an equality, an integer or date `gt`
    is a `gte` of the next value, equal bounds are an equality); `group_by` and
    `measures` are in catalogue order; `sort` is the whole order the statement uses,
    its ties broken on the row key (raw rows) or the group (aggregates)."""

    dataset: str
    filters: tuple[Condition, ...]
    fields: tuple[str, ...]  # raw rows: the columns to return; aggregates: ()
    group_by: tuple[str, ...]
    measures: tuple[str, ...]
    sort: tuple[str, ...]  # "-key" is descending
    limit: int
    offset: int
    format: OutputFormat
    # Not in the cache key: it follows from limit, format and the declaration, all in it.
    export: bool = False

    @property
    def aggregated(self) -> bool:
        return bool(self.group_by or self.measures)

    def canonical(self, dataset: Dataset, catalogue_version: int) -> CanonicalQuery:
        """What the cache key is made of (`cache.keys`)."""
        return CanonicalQuery(
            catalogue_version=catalogue_version,
            dataset=dataset.name,
            declaration=dataset.digest,
            filters=tuple((c.parameter, c.value) for c in self.filters),
            fields=self.fields,
            limit=self.limit,
            offset=self.offset,
            format=self.format,
            # As answered: `date_month`, not `date:month`, so that an answer keyed under
            # another column name (before handler.vocabulary.group_column) is never served.
            group_by=tuple(group_column(token) for token in self.group_by),
            measures=self.measures,
            sort=self.sort,
        )


def parse_query(dataset: Dataset, raw_query: str, accept: str | None = None) -> Query:
    """Validate every parameter; raise BadRequest naming the first parameter at fault.

    Each value is judged alone first (`handler.parameters`), in declaration order, then
    how they combine (`handler.combinations`)."""
    declared = parameters_of(dataset)
    params = single_valued(raw_query)
    for name in params:
        if name not in declared.hints:
            shown = name[:_SHOWN]
            raise BadRequest(
                "unknown_parameter",
                f"Unknown parameter {shown!r}; this dataset accepts: "
                f"{', '.join(sorted(declared.names))}.",
                shown,
            )
    try:
        values = declared.model.model_validate(params)
    except ValidationError as exc:
        name = str(exc.errors()[0]["loc"][0])
        raise BadRequest(
            "invalid_parameter", f"Parameter {name!r} {declared.hints[name]}.", name
        ) from None
    typed = {name: getattr(values, declared.field_of(name)) for name in declared.names}
    shape = combinations.shape_of(dataset, typed)
    return Query(
        dataset=dataset.name,
        filters=combinations.conditions(dataset, typed),
        fields=shape.fields,
        group_by=shape.group_by,
        measures=shape.measures,
        sort=shape.sort,
        limit=typed["limit"],
        offset=typed["offset"],
        format=typed["format"] or negotiate(accept),
        export=combinations.is_export(dataset, typed),
    )


def single_valued(raw_query: str) -> dict[str, str]:
    """name → value, strictly decoded; repeated names refused."""
    params: dict[str, str] = {}
    pairs = [pair for pair in raw_query.split("&") if pair]
    if len(pairs) > MAX_PARAMETERS:
        raise BadRequest(
            "too_many_parameters",
            f"Too many query parameters: at most {MAX_PARAMETERS} are accepted.",
        )
    for pair in pairs:
        raw_name, _, raw_value = pair.partition("=")
        name = _decoded(raw_name, raw_name)
        value = _decoded(raw_value, name)
        if name in params:
            shown = name[:_SHOWN]
            raise BadRequest(
                "repeated_parameter", f"Parameter {shown!r} is given more than once.", shown
            )
        params[name] = value
    return params


def _decoded(text: str, parameter: str) -> str:
    """Form decoding (`+` is a space), refusing bad escapes and invalid UTF-8."""
    if "%" not in text and "+" not in text:
        return text  # the common case on the hit path: nothing to decode
    try:
        if _BAD_ESCAPE.search(text):
            raise ValueError(text)
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        shown = parameter[:_SHOWN]
        raise BadRequest(
            "malformed_parameter",
            f"Parameter {shown!r} is not valid percent-encoded UTF-8.",
            shown,
        ) from None


def negotiate(accept: str | None) -> OutputFormat:
    """Pick JSON or CSV from an Accept header; JSON unless CSV is preferred."""
    if not accept:
        return "json"
    weights = {"json": 0.0, "csv": 0.0}
    for media_range in accept.split(","):
        media, _, params = media_range.strip().partition(";")
        quality = _quality(params)
        media = media.strip().lower()
        for fmt, mime in _MEDIA.items():
            if media in (mime, "*/*", f"{mime.split('/')[0]}/*"):
                weights[fmt] = max(weights[fmt], quality)
    if weights["json"] == 0.0 and weights["csv"] == 0.0:
        raise NotAcceptable("This API serves application/json or text/csv.")
    return "csv" if weights["csv"] > weights["json"] else "json"


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0
