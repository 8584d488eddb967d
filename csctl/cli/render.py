"""Output styles for listings: table, markdown, csv, json (SPEC §3).

JSON is for scripts: stable English keys and raw values (enumeration keys,
money as strings, ISO times). The other styles are for people: headers and
labels in the user's language, Chinese aligned by display width.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from csctl.errors import InvalidInput
from csctl.i18n import label, language, msg
from csctl.models.base import LabeledEnum, format_money

FORMATS = ("table", "json", "csv", "markdown")


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # an i18n message key
    show: Callable[[Any], str] | None = None


def display(value: Any) -> str:
    """A value as a person reads it."""
    if value is None:
        return ""
    if isinstance(value, LabeledEnum):
        return value.label(language())
    if isinstance(value, bool):
        return ("是" if value else "否") if language() == "zh" else ("yes" if value else "no")
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return ", ".join(display(v) for v in value)
    return str(value)


def json_value(value: Any) -> Any:
    """A value as JSON carries it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def to_json(data: Any) -> str:
    import json  # only JSON output pays for it

    return json.dumps(json_value(data), ensure_ascii=False, indent=2) + "\n"


def rows_text(rows: Sequence[dict[str, Any]], columns: Sequence[Column], style: str) -> str:
    if style == "json":
        return to_json([{c.key: row.get(c.key) for c in columns} for row in rows])
    headers = [msg(c.header) for c in columns]
    body = [[(c.show or display)(row.get(c.key)) for c in columns] for row in rows]
    if style == "csv":
        import csv

        out = io.StringIO()
        # The byte-order mark makes Excel read the file as UTF-8, Chinese included.
        out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows([spreadsheet_text(cell) for cell in row] for row in body)
        return out.getvalue()
    return table_text(headers, body, markdown=style == "markdown") + "\n"


def table_text(headers: list[str], body: list[list[str]], *, markdown: bool) -> str:
    """Text laid out as tabulate's `simple` table (`pipe` for markdown), without its numbers parsed."""
    plain = _plain_table(headers, body, markdown=markdown)
    if plain is not None:
        return plain
    from tabulate import tabulate  # imported only for a table that is not plain text

    table: str = tabulate(body, headers=headers, tablefmt="pipe" if markdown else "simple", disable_numparse=True)
    return table


# A table of plain text (one line a cell; ASCII, the CJK characters Chinese is written in, a report's
# sparklines) is laid out here, exactly as tabulate lays it out: importing tabulate and wcwidth would
# cost the command ~16 ms. Anything else (a line break, an emoji, a control or combining character)
# goes to tabulate.
# (first, last, display width) of the plain characters beyond ASCII, in order: the width is
# wcwidth's (tabulate's measure), as tests/test_startup.py checks for every one of them.
_PLAIN_RANGES = (
    (0x00A5, 0x00A5, 1), (0x00A7, 0x00A7, 1), (0x00B7, 0x00B7, 1), (0x00D7, 0x00D7, 1), (0x2013, 0x2014, 1),
    (0x2018, 0x2019, 1), (0x201C, 0x201D, 1), (0x2026, 0x2026, 1), (0x2160, 0x216B, 1), (0x2190, 0x2199, 1),
    (0x2212, 0x2212, 1), (0x2460, 0x2473, 1), (0x2581, 0x2588, 1), (0x3000, 0x3029, 2), (0x3030, 0x303E, 2),
    (0x3041, 0x3096, 2), (0x30A0, 0x30FF, 2), (0x3400, 0x4DB5, 2), (0x4E00, 0x9FA5, 2), (0xFF01, 0xFF60, 2),
    (0xFFE0, 0xFFE6, 2),
)


