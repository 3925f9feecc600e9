"""Make the edge function's JavaScript small without changing what it does.

CloudFront Functions allow 10 KB of code (rules included), and no minifier is among the
project's tools, so this does the two safe parts of one: it drops comment lines and
indentation, and the spaces a tokenizer can prove meaningless — every space except one
between two word characters (`return x`, `else if`) or between two of `+`/`-` (`a - -b`).
String, template and regular-expression literals are copied untouched; line breaks are
kept, so automatic semicolon insertion sees the same program. Identifiers are not renamed:
the code stays readable in CloudFront's console and in a stack trace.

It relies on what gateway.js promises in its header: each comment on a line of its own,
no multi-line strings, and no template literal nested in another's `${…}`.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9_$]")
# After these tokens a `/` starts a regular expression, elsewhere it divides.
_BEFORE_REGEX = set("(,=:[!&|?{};+-*%<>~^") | {"return", "typeof", "case", "in", "of", ""}


def compact(code: str) -> str:
    """`code` without comment lines, indentation and meaningless spaces."""
    lines = (line.strip() for line in code.splitlines())
    kept = (line for line in lines if line and not line.startswith("//"))
    return "\n".join(_compact_line(line) for line in kept) + "\n"


def _compact_line(line: str) -> str:
    out: list[str] = []
    previous = ""  # the last significant token, for telling a regex from a division
    i = 0
    while i < len(line):
        char = line[i]
        if char in "'\"`":
            end = _string_end(line, i)
            out.append(line[i:end])
            previous, i = "x", end
        elif char == "/" and _starts_regex(previous):
            end = _regex_end(line, i)
            out.append(line[i:end])
            previous, i = "x", end
        elif char == " ":
            j = i
            while j < len(line) and line[j] == " ":
                j += 1
            before, after = (out[-1][-1] if out else ""), (line[j] if j < len(line) else "")
            if _must_separate(before, after):
                out.append(" ")
            i = j
        else:
            match = re.match(r"[A-Za-z0-9_$]+", line[i:])
            token = match.group(0) if match else char
            out.append(token)
            previous, i = token, i + len(token)
    return "".join(out)


def _must_separate(before: str, after: str) -> bool:
    if not before or not after:
        return False
    if _WORD.match(before) and _WORD.match(after):
        return True
    return before in "+-" and after in "+-"


def _starts_regex(previous: str) -> bool:
    return previous in _BEFORE_REGEX


def _string_end(line: str, start: int) -> int:
    quote = line[start]
    i = start + 1
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            return i + 1
        i += 1
    raise ValueError(f"unterminated string literal: {line!r}")


def _regex_end(line: str, start: int) -> int:
    i, in_class = start + 1, False
    while i < len(line):
        char = line[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "/" and not in_class:
            i += 1
            while i < len(line) and _WORD.match(line[i]):
                i += 1  # flags
            return i
        i += 1
    raise ValueError(f"unterminated regular expression: {line!r}")
