"""Reading TOML, and writing records in their one canonical form.

Reading goes through `parse_toml` alone, so the fast `rtoml` can be swapped for
the standard `tomllib` (identical results on our records, 9x slower).

The canonical form (SPEC §1) exists for `git diff`: keys in the model's field
order, one value per line, sub-tables after plain keys, one `[[events]]` block
per event at the very end. Appending an event therefore adds a few lines and
changes none.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import Enum
from typing import Any

import tomli_w
from pydantic import BaseModel

from csctl.models.base import Event, Record, format_money

try:
    import rtoml

    def _loads(text: str) -> dict[str, Any]:
        return rtoml.loads(text)

    _ParseError: type[Exception] = rtoml.TomlParsingError
except ImportError:  # pragma: no cover - rtoml ships wheels for every platform we support
    import tomllib

    def _loads(text: str) -> dict[str, Any]:
        return tomllib.loads(text)

    _ParseError = tomllib.TOMLDecodeError

_ERROR_LINE = re.compile(r"line (\d+)")


class TomlSyntaxError(ValueError):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def parse_toml(text: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes `TomlSyntaxError` with its line number."""
    try:
        return _loads(text)
    except _ParseError as err:
        message = str(err).strip().splitlines()[0]
        found = _ERROR_LINE.search(message)
        message = re.sub(r"\s*\(?at line \d+,? column \d+\)?", "", message)
        raise TomlSyntaxError(int(found.group(1)) if found else None, f"TOML syntax: {message}") from None


def format_stamp(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat()


def _toml_value(value: Any) -> Any:
    """A value as tomli_w should see it: enums as their keys, money as strings."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, list):
        return [_toml_value(v) for v in value]
    return value


def _key_value(key: str, value: Any) -> str:
    if isinstance(value, dt.datetime):
        return f"{key} = {format_stamp(value)}\n"
    value = _toml_value(value)
    # Multi-line strings read diffs best, but TOML turns a raw "\r\n" in them into
    # "\n"; text holding a carriage return stays on one line, escaped.
    return tomli_w.dumps({key: value}, multiline_strings=not _holds_cr(value))


def _holds_cr(value: Any) -> bool:
    if isinstance(value, str):
        return "\r" in value
    return isinstance(value, list) and any(_holds_cr(v) for v in value)


def _section(values: dict[str, Any]) -> str:
    return "".join(_key_value(k, v) for k, v in values.items() if v is not None)


def _fields(model: BaseModel) -> dict[str, Any]:
    """The model's values in field order, as stored: None and empty lists left out."""
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None or (isinstance(value, list) and not value):
            continue
        out[name] = value
    return out


def _event_values(event: Event) -> dict[str, Any]:
    values = {key: getattr(event, key) for key in Event.FIXED_KEYS}
    values.update(sorted(event.extras.items()))
    return values


def dump_record(record: Record) -> str:
    """The canonical text of a record."""
    plain: list[str] = []
    tables: list[str] = []
    for name, value in _fields(record).items():
        if name == "events":
            continue
        if isinstance(value, BaseModel):
            tables.append(f"\n[{name}]\n" + _section(_fields(value)))
        elif isinstance(value, list) and isinstance(value[0], BaseModel):
            tables.extend(f"\n[[{name}]]\n" + _section(_fields(item)) for item in value)
        else:
            plain.append(_key_value(name, value))
    events = [f"\n[[events]]\n{_section(_event_values(e))}" for e in record.events]
    return "".join(plain) + "".join(tables) + "".join(events)
