"""Shared building blocks of every record: money, timestamps, labelled enumerations, events.

Stored form (SPEC §1): money is a string with exactly two decimals, times are
offset date-times in whole seconds, enumerations are stable English keys. The
models enforce that form on read, so a record that validates is a record that
writes back byte for byte the same.
"""

# Annotations stay objects (no `from __future__ import annotations`): pydantic would have to
# compile and evaluate each string annotation at import: ~3 ms of every command, over the three modules.

import datetime as dt
import functools
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

# ASCII digits; commas only as thousands separators (1,288.50), never as a decimal comma (2,88 is refused).
_MONEY_TEXT = re.compile(r"-?(\d{1,3}(,\d{3}){1,3}|\d{1,12})(\.\d{1,2})?", re.ASCII)
CENT = Decimal("0.01")


def parse_money(value: Any) -> Decimal:
    """Read an amount in yuan; never round: `1.005` is refused rather than changed."""
    if isinstance(value, (bool, float)):
        raise ValueError("money must be written as a string such as \"288.00\", not a number")
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, Decimal):
        value = format(value, "f")
    if not isinstance(value, str):
        raise ValueError("money must be a string such as \"288.00\"")
    text = value.strip()
    if not _MONEY_TEXT.fullmatch(text):
        raise ValueError(f"not an amount in yuan with at most two decimals: {value!r}")
    try:
        return Decimal(text.replace(",", "")).quantize(CENT)
    except InvalidOperation as err:  # pragma: no cover - the pattern already excludes this
        raise ValueError(f"not an amount: {value!r}") from err