@functools.cache
def _plain_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Plain text, and a run of wide characters in it. Searched in C (a table of 20,000 rows has 100,000
    cells to measure); compiled on first use, not at import (~4 ms, which a one-record command never needs)."""
    def ranges(widths: tuple[int, ...]) -> str:
        return "".join(f"{chr(first)}-{chr(last)}" for first, last, width in _PLAIN_RANGES if width in widths)

    return re.compile(f"[ -~{ranges((1, 2))}]*"), re.compile(f"[{ranges((2,))}]+")


def _plain_width(text: str) -> int:
    """The display width of plain text; -1 for text that is not plain (as wcwidth's -1 for control characters)."""
    if text.isascii():
        return len(text) if text.isprintable() else -1
    plain, wide_run = _plain_patterns()
    if plain.fullmatch(text) is None:
        return -1
    return len(text) + sum(map(len, wide_run.findall(text)))


def _plain_table(headers: list[str], body: list[list[str]], *, markdown: bool) -> str | None:
    """tabulate's table, or None when some text is not plain. As tabulate does: cells (not headers)
    are stripped, a column is as wide as its widest text and at least its header plus two, every
    column is left-aligned, and the markdown rule marks that with a colon unless the table is empty."""
    measured = [[_plain_width(text) for text in headers]]
    rows = [headers]
    for row in body:
        # Cells are looked at before they are stripped: to tabulate, a line break at the end is a second line.
        text_widths = [_plain_width(text) for text in row]
        if min(text_widths, default=0) < 0:
            return None
        stripped = [text.strip() for text in row]
        measured.append([width if len(text) == len(original) else _plain_width(text)
                         for text, original, width in zip(stripped, row, text_widths, strict=True)])
        rows.append(stripped)
    if not headers or min(measured[0]) < 0:
        return None
    widths = [width + 2 for width in measured[0]]
    for text_widths in measured[1:]:
        widths = [max(width, text_width) for width, text_width in zip(widths, text_widths, strict=True)]

    def pad(row: list[str], text_widths: list[int]) -> list[str]:
        return [text + " " * (width - text_width) for text, text_width, width in zip(row, text_widths, widths,
                                                                                       strict=True)]

    padded = list(map(pad, rows, measured))
    if markdown:
        rule = "|".join(":" + "-" * (width + 1) if body else "-" * (width + 2) for width in widths)
        lines = [f"| {' | '.join(row)} |" for row in padded]
        lines.insert(1, f"|{rule}|")
    else:
        lines = ["  ".join(row).rstrip() for row in padded]
        lines.insert(1, "  ".join("-" * width for width in widths).rstrip())
    return "\n".join(lines)


FIELD_COLUMNS = [Column("field", "h.field"), Column("value", "h.value")]


def fields_text(rows: Sequence[dict[str, Any]], style: str) -> str:
    """A record shown as one `field | value` row per field (`show` commands)."""
    return rows_text(rows, FIELD_COLUMNS, style)


@dataclass(frozen=True)
class Sheet:
    """One section of a workbook: a title and its rows."""

    title: str
    rows: Sequence[dict[str, Any]]
    columns: Sequence[Column]


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """A workbook with one sheet per section; money stays a number (two places), so Excel can sum it."""
    from openpyxl import Workbook  # type: ignore[import-untyped]  # only a workbook written pays for it

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        page = book.create_sheet(sheet.title[:31])  # Excel's limit on a sheet name
        page.append([msg(c.header) for c in sheet.columns])
        for number, row in enumerate(sheet.rows, start=2):
            for place, column in enumerate(sheet.columns, start=1):
                cell = page.cell(row=number, column=place)
                cell.value = _cell(row.get(column.key), column)
                if isinstance(cell.value, Decimal):
                    cell.number_format = "0.00"
                elif isinstance(cell.value, str):
                    # A string cell, never a formula: openpyxl takes text starting "=" for one, and the
                    # csv guard (a leading ') would show in the cell, since a workbook has no typed text.
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any, column: Column) -> Any:
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool) and column.show is None:
        return value
    return (column.show or display)(value)


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows as typed: a buyer named `=HYPERLINK(…)` must not become a live formula
    (CSV injection), so text that would start one is written behind a `'`, which Excel hides."""
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and len(text) > 1 and not _NUMBER.fullmatch(text)):
        return "'" + text
    return text


def emit(data: bytes, output: str | None, *, binary: bool = False) -> None:
    """To FILE atomically (`--output`), or to standard output (a workbook only when that is not a terminal)."""
    if output:
        from pathlib import Path

        from csctl.storage.atomic import write_atomic

        write_atomic(Path(output), data)
        return
    if binary and sys.stdout.isatty():
        raise InvalidInput(msg("output.binary_tty"))
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def event_text(event: Any, shown: Callable[[str, Any], str] | None = None) -> str:
    """An event as a timeline line: its action's label, then each extra value by its field's label
    (`shown(key, value)` gives a value its own label, e.g. a stored enumeration key)."""
    parts = [f"{label(f'f.{key}', key)}: {(shown or (lambda _k, v: display(v)))(key, value)}"
             for key, value in event.extras.items()]
    what = label(f"event.{event.action}", event.action)
    return what + (f"  {'; '.join(parts)}" if parts else "")


TIMELINE_COLUMNS = [Column("at", "h.at"), Column("by", "h.by"), Column("what", "h.what")]


def timeline(events: Sequence[Any], style: str, shown: Callable[[str, Any], str] | None = None) -> str:
    """A record's history, one row per event."""
    rows = [{"at": e.at, "by": e.by, "what": event_text(e, shown)} for e in events]
    return rows_text(rows, TIMELINE_COLUMNS, style if style != "json" else "table").rstrip("\n")
