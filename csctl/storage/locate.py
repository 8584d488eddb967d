"""Line numbers for schema errors: which line of a TOML file holds a given key path.

pydantic reports where a value went wrong as a path (`events.3.at`); a person
fixing the file wants `path:line`. This walks the text once, following table
headers and `[[array]]` blocks, and maps every key path to its line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import ValidationError

_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\- ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=\s*(.*)$")

Loc = tuple[str | int, ...]


def key_lines(text: str) -> dict[Loc, int]:
    lines: dict[Loc, int] = {}
    table: Loc = ()
    array_counts: dict[Loc, int] = {}
    open_string: str | None = None
    open_brackets = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if open_string:
            if line.count(open_string) % 2 == 1:
                open_string = None
            continue
        if open_brackets > 0:
            open_brackets += line.count("[") - line.count("]")
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            path: Loc = tuple(part.strip() for part in header.group(2).split("."))
            if header.group(1) == "[[":
                index = array_counts.get(path, 0)
                array_counts[path] = index + 1
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            name = key.group(1).strip('"')
            lines.setdefault((*table, name), number)
            value = key.group(2)
            for quote in ('"""', "'''"):
                if value.startswith(quote) and value.count(quote) == 1:
                    open_string = quote
            if value.startswith("["):
                open_brackets = value.count("[") - value.count("]")
    return lines


def line_of(lines: dict[Loc, int], loc: Sequence[str | int]) -> int | None:
    """The line of the longest known prefix of `loc`, or None for a top-level miss."""
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def schema_problems(text: str, error: ValidationError) -> list[tuple[int | None, str]]:
    """Each pydantic error as (line, `field.path: message`)."""
    lines = key_lines(text)
    out = []
    for item in error.errors(include_url=False):
        loc = [part for part in item["loc"] if not (isinstance(part, str) and "[" in part)]
        field = ".".join(str(part) for part in loc) or "record"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required but missing"
        elif item["type"] == "extra_forbidden":
            message = "is not a known field"
        out.append((line_of(lines, loc), f"{field}: {message}"))
    return out
