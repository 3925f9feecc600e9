"""From a raw query string to a validated, typed `Query` for one dataset.

This is the one place request text is judged. The raw query string is read (not the
framework's parsed dict) because a Function URL joins repeated keys with commas,
which would hide `?state=a&state=b`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

from handler.catalogue import Dataset, Filter
from handler.errors import BadRequest, NotAcceptable

OutputFormat = Literal["json", "csv"]
FilterValue = int | float | str | dt.date

MAX_OFFSET = 1_000_000
_MEDIA = {"json": "application/json", "csv": "text/csv"}


@dataclass(frozen=True, slots=True)
class Query:
    """A validated request: typed filter values (sorted by name), projection and page."""

    dataset: str
    filters: tuple[tuple[str, FilterValue], ...]
    fields: tuple[str, ...]
    limit: int
    offset: int
    format: OutputFormat


def parse_query(dataset: Dataset, raw_query: str, accept: str | None = None) -> Query:
    """Validate every parameter; raise BadRequest naming the first parameter at fault."""
    params = _single_valued(raw_query)
    allowed = set(dataset.query_parameter_names())
    for name in params:
        if name not in allowed:
            raise BadRequest(
                "unknown_parameter",
                f"Unknown parameter {name!r}; this dataset accepts: {', '.join(sorted(allowed))}.",
                name,
            )
    filters = tuple(
        sorted(
            (f.name, coerce_filter(f, params[f.name])) for f in dataset.filters if f.name in params
        )
    )
    return Query(
        dataset=dataset.name,
        filters=filters,
        fields=_fields(dataset, params.get("fields")),
        limit=_integer(
            "limit", params.get("limit"), 1, dataset.limit.maximum, dataset.limit.default
        ),
        offset=_integer("offset", params.get("offset"), 0, MAX_OFFSET, 0),
        format=_format(params.get("format"), accept),
    )


def _single_valued(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    try:
        pairs = parse_qsl(
            raw_query, keep_blank_values=True, strict_parsing=False, max_num_fields=64
        )
    except ValueError as exc:
        raise BadRequest("malformed_query", "Too many query parameters.") from exc
    for name, value in pairs:
        if name in params:
            raise BadRequest(
                "repeated_parameter", f"Parameter {name!r} is given more than once.", name
            )
        params[name] = value
    return params


def coerce_filter(spec: Filter, raw: str) -> FilterValue:
    """Check a filter value against its declaration and convert it to its type."""
    if raw == "":
        raise BadRequest(
            "invalid_parameter", f"Parameter {spec.name!r} must not be empty.", spec.name
        )
    if spec.max_length is not None and len(raw) > spec.max_length:
        raise BadRequest(
            "invalid_parameter",
            f"Parameter {spec.name!r} is longer than {spec.max_length} characters.",
            spec.name,
        )
    if spec.pattern is not None and not re.fullmatch(spec.pattern, raw):
        raise BadRequest(
            "invalid_parameter", f"Parameter {spec.name!r} must match {spec.pattern}.", spec.name
        )
    value = _typed(spec, raw)
    if isinstance(value, int | float) and not _in_range(spec, value):
        raise BadRequest(
            "invalid_parameter",
            f"Parameter {spec.name!r} must be between {spec.minimum} and {spec.maximum}.",
            spec.name,
        )
    if spec.case_insensitive and isinstance(value, str):
        value = value.lower()
    return value


def _typed(spec: Filter, raw: str) -> FilterValue:
    try:
        if spec.type == "integer":
            if not re.fullmatch(r"[+-]?[0-9]{1,18}", raw):
                raise ValueError(raw)
            return int(raw)
        if spec.type == "number":
            number = float(raw)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(raw)
            return number
        if spec.type == "date":
            # fromisoformat also takes 20161231 and week dates like 2016-W01-1.
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
                raise ValueError(raw)
            return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest(
            "invalid_parameter", f"Parameter {spec.name!r} must be a valid {spec.type}.", spec.name
        ) from exc
    return raw


def _in_range(spec: Filter, value: float) -> bool:
    return (spec.minimum is None or value >= spec.minimum) and (
        spec.maximum is None or value <= spec.maximum
    )


def _fields(dataset: Dataset, raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return dataset.column_names
    names = tuple(raw.split(","))
    for name in names:
        if name not in dataset.column_names:
            raise BadRequest(
                "invalid_parameter",
                f"Parameter 'fields' names unknown column {name[:64]!r}; "
                f"columns: {', '.join(dataset.column_names)}.",
                "fields",
            )
    # A repeated column is harmless: keep its first position.
    return tuple(dict.fromkeys(names))


def _integer(name: str, raw: str | None, low: int, high: int, default: int) -> int:
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        raise BadRequest(
            "invalid_parameter",
            f"Parameter {name!r} must be an integer from {low} to {high}.",
            name,
        )
    return int(raw)


def _format(raw: str | None, accept: str | None) -> OutputFormat:
    if raw is not None:
        if raw not in _MEDIA:
            raise BadRequest(
                "invalid_parameter", "Parameter 'format' must be json or csv.", "format"
            )
        return "json" if raw == "json" else "csv"
    return negotiate(accept)


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
