"""The periods a report covers: a day, an ISO week, a month, or any span of days.

Days are days of the ledger's time zone: a ticket opened at 23:59 Beijing
time counts on that day whatever the machine's clock says.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from csctl.errors import InvalidInput

_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


@dataclass(frozen=True)
class Period:
    unit: str  # "day", "week", "month" or "span"
    first: dt.date
    last: dt.date  # inclusive

    @property
    def label(self) -> str:
        if self.unit == "day":
            return self.first.isoformat()
        if self.unit == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.unit == "month":
            return f"{self.first:%Y-%m}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """[start, end): midnight of the first day to midnight after the last, in the ledger's zone."""
        return (dt.datetime.combine(self.first, dt.time(), tz),
                dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tz))

    def previous(self) -> Period:
        """The period before, for comparison: the day, week or month before, or a span as long."""
        if self.unit == "month":
            last = self.first - dt.timedelta(days=1)
            return Period("month", last.replace(day=1), last)
        length = (self.last - self.first).days + 1
        return Period(self.unit, self.first - dt.timedelta(days=length), self.first - dt.timedelta(days=1))


def day(text: str | None, today: dt.date) -> Period:
    """`--date D`, default yesterday (the daily report is written the morning after)."""
    if text is None:
        return Period("day", today - dt.timedelta(days=1), today - dt.timedelta(days=1))
    try:
        date = dt.date.fromisoformat(text.strip())
        _within_calendar(date)
    except (ValueError, OverflowError):
        raise InvalidInput(f"--date: not a date csctl can report on: {text!r} (e.g. 2026-11-22)") from None
    return Period("day", date, date)


def week(text: str | None, today: dt.date) -> Period:
    """`--week 2026-W47`, default the last whole ISO week."""
    if text is None:
        monday = today - dt.timedelta(days=today.weekday() + 7)
        return Period("week", monday, monday + dt.timedelta(days=6))
    match = _WEEK.fullmatch(text.strip())
    try:
        if not match:
            raise ValueError
        monday = dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        _within_calendar(monday)
    except (ValueError, OverflowError):
        raise InvalidInput(f"--week: not an ISO week: {text!r} (e.g. 2026-W47)") from None
    return Period("week", monday, monday + dt.timedelta(days=6))


def month(text: str | None, today: dt.date) -> Period:
    """`--month 2026-11`, default last month."""
    if text is None:
        last = today.replace(day=1) - dt.timedelta(days=1)
        return Period("month", last.replace(day=1), last)
    match = _MONTH.fullmatch(text.strip())
    try:
        if not match:
            raise ValueError
        first = dt.date(int(match.group(1)), int(match.group(2)), 1)
        _within_calendar(first)
    except (ValueError, OverflowError):
        raise InvalidInput(f"--month: not a month: {text!r} (e.g. 2026-11)") from None
    following = (first + dt.timedelta(days=31)).replace(day=1)
    return Period("month", first, following - dt.timedelta(days=1))


def span(first_text: str, last_text: str) -> Period:
    """`--from D --to D`, both days included."""
    try:
        first, last = dt.date.fromisoformat(first_text.strip()), dt.date.fromisoformat(last_text.strip())
        _within_calendar(first)
        _within_calendar(last)
    except (ValueError, OverflowError):
        raise InvalidInput(f"--from/--to: not dates: {first_text!r}, {last_text!r} (e.g. 2026-11-01)") from None
    if last < first:
        raise InvalidInput(f"--to {last_text} is before --from {first_text}")
    return Period("span", first, last)


def _within_calendar(date: dt.date) -> None:
    """A period and the one before it must fit the calendar Python can count (years 2 to 9998)."""
    if not dt.date(2, 1, 1) <= date <= dt.date(9998, 12, 31):
        raise ValueError(date)