def error_loc(item: ErrorDetails) -> list[str | int]:
    """Where a pydantic error is, without the names it gives union members and constrained types."""
    return [p for p in item["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("constrained-")))]


def describe_item(item: ErrorDetails, title: str = "value") -> str:
    """One pydantic error as the line a user reads: `field.path: message`."""
    message = item["msg"].removeprefix("Value error, ")
    if item["type"] == "missing":
        message = "is required but missing"
    elif item["type"] == "extra_forbidden":
        message = "is not a known field"
    elif item["type"] == "string_pattern_mismatch" and (item.get("ctx") or {}).get("pattern") == BLANK_PATTERN:
        message = "must not be blank"
    return f"{'.'.join(map(str, error_loc(item))) or title}: {message}"


def describe_error(error: ValidationError) -> str:
    return describe_item(error.errors(include_url=False)[0], error.title)


# A text field must hold something besides blanks (the pattern is searched, not matched whole).
BLANK_PATTERN = r"\S"


def format_money(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str, when_used="always"),
]


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(f"must be more than zero: {format_money(value)}")
    return value


# An amount of money that changes hands: an order, a transfer.
PositiveMoney = Annotated[Money, AfterValidator(_positive)]


@functools.cache
def fixed_zone(offset: dt.timedelta) -> dt.timezone:
    """One `timezone` object per offset for every stored time: times of one tzinfo compare as wall-clock
    times, ~15x cheaper than across zones, and a report compares each event with its periods."""
    return dt.timezone(offset)


# The years a stored time may fall in: a year 1 or 9999 is a slip of the keyboard, and at the ends of
# datetime's range a deadline or a conversion to another zone would overflow.
STAMP_YEARS = (1900, 2999)


def outside_years(shown: str) -> str:
    """Why a time outside `STAMP_YEARS` is refused (`shown`: the time as the reader wrote it)."""
    return f"a time must fall in the years {STAMP_YEARS[0]} to {STAMP_YEARS[1]}: {shown}"


def _normalize_stamp(value: dt.datetime) -> dt.datetime:
    """Require an offset and a year in `STAMP_YEARS`; keep whole seconds; use a plain `datetime.timezone`
    (picklable)."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("a time must carry its offset, e.g. 2026-11-23T09:30:00+08:00")
    if not STAMP_YEARS[0] <= value.year <= STAMP_YEARS[1]:
        raise ValueError(outside_years(value.isoformat()))
    # Built, not `replace`d: `replace` costs four times as much, and a ticket has a stamp per event.
    return dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second, 0,
                       fixed_zone(offset))


Stamp = Annotated[dt.datetime, AfterValidator(_normalize_stamp)]

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
AGENT_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")


class LabeledEnum(StrEnum):
    """A stored English key whose Chinese and English labels live in `csctl.i18n`."""

    def label(self, lang: str) -> str:
        from csctl.i18n import enum_label

        return enum_label(self, lang)


class Model(BaseModel):
    """Strict base: unknown keys in a file are errors, not silently dropped."""

    # Built on first use, not at import: a command validates two or three of the record and
    # settings models, and building all 23 at import cost every command ~20 ms.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False, defer_build=True)


_NO_EXTRAS: Mapping[str, Any] = MappingProxyType({})
# Values an event keeps as read (most of them), told by their exact type; the rest go through `_event_scalar`.
_PLAIN_VALUES = frozenset({str, int, bool})


def _event_scalar(key: str, value: Any) -> Any:
    """A value an event may hold, as it is stored: a float or a table is refused, a time keeps whole
    seconds in a fixed offset, money is its text."""
    if isinstance(value, float):
        raise ValueError(f"{key}: numbers with a fraction must be strings (money)")
    if isinstance(value, dict):
        raise ValueError(f"{key}: an event value cannot be a table")
    if isinstance(value, list):
        raise ValueError(f"{key}: an event list holds single values, not lists")
    try:
        if isinstance(value, dt.datetime):
            return _normalize_stamp(value)
        if isinstance(value, Decimal):
            return format_money(parse_money(value))
    except ValueError as err:
        raise ValueError(f"{key}: {err}") from None
    return value


@functools.lru_cache(maxsize=1024)
def _bare_key(key: str) -> bool:
    """Whether an event key is a bare TOML key; an event's few keys recur in every file."""
    return BARE_KEY.fullmatch(key) is not None


class Event(BaseModel):
    """One line of a record's audit trail: when, who, what, plus what the action needs.

    `at` is when it happened (back-dated with `--at`); `recorded_at` is set only
    when that differs from the moment csctl wrote it.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    FIXED_KEYS: ClassVar[tuple[str, ...]] = ("at", "by", "action", "recorded_at")

    at: Stamp
    by: str
    action: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]*$")]
    recorded_at: Stamp | None = None

    # Besides its fixed keys an event carries scalars and lists of scalars only:
    # a nested table would break the one-`[[events]]`-block-per-event layout.
    @model_validator(mode="after")
    def _check_extras(self) -> Self:
        if not self.model_extra:
            return self
        for key, value in self.model_extra.items():
            if not _bare_key(key):
                raise ValueError(f"event key {key!r} must be letters, digits, - or _")
            if type(value) in _PLAIN_VALUES:
                continue
            if type(value) is list:
                if not all(type(item) in _PLAIN_VALUES for item in value):
                    self.__pydantic_extra__[key] = [  # type: ignore[index]
                        _event_scalar(f"{key}.{index}", item) for index, item in enumerate(value)]
                continue
            checked = _event_scalar(key, value)
            if checked is not value:
                self.__pydantic_extra__[key] = checked  # type: ignore[index]
        return self

    @property
    def extras(self) -> Mapping[str, Any]:
        """The keys beyond at/by/action, read-only by type (no proxy: a replay reads them a dozen times an
        event, and `check` replays every history)."""
        return self.__pydantic_extra__ or _NO_EXTRAS

    @property
    def written_at(self) -> dt.datetime:
        """When csctl wrote the event: the order a history must follow."""
        return self.recorded_at or self.at


def no_items() -> list[Any]:
    """An empty list, the default of a list field. Not `list` itself: for a builtin, pydantic reads
    the signature by tokenizing its text, which cost each command's first model ~3 ms."""
    return []


class Record(Model):
    """A record file: its ID, when it was created, and its history (`[[events]]`, always last)."""

    id: str
    created: Stamp
    events: list[Event] = Field(default_factory=no_items)

    def with_event(self, event: Event, **changes: Any) -> Self:
        """A copy with `changes` applied and `event` appended; validated like a read."""
        data = self.model_dump()
        data.update(changes)
        data["events"] = [*self.model_dump()["events"], event.model_dump(exclude_none=True)]
        return type(self).model_validate(data)
