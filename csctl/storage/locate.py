"""Line numbers for schema errors: which line of a TOML file holds a given key path.

pydantic reports where a value went wrong as a path (`events.3.at`); a person
fixing the file wants `path:line`. This walks the text once, following table
headers and `[[array]]` blocks, and maps every key path to its line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import ValidationError

from csctl.models.base import describe_item, error_loc

_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\- ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=\s*(.*)$")

Loc = tuple[str | int, ...]


def key_lines(text: str) -> dict[Loc, int]:
    lines: dict[Loc, int] = {}
    table: Loc = ()
    array_counts: dict[Loc, int] = {}
    scanner = _ValueScanner()
    # TOML ends a line at "\n" only; U+2028 and friends inside strings are not line ends.
    for number, line in enumerate(text.split("\n"), start=1):
        if scanner.open:
            scanner.feed(line)
            continue
        key = _KEY.match(line)
        header = None if key else _HEADER.match(line)
        if header:
            path: Loc = tuple(part.strip() for part in header.group(2).split("."))
            if header.group(1) == "[[":
                index = array_counts.get(path, 0)
                array_counts[path] = index + 1
                lines.setdefault(path, number)
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
        elif key:
            lines.setdefault((*table, key.group(1).strip('"')), number)
            scanner.feed(key.group(2))
    return lines


class _ValueScanner:
    """Follows a TOML value across lines: open strings, arrays and inline tables."""

    def __init__(self) -> None:
        self.quote: str | None = None  # the delimiter of an open multi-line string
        self.depth = 0

    @property
    def open(self) -> bool:
        return self.quote is not None or self.depth > 0

    def feed(self, line: str) -> None:
        i = 0
        while i < len(line):
            if self.quote:
                end = self._closing(line, i, self.quote)
                if end < 0:
                    return
                self.quote, i = None, end
                continue
            char = line[i]
            if char == "#":
                return
            if line.startswith('"""', i) or line.startswith("'''", i):
                self.quote, i = line[i:i + 3], i + 3
            elif char in "\"'":
                end = self._closing(line, i + 1, char)
                i = len(line) if end < 0 else end
            else:
                self.depth += (char in "[{") - (char in "]}")
                i += 1

    @staticmethod
    def _closing(line: str, i: int, quote: str) -> int:
        """The index just past `quote` closing a string from `i`, or -1 if not on this line."""
        while i < len(line):
            if quote[0] == '"' and line[i] == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                end = i + len(quote)
                # A multi-line string may end with up to two extra quotes ("a"""" is `a"`).
                while len(quote) == 3 and end < len(line) and line[end] == quote[0] and end - i < 5:
                    end += 1
                return end
            i += 1
        return -1


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
    return [(line_of(lines, error_loc(item)), describe_item(item, error.title))
            for item in error.errors(include_url=False)]
