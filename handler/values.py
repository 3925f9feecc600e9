"""One query value: the type it is read as, its one strict spelling, its bounds and hint.

Query values arrive as text. Numbers and dates are read from one strict spelling each
(no `2_016`, no ` 2016`, no `2016.0`) before pydantic checks their bounds, so the
published types (`integer`, `number`, `string`/`date`) hold for the text as sent, and
the edge function (which reads the published schema) can hold them to the same.
`handler.parameters` assembles these into each dataset's parameter model.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from handler.vocabulary import Filter

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PAGE = re.compile(r"[0-9]{1,9}")


def filter_value(spec: Filter) -> tuple[Any, str]:
    """A value of the filter's type, checked and published as its one form; its hint."""
    if spec.type == "string":
        hint = f"must be 1 to {spec.max_length} characters"
        if spec.pattern is not None:
            hint += f" matching {spec.pattern}"
        text = text_value(
            pattern=spec.pattern, max_length=spec.max_length, fold=spec.case_insensitive
        )
        return text, hint
    if spec.type == "date":
        annotated: Any = Annotated[dt.date, Field(strict=True), BeforeValidator(_date)]
        hint = "must be a date, YYYY-MM-DD"
    elif spec.type == "integer":
        low, high = _bound(spec.minimum), _bound(spec.maximum)
        annotated = Annotated[int, Field(strict=True, ge=low, le=high), BeforeValidator(_integer)]
        hint = "must be an integer" + _range(low, high)
    else:
        annotated = Annotated[
            float,
            # allow_inf_nan: "1e999" reads as infinity, which no JSON Schema number is.
            Field(strict=True, ge=spec.minimum, le=spec.maximum, allow_inf_nan=False),
            BeforeValidator(_number),
        ]
        hint = "must be a number" + _range(spec.minimum, spec.maximum)
    return annotated, hint


def _bound(value: float | None) -> int | None:
    return None if value is None else int(value)


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    return "" if high is None else f" of at most {high}"


def text_value(*, pattern: str | None, max_length: int | None = None, fold: bool = False) -> Any:
    # JSON Schema (ECMAScript) `$` ends the text; Python's also matches before a final
    # newline ("year\n"): validate with `\Z` where the document says `$`.
    constraints = Field(
        min_length=1,
        max_length=max_length,
        pattern=None if pattern is None else _python_end_anchors(pattern),
        json_schema_extra=None if pattern is None else {"pattern": pattern},
    )
    annotated: Any = Annotated[str, constraints]
    if fold:
        # Case-insensitive filters compare lower-cased text (handler.sql lowers the column);
        # published, so that the edge folds the same way before keying.
        annotated = Annotated[
            annotated,
            AfterValidator(str.lower),
            Field(json_schema_extra={"x-case-insensitive": True}),
        ]
    return annotated


def _python_end_anchors(pattern: str) -> str:
    r"""`pattern` with each `$` outside a character class (and not escaped) as `\Z`."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


def page_value(name: str, low: int, high: int, default: int, description: str) -> tuple[Any, Any]:
    annotated = Annotated[int, Field(strict=True, ge=low, le=high), BeforeValidator(_page_number)]
    return annotated, Field(default=default, alias=name, description=description)


def _integer(raw: object) -> object:
    return int(raw) if isinstance(raw, str) and _INTEGER.fullmatch(raw) else raw


def _page_number(raw: object) -> object:
    return int(raw) if isinstance(raw, str) and _PAGE.fullmatch(raw) else raw


def _number(raw: object) -> object:
    return float(raw) if isinstance(raw, str) and _NUMBER.fullmatch(raw) else raw


def _date(raw: object) -> object:
    if isinstance(raw, str) and _DATE.fullmatch(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            return raw  # 2016-02-30: refused by the strict date check, as any other text
    return raw
