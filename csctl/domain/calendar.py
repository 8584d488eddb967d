"""The working calendar: ticket deadlines counted in working time (SPEC §3 Tickets).

A ticket's response and resolution deadlines run only while the team is at
work. The seed hours are Mon–Fri 08:30–17:00 and Sat–Sun 08:30–16:00 (seed 001
在线客服); public holidays are days off even on a weekday, and a make-up workday
(调休, a weekend day worked in exchange for a holiday) is worked with Monday's
hours. `official_days` reads the State Council dates from the optional
`chinese_calendar` package so `csctl.toml` can be filled in for a year.

No I/O; a calendar answers a question the same way each time (it remembers
what it worked out per date). Time is measured on the wall clock of the calendar's
zone (Asia/Shanghai has no daylight saving; elsewhere a clock change inside
opening hours is not counted): a day open 08:30–17:00 always holds 8.5 hours.
Spans are summed per day, whole weeks at a time, so a deadline years away
costs microseconds, never a walk minute by minute.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from csctl.errors import InvalidInput
from csctl.i18n import msg
from csctl.models.config import CalendarSettings

Hours = tuple[dt.time, dt.time]

# A make-up workday on a team whose Monday is "" still needs hours: the seed
# weekday hours (seed 001 在线客服 周一至周五 08:30–17:00).
MAKE_UP_DEFAULT: Hours = (dt.time(8, 30), dt.time(17, 0))
# How far to look for a working day before deciding the calendar has none.
GIVE_UP_DAYS = 3 * 366

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ZERO = dt.timedelta(0)
_ONE_DAY = dt.timedelta(days=1)
_ONE_WEEK = dt.timedelta(days=7)
_SECOND = dt.timedelta(seconds=1)


def _length(hours: Hours | None) -> dt.timedelta:
    if hours is None:
        return _ZERO
    opens, closes = hours
    return dt.datetime.combine(dt.date.min, closes) - dt.datetime.combine(dt.date.min, opens)


def _parse_hours(day: str, text: str) -> Hours | None:
    if not text:
        return None
    try:
        opens, closes = (dt.time.fromisoformat(part) for part in text.split("-"))
    except ValueError:
        raise ValueError(
            f"calendar.hours.{day}: not a time range: {text!r} (e.g. 08:30-17:00; closing 23:59 at the latest)"
        ) from None
    return opens, closes


class WorkCalendar:
    """Opening hours per weekday, holidays off, make-up workdays on; all moments in one zone."""

    def __init__(
        self,
        week: Sequence[Hours | None],
        tz: ZoneInfo,
        holidays: Iterable[dt.date] = (),
        workdays: Iterable[dt.date] = (),
    ) -> None:
        if len(week) != 7:
            raise ValueError(f"a week has 7 days, not {len(week)}")
        for name, hours in zip(_WEEKDAYS, week, strict=True):
            if hours is not None and hours[0] >= hours[1]:
                raise ValueError(f"calendar.hours.{name}: the day must end after it starts")
        self.tz = tz
        self._week: tuple[Hours | None, ...] = tuple(week)
        self._holidays = frozenset(holidays)
        # A date listed both ways is a holiday: the later deadline is the safe one.
        self._workdays = frozenset(workdays) - self._holidays
        self._make_up = self._week[0] or MAKE_UP_DEFAULT
        self._week_length = tuple(_length(h) for h in self._week)
        self._week_total = sum(self._week_length, _ZERO)
        self._week_open = sum(1 for h in self._week if h is not None)
        # Days whose hours differ from their weekday's, sorted for range look-ups.
        self._special = sorted(self._holidays | self._workdays)
        self._special_length = {d: _length(self.hours_on(d)) for d in self._special}
        # What is worked on a date, and from it, is a pure function of the date: a report asks about the
        # same few weeks for thousands of tickets (issue #8), so each is worked out once per calendar.
        self._day_bounds: dict[dt.date, tuple[dt.datetime, dt.datetime] | None] = {}
        self._weeks: dict[dt.date, tuple[dt.timedelta, int]] = {}
        self._open_from: dict[dt.date, tuple[dt.date, Hours]] = {}
        self._open_after: dict[tuple[dt.date, int], tuple[dt.date, Hours]] = {}

    @classmethod
    def from_settings(cls, settings: CalendarSettings, tz: ZoneInfo) -> WorkCalendar:
        hours = settings.hours
        week = [_parse_hours(name, getattr(hours, name)) for name in _WEEKDAYS]
        return cls(week, tz, settings.holidays, settings.workdays)

    # -- days ---------------------------------------------------------------

    def hours_on(self, day: dt.date) -> Hours | None:
        """(opening, closing) on `day`, or None for a day off."""
        if day in self._holidays:
            return None
        if day in self._workdays:
            return self._make_up
        return self._week[day.weekday()]

    def covers_year(self, year: int) -> bool:
        """Whether the settings list any holiday in `year` (else that year's calendar is missing)."""
        return any(day.year == year for day in self._holidays)

    def _span(self, first: dt.date, stop: dt.date) -> tuple[dt.timedelta, int]:
        """(working time, working days) of the whole days in [first, stop)."""
        weeks, rest = divmod((stop - first).days, 7)
        total = self._week_total * weeks
        days = self._week_open * weeks
        weekday = first.weekday()
        for offset in range(rest):
            length = self._week_length[(weekday + offset) % 7]
            total += length
            days += length > _ZERO
        for day in self._special[bisect_left(self._special, first) : bisect_left(self._special, stop)]:
            normal = self._week_length[day.weekday()]
            actual = self._special_length[day]
            total += actual - normal
            days += (actual > _ZERO) - (normal > _ZERO)
        return total, days

    def _week_from(self, first: dt.date) -> tuple[dt.timedelta, int]:
        """(working time, working days) of the seven days from `first`."""
        known = self._weeks.get(first)
        if known is None:
            known = self._weeks[first] = self._span(first, first + _ONE_WEEK)
        return known

    def _next_open_day(self, day: dt.date) -> tuple[dt.date, Hours]:
        """The first day from `day` on that has hours."""
        known = self._open_from.get(day)
        if known is not None:
            return known
        first = day
        for _ in range(GIVE_UP_DAYS):
            hours = self.hours_on(day)
            if hours is not None:
                self._open_from[first] = (day, hours)
                return day, hours
            day += _ONE_DAY
        raise ValueError(f"the calendar has no working day in the {GIVE_UP_DAYS} days from {first}")

    def _open_day_after(self, day: dt.date, days: int) -> tuple[dt.date, Hours]:
        """The working day `days` (at least 1) working days after `day`, and its hours."""
        known = self._open_after.get((day, days))
        if known is not None:
            return known
        target, left = day, days
        # Whole weeks first, while the target lies beyond them; then day by day.
        if self._week_open:
            while True:
                _, open_days = self._week_from(target + _ONE_DAY)
                if open_days >= left:
                    break
                left -= open_days
                target += _ONE_WEEK
        for _ in range(left):
            target, hours = self._next_open_day(target + _ONE_DAY)
        self._open_after[day, days] = (target, hours)
        return target, hours

    # -- moments ------------------------------------------------------------

    def _local(self, moment: dt.datetime) -> dt.datetime:
        """`moment` as a naive wall-clock time in the calendar's zone."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"a moment needs a time zone: {moment.isoformat()}")
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def _aware(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.tz)

    def _bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The opening and closing of `day` as wall-clock times, or None for a day off."""
        try:
            return self._day_bounds[day]
        except KeyError:
            hours = self.hours_on(day)
            bounds = self._day_bounds[day] = None if hours is None else (
                dt.datetime.combine(day, hours[0]), dt.datetime.combine(day, hours[1]))
            return bounds

    def _overlap(self, day: dt.date, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        bounds = self._bounds(day)
        if bounds is None:
            return _ZERO
        return max(_ZERO, min(end, bounds[1]) - max(start, bounds[0]))

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether `moment` falls in the hours of its day (opening included, closing not)."""
        local = self._local(moment)
        bounds = self._bounds(local.date())
        return bounds is not None and bounds[0] <= local < bounds[1]

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> int:
        """Whole seconds of working time in [start, end); 0 when `end` is not after `start`."""
        a, b = self._local(start), self._local(end)
        if b <= a:
            return 0
        first, last = a.date(), b.date()
        if first == last:
            total = self._overlap(first, a, b)
        else:
            total = (
                self._overlap(first, a, dt.datetime.combine(first + _ONE_DAY, dt.time()))
                + self._span(first + _ONE_DAY, last)[0]
                + self._overlap(last, dt.datetime.combine(last, dt.time()), b)
            )
        return total // _SECOND

    def add_seconds(self, start: dt.datetime, seconds: int) -> dt.datetime:
        """The earliest moment at which `seconds` of working time have passed since `start`.

        A deadline that uses up a day exactly ends at that day's closing time,
        not at the next opening.
        """
        if seconds < 0:
            raise ValueError(f"seconds must not be negative: {seconds}")
        local = self._local(start)
        if seconds == 0:
            return start.astimezone(self.tz)
        left = dt.timedelta(seconds=seconds)
        day = local.date()
        bounds = self._bounds(day)
        if bounds is not None and local < bounds[1]:
            begin = max(local, bounds[0])
            if left <= bounds[1] - begin:
                return self._aware(begin + left)
            left -= bounds[1] - begin
        try:
            return self._add_from(day + _ONE_DAY, left)
        except OverflowError:
            # A limit of many working hours on a week of few (settings that each pass alone).
            raise InvalidInput(msg("calendar.past_the_end")) from None

    def _add_from(self, day: dt.date, left: dt.timedelta) -> dt.datetime:
        """The moment `left` working time after the opening of `day`."""
        idle = 0
        while True:
            week, _ = self._week_from(day)
            if week < left:
                idle = idle + 7 if week == _ZERO else 0
                if idle > GIVE_UP_DAYS:
                    raise ValueError(f"the calendar has no working day in the {idle} days before {day}")
                left -= week
                day += _ONE_WEEK
                continue
            # The deadline falls within this week: walk it day by day.
            for _ in range(7):
                bounds = self._bounds(day)
                if bounds is not None:
                    if left <= bounds[1] - bounds[0]:
                        return self._aware(bounds[0] + left)
                    left -= bounds[1] - bounds[0]
                day += _ONE_DAY
            raise AssertionError("unreachable: the week held enough working time")  # pragma: no cover

    def add_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """`days` working days after `start`, at the same time of day, clamped into that day's hours.

        A `start` outside hours first moves to the next opening, so a ticket
        received on Saturday night with a 1-day limit is due at Monday's
        opening on a team closed on Sunday.
        """
        if days < 0:
            raise ValueError(f"days must not be negative: {days}")
        local = self._local(start)
        day = local.date()
        bounds = self._bounds(day)
        if bounds is None or local >= bounds[1]:
            day, (opens, closes) = self._next_open_day(day + _ONE_DAY)
            clock = opens
        else:
            clock = max(local, bounds[0]).time()
            opens, closes = bounds[0].time(), bounds[1].time()
        if days:
            day, (opens, closes) = self._open_day_after(day, days)
        return self._aware(dt.datetime.combine(day, min(max(clock, opens), closes)))


def official_days(years: Iterable[int]) -> tuple[list[dt.date], list[dt.date], list[int]]:
    """(festival days off, make-up workdays on Sat/Sun, years without data) from `chinese_calendar`.

    A festival's weekend days count as holidays (国庆 Oct 1–7 is off even for a
    team that works weekends); an ordinary weekend does not. Without the
    package every year is reported as not covered.
    """
    wanted = sorted(set(years))
    try:
        import chinese_calendar  # type: ignore[import-untyped]
    except ImportError:
        return [], [], wanted
    holidays: list[dt.date] = []
    workdays: list[dt.date] = []
    uncovered: list[int] = []
    for year in wanted:
        first = dt.date(year, 1, 1)
        days = [first + dt.timedelta(days=n) for n in range((dt.date(year + 1, 1, 1) - first).days)]
        try:
            year_holidays = [d for d in days if chinese_calendar.get_holiday_detail(d)[1] is not None
                             and chinese_calendar.is_holiday(d)]
            year_workdays = [d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
        except NotImplementedError:
            uncovered.append(year)
            continue
        holidays += year_holidays
        workdays += year_workdays
    return holidays, workdays, uncovered
