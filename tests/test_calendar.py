"""The working calendar: hours, holidays, make-up workdays (调休) and deadlines in working time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csctl.domain.calendar import WorkCalendar, official_days
from csctl.models.config import CalendarSettings, WorkingHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")

HOUR = 3600
NATIONAL_DAY = [dt.date(2026, 10, d) for d in range(1, 8)]
# From chinese_calendar 1.11: the 2026 weekend days that are worked (is_workday on Sat/Sun).
MAKE_UP_2026 = [
    dt.date(2026, 1, 4),
    dt.date(2026, 2, 14),
    dt.date(2026, 2, 28),
    dt.date(2026, 5, 9),
    dt.date(2026, 9, 20),
    dt.date(2026, 10, 10),
]


def at(text: str, tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz)


def calendar(tz: ZoneInfo = SHANGHAI, **fields: object) -> WorkCalendar:
    hours = {k: v for k, v in fields.items() if k in WorkingHours.model_fields}
    rest = {k: v for k, v in fields.items() if k not in hours}
    settings_ = CalendarSettings.model_validate({"hours": hours, **rest})
    return WorkCalendar.from_settings(settings_, tz)


SEED = calendar()
WEEKENDS_OFF = calendar(sat="", sun="")


# -- hours ------------------------------------------------------------------


def test_default_hours_are_the_seed_hours() -> None:
    assert SEED.hours_on(dt.date(2026, 11, 23)) == (dt.time(8, 30), dt.time(17, 0))  # Monday
    assert SEED.hours_on(dt.date(2026, 11, 27)) == (dt.time(8, 30), dt.time(17, 0))  # Friday
    assert SEED.hours_on(dt.date(2026, 11, 28)) == (dt.time(8, 30), dt.time(16, 0))  # Saturday
    assert SEED.hours_on(dt.date(2026, 11, 29)) == (dt.time(8, 30), dt.time(16, 0))  # Sunday


def test_a_holiday_is_off_even_on_a_weekday() -> None:
    cal = calendar(holidays=NATIONAL_DAY)
    assert cal.hours_on(dt.date(2026, 10, 1)) is None  # Thursday
    assert cal.hours_on(dt.date(2026, 10, 3)) is None  # Saturday
    assert cal.hours_on(dt.date(2026, 10, 8)) == (dt.time(8, 30), dt.time(17, 0))


def test_a_make_up_workday_uses_mondays_hours_even_on_a_weekend() -> None:
    cal = calendar(mon="09:00-18:00", sat="", sun="", workdays=[dt.date(2026, 10, 10)])
    assert cal.hours_on(dt.date(2026, 10, 10)) == (dt.time(9, 0), dt.time(18, 0))
    assert cal.hours_on(dt.date(2026, 10, 11)) is None


def test_a_make_up_workday_with_monday_off_uses_the_seed_weekday_hours() -> None:
    cal = calendar(mon="", workdays=[dt.date(2026, 10, 10)])
    assert cal.hours_on(dt.date(2026, 10, 10)) == (dt.time(8, 30), dt.time(17, 0))
    assert cal.hours_on(dt.date(2026, 10, 12)) is None


def test_a_date_listed_as_holiday_and_workday_is_a_holiday() -> None:
    cal = calendar(holidays=[dt.date(2026, 10, 10)], workdays=[dt.date(2026, 10, 10)])
    assert cal.hours_on(dt.date(2026, 10, 10)) is None


def test_a_closing_time_past_the_day_is_refused() -> None:
    with pytest.raises(ValueError, match=r"mon: not a time range within one day: 08:00-24:00"):
        calendar(mon="08:00-24:00")


def test_is_open_includes_the_opening_and_excludes_the_closing() -> None:
    assert not SEED.is_open(at("2026-11-23T08:29:59"))
    assert SEED.is_open(at("2026-11-23T08:30:00"))
    assert SEED.is_open(at("2026-11-23T16:59:59"))
    assert not SEED.is_open(at("2026-11-23T17:00:00"))
    assert SEED.is_open(at("2026-11-23T01:00:00", UTC))  # 09:00 in Shanghai
    assert not WEEKENDS_OFF.is_open(at("2026-11-28T10:00:00"))


# -- add_seconds: deadlines ---------------------------------------------------


def test_a_deadline_crosses_the_night_into_a_worked_saturday() -> None:
    # Friday 16:00 + 2 working hours: 1 h on Friday, 1 h from Saturday's 08:30.
    assert SEED.add_seconds(at("2026-11-20T16:00"), 2 * HOUR) == at("2026-11-21T09:30")


def test_a_deadline_crosses_a_weekend_off() -> None:
    assert WEEKENDS_OFF.add_seconds(at("2026-11-20T16:00"), 2 * HOUR) == at("2026-11-23T09:30")


def test_a_deadline_crosses_national_day() -> None:
    cal = calendar(holidays=NATIONAL_DAY)
    assert cal.add_seconds(at("2026-09-30T16:00"), 2 * HOUR) == at("2026-10-08T09:30")


def test_a_deadline_lands_on_a_make_up_saturday_with_mondays_hours() -> None:
    holidays, workdays, _ = official_days([2026])
    cal = calendar(sat="", sun="", holidays=holidays, workdays=workdays)
    # 2026-10-09 is a Friday, 10-10 the Saturday worked after National Day.
    assert cal.add_seconds(at("2026-10-09T16:00"), 2 * HOUR) == at("2026-10-10T09:30")
    # A worked Saturday keeps Monday's hours (to 17:00), not Saturday's.
    seed = calendar(holidays=holidays, workdays=workdays)
    assert seed.add_seconds(at("2026-10-10T15:30"), HOUR) == at("2026-10-10T16:30")
    assert seed.add_seconds(at("2026-10-17T15:30"), HOUR) == at("2026-10-18T09:00")  # an ordinary Saturday


def test_a_deadline_that_uses_up_the_day_ends_at_closing() -> None:
    assert SEED.add_seconds(at("2026-11-23T16:00"), HOUR) == at("2026-11-23T17:00")
    assert SEED.add_seconds(at("2026-11-23T07:00"), 8 * HOUR + 1800) == at("2026-11-23T17:00")


def test_a_deadline_from_outside_hours_starts_at_the_next_opening() -> None:
    assert SEED.add_seconds(at("2026-11-23T20:00"), 60) == at("2026-11-24T08:31")
    assert SEED.add_seconds(at("2026-11-23T06:00"), 60) == at("2026-11-23T08:31")


def test_zero_seconds_is_the_start_itself_in_the_calendar_zone() -> None:
    start = at("2026-11-23T12:00", UTC)  # 20:00 in Shanghai, after closing
    due = SEED.add_seconds(start, 0)
    assert due == start
    assert due.tzinfo is SHANGHAI


def test_results_are_in_the_calendar_zone() -> None:
    due = SEED.add_seconds(at("2026-11-23T01:00", UTC), HOUR)
    assert due.isoformat() == "2026-11-23T10:00:00+08:00"
    assert due.tzinfo is SHANGHAI


def test_negative_seconds_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        SEED.add_seconds(at("2026-11-23T10:00"), -1)


# -- working_seconds ------------------------------------------------------------


def test_working_seconds_across_a_night() -> None:
    assert SEED.working_seconds(at("2026-11-23T16:00"), at("2026-11-24T10:00")) == 2 * HOUR + 1800


def test_working_seconds_across_a_weekend() -> None:
    start, end = at("2026-11-20T16:00"), at("2026-11-23T10:00")
    assert WEEKENDS_OFF.working_seconds(start, end) == 2 * HOUR + 1800
    # Seed hours work the weekend: 1 h + 7.5 h + 7.5 h + 1.5 h.
    assert SEED.working_seconds(start, end) == 17 * HOUR + 1800


def test_working_seconds_across_a_holiday() -> None:
    cal = calendar(holidays=NATIONAL_DAY)
    assert cal.working_seconds(at("2026-09-30T16:00"), at("2026-10-08T10:00")) == 2 * HOUR + 1800


def test_working_seconds_of_an_empty_or_backward_span_is_zero() -> None:
    moment = at("2026-11-23T10:00")
    assert SEED.working_seconds(moment, moment) == 0
    assert SEED.working_seconds(moment, moment - dt.timedelta(hours=1)) == 0
    assert SEED.working_seconds(at("2026-11-23T18:00"), at("2026-11-24T08:00")) == 0


def test_working_seconds_across_zones() -> None:
    # 01:00 UTC is 09:00 in Shanghai; 10:00 Shanghai.
    assert SEED.working_seconds(at("2026-11-23T01:00", UTC), at("2026-11-23T10:00")) == HOUR


# -- add_days ---------------------------------------------------------------------


def test_add_days_keeps_the_time_of_day() -> None:
    assert SEED.add_days(at("2026-11-23T10:15"), 3) == at("2026-11-26T10:15")
    assert WEEKENDS_OFF.add_days(at("2026-11-20T10:15"), 1) == at("2026-11-23T10:15")


def test_add_days_from_outside_hours_starts_at_the_next_opening() -> None:
    assert SEED.add_days(at("2026-11-20T18:00"), 1) == at("2026-11-22T08:30")  # Fri night → Sat 08:30 → Sun
    assert WEEKENDS_OFF.add_days(at("2026-11-20T18:00"), 1) == at("2026-11-24T08:30")
    assert SEED.add_days(at("2026-11-23T07:00"), 1) == at("2026-11-24T08:30")
    assert SEED.add_days(at("2026-11-23T17:00"), 0) == at("2026-11-24T08:30")
    assert SEED.add_days(at("2026-11-23T10:00"), 0) == at("2026-11-23T10:00")


def test_add_days_clamps_to_a_shorter_saturday() -> None:
    assert SEED.add_days(at("2026-11-20T16:30"), 1) == at("2026-11-21T16:00")


def test_add_days_clamps_to_a_later_opening() -> None:
    cal = calendar(sat="10:00-16:00")
    assert cal.add_days(at("2026-11-20T09:00"), 1) == at("2026-11-21T10:00")


def test_add_days_skips_holidays_and_counts_a_make_up_saturday() -> None:
    cal = calendar(sat="", sun="", holidays=NATIONAL_DAY, workdays=[dt.date(2026, 10, 10)])
    assert cal.add_days(at("2026-09-30T10:00"), 1) == at("2026-10-08T10:00")
    assert cal.add_days(at("2026-10-09T10:00"), 1) == at("2026-10-10T10:00")


def test_add_days_over_a_year_counts_holidays_and_make_up_days() -> None:
    holidays, workdays, _ = official_days([2026])
    cal = calendar(sat="", sun="", holidays=holidays, workdays=workdays)
    # 2026 on a Mon–Fri calendar: 261 weekdays − 19 weekday holidays + 6 make-up days = 248
    # working days, the first two Sunday 4 and Monday 5 January; 246 more after the 5th.
    start = at("2026-01-05T11:00")
    assert cal.add_days(start, 246) == at("2026-12-31T11:00")
    assert cal.add_days(start, 247) == at("2027-01-01T11:00")  # 2027 is not in the settings
    # 1 January is a holiday: the count starts at the next opening, the make-up Sunday's 08:30.
    assert cal.add_days(at("2026-01-01T11:00"), 1) == at("2026-01-05T08:30")


# -- bad input --------------------------------------------------------------------


def test_naive_moments_are_refused() -> None:
    naive = dt.datetime(2026, 11, 23, 10, 0)
    aware = at("2026-11-23T10:00")
    for call in (
        lambda: SEED.is_open(naive),
        lambda: SEED.working_seconds(naive, aware),
        lambda: SEED.working_seconds(aware, naive),
        lambda: SEED.add_seconds(naive, 60),
        lambda: SEED.add_seconds(naive, 0),
        lambda: SEED.add_days(naive, 1),
    ):
        with pytest.raises(ValueError, match="needs a time zone"):
            call()


def test_a_calendar_without_working_days_gives_up_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="at least one weekday needs opening hours"):
        calendar(mon="", tue="", wed="", thu="", fri="", sat="", sun="")
    closed = WorkCalendar([None] * 7, SHANGHAI)
    start = at("2026-11-23T10:00")
    with pytest.raises(ValueError, match="no working day"):
        closed.add_seconds(start, 60)
    with pytest.raises(ValueError, match="no working day"):
        closed.add_days(start, 1)
    assert closed.working_seconds(start, start + dt.timedelta(days=3000)) == 0
    assert not closed.is_open(start)


def test_a_calendar_whose_only_working_days_run_out_gives_up() -> None:
    with pytest.raises(ValueError, match="make-up workdays run out"):
        calendar(mon="", tue="", wed="", thu="", fri="", sat="", sun="", workdays=[dt.date(2026, 11, 24)])
    # (The settings refuse it; the calendar itself still gives up rather than loop.)
    closed = WorkCalendar([None] * 7, SHANGHAI, workdays=[dt.date(2026, 11, 24)])
    start = at("2026-11-23T10:00")
    assert closed.add_seconds(start, HOUR) == at("2026-11-24T09:30")
    assert closed.add_days(start, 0) == at("2026-11-24T08:30")
    with pytest.raises(ValueError, match="no working day"):
        closed.add_seconds(start, 9 * HOUR)
    with pytest.raises(ValueError, match="no working day"):
        closed.add_days(start, 1)


# -- official days and coverage ------------------------------------------------------


def test_official_days_for_2026() -> None:
    holidays, workdays, uncovered = official_days([2026])
    assert dt.date(2026, 10, 1) in holidays
    assert dt.date(2026, 1, 1) in holidays
    # Weekend days inside a festival are holidays too (a team open at weekends closes then);
    # an ordinary weekend is not.
    assert dt.date(2026, 10, 3) in holidays
    assert dt.date(2026, 11, 21) not in holidays
    assert all(d.year == 2026 for d in holidays)
    assert workdays == MAKE_UP_2026
    assert uncovered == []


def test_official_days_reports_years_without_data() -> None:
    holidays, workdays, uncovered = official_days([2099, 2026, 2099])
    assert uncovered == [2099]
    assert dt.date(2026, 10, 1) in holidays
    assert all(d.year == 2026 for d in holidays + workdays)


def test_official_days_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "chinese_calendar", None)
    assert official_days([2026, 2027]) == ([], [], [2026, 2027])


def test_covers_year() -> None:
    cal = calendar(holidays=NATIONAL_DAY)
    assert cal.covers_year(2026)
    assert not cal.covers_year(2027)
    assert not SEED.covers_year(2026)


def test_spans_of_years_agree_with_a_day_by_day_count() -> None:
    holidays, workdays, _ = official_days([2026])
    cal = calendar(holidays=holidays, workdays=workdays)
    start, end = at("2025-03-01T12:00"), at("2028-03-01T12:00")
    total = cal.working_seconds(start, end)
    assert total == _reference_seconds(cal, start, end)
    assert cal.add_seconds(start, total) == at("2028-03-01T12:00")


# -- properties -------------------------------------------------------------------


def _reference_seconds(cal: WorkCalendar, start: dt.datetime, end: dt.datetime) -> int:
    """Working time summed one day at a time, straight from `hours_on`."""
    a = start.astimezone(cal.tz).replace(tzinfo=None)
    b = end.astimezone(cal.tz).replace(tzinfo=None)
    total = dt.timedelta(0)
    day = a.date()
    while day <= b.date():
        hours = cal.hours_on(day)
        if hours:
            opens, closes = dt.datetime.combine(day, hours[0]), dt.datetime.combine(day, hours[1])
            total += max(dt.timedelta(0), min(b, closes) - max(a, opens))
        day += dt.timedelta(days=1)
    return total // dt.timedelta(seconds=1)


_OFFICIAL = official_days([2025, 2026])
CALENDARS = [
    calendar(holidays=_OFFICIAL[0], workdays=_OFFICIAL[1]),
    calendar(sat="", sun="", holidays=_OFFICIAL[0] + NATIONAL_DAY, workdays=_OFFICIAL[1]),
    calendar(
        mon="", wed="07:15-11:45", sat="", sun="13:00-23:59",
        holidays=[dt.date(2026, 2, 1) + dt.timedelta(days=n) for n in range(40)],
        workdays=[dt.date(2026, 2, 9), dt.date(2026, 3, 7)],
    ),
    calendar(NEW_YORK),
]
MOMENTS = st.datetimes(
    min_value=dt.datetime(2025, 6, 1),
    max_value=dt.datetime(2027, 6, 30),
    timezones=st.sampled_from([SHANGHAI, UTC, NEW_YORK]),
)
THIRTY_DAYS_OF_WORK = 30 * (8 * HOUR + 1800)


@settings(max_examples=200, deadline=None)
@given(cal=st.sampled_from(CALENDARS), start=MOMENTS, seconds=st.integers(0, THIRTY_DAYS_OF_WORK))
def test_add_seconds_is_undone_by_working_seconds(cal: WorkCalendar, start: dt.datetime, seconds: int) -> None:
    due = cal.add_seconds(start, seconds)
    assert due >= start
    assert cal.working_seconds(start, due) == seconds
    if seconds:
        assert due.tzinfo is cal.tz
        # The earliest such moment: a second earlier the time is not yet used up.
        assert cal.working_seconds(start, due - dt.timedelta(seconds=1)) < seconds


@settings(max_examples=200, deadline=None)
@given(
    cal=st.sampled_from(CALENDARS),
    start=MOMENTS,
    a=st.integers(0, THIRTY_DAYS_OF_WORK),
    b=st.integers(0, THIRTY_DAYS_OF_WORK),
)
def test_add_seconds_is_monotonic(cal: WorkCalendar, start: dt.datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert cal.add_seconds(start, low) <= cal.add_seconds(start, high)


@settings(max_examples=200, deadline=None)
@given(cal=st.sampled_from(CALENDARS), start=MOMENTS, end=MOMENTS)
def test_working_seconds_matches_a_day_by_day_count(cal: WorkCalendar, start: dt.datetime, end: dt.datetime) -> None:
    expected = _reference_seconds(cal, start, end) if end > start else 0
    assert cal.working_seconds(start, end) == expected


@settings(max_examples=200, deadline=None)
@given(cal=st.sampled_from(CALENDARS), start=MOMENTS, days=st.integers(0, 400))
def test_add_days_matches_stepping_day_by_day(cal: WorkCalendar, start: dt.datetime, days: int) -> None:
    local = start.astimezone(cal.tz).replace(tzinfo=None)
    day = local.date()
    hours = cal.hours_on(day)
    if hours is None or local.time() >= hours[1]:
        day += dt.timedelta(days=1)
        while (hours := cal.hours_on(day)) is None:
            day += dt.timedelta(days=1)
        clock = hours[0]
    else:
        clock = max(local.time(), hours[0])
    for _ in range(days):
        day += dt.timedelta(days=1)
        while (hours := cal.hours_on(day)) is None:
            day += dt.timedelta(days=1)
    assert hours is not None
    expected = dt.datetime.combine(day, min(max(clock, hours[0]), hours[1]), tzinfo=cal.tz)
    assert cal.add_days(start, days) == expected
