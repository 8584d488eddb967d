"""The cheaper paths a report takes (issue #8) give the answers of the plain ones.

The working calendar keeps what it learns about each date; a Timing works its deadlines out when
read; `earliest` skips limits no stricter than another; a report judges each ticket once per
period (`Standings`) and not at all when its first cycle ended before the period; events are
compared with a period in their own fixed offset (`Window`); the figures count a ticket's brief, as the
index keeps it, not the ticket. Each is checked here against a straightforward computation on random
inputs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from csctl.domain.briefs import TicketBrief, brief_of, decode, encode, whole_timing
from csctl.domain.calendar import WorkCalendar, official_days
from csctl.domain.deadlines import Clockwork, WallClock, add_limit, clockwork, earliest, timing
from csctl.domain.tickets import MOVES, Derived, apply_event, replay
from csctl.models.base import Event, fixed_zone
from csctl.models.config import CalendarSettings, Duration, LedgerConfig
from csctl.models.records import Ticket, TicketKind, Urgency
from csctl.reports import figures, periods
from csctl.reports.figures import Standing, Standings, Window, agent_rows, standing, ticket_figures
from csctl.reports.periods import Period

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# As every stored time is written: in the one `timezone` object of its offset (`fixed_zone`).
EIGHT_HOURS_EAST = fixed_zone(dt.timedelta(hours=8))
ONE_DAY = dt.timedelta(days=1)

_HOLIDAYS, _MAKE_UP, _ = official_days([2025, 2026])
NATIONAL_DAY = [dt.date(2026, 10, d) for d in range(1, 8)]


def calendar(tz: ZoneInfo = SHANGHAI, **fields: Any) -> WorkCalendar:
    hour_names = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    hours = {k: v for k, v in fields.items() if k in hour_names}
    rest = {k: v for k, v in fields.items() if k not in hour_names}
    return WorkCalendar.from_settings(CalendarSettings.model_validate({"hours": hours, **rest}), tz)


# Fresh calendars are made per example where the order of questions matters; these ones are
# shared by every example, so they answer with what earlier examples left in them.
CALENDAR_KINDS: list[dict[str, Any]] = [
    {"holidays": _HOLIDAYS, "workdays": _MAKE_UP},
    {"sat": "", "sun": "", "holidays": _HOLIDAYS + NATIONAL_DAY, "workdays": _MAKE_UP},
    {"mon": "", "wed": "07:15-11:45", "sat": "", "sun": "13:00-23:59",
     "holidays": [dt.date(2026, 2, 1) + dt.timedelta(days=n) for n in range(40)],
     "workdays": [dt.date(2026, 2, 9), dt.date(2026, 3, 7)]},
    {"tz": NEW_YORK, "holidays": [dt.date(2026, 11, 26)], "workdays": [dt.date(2026, 11, 7)]},
]
WARM = [calendar(**kind) for kind in CALENDAR_KINDS]

MOMENTS = st.datetimes(min_value=dt.datetime(2025, 9, 1), max_value=dt.datetime(2027, 3, 31),
                       timezones=st.sampled_from([SHANGHAI, NEW_YORK, dt.UTC, EIGHT_HOURS_EAST]))
WORK_SECONDS = st.integers(0, 25 * 9 * 3600)


# -- straightforward computations, one day at a time, from `hours_on` alone ---------------------


def _local(cal: WorkCalendar, moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(cal.tz).replace(tzinfo=None)


def _opening(cal: WorkCalendar, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    hours = cal.hours_on(day)
    return None if hours is None else (dt.datetime.combine(day, hours[0]), dt.datetime.combine(day, hours[1]))


def plain_working_seconds(cal: WorkCalendar, start: dt.datetime, end: dt.datetime) -> int:
    a, b = _local(cal, start), _local(cal, end)
    total = dt.timedelta(0)
    day = a.date()
    while day <= b.date():
        if (bounds := _opening(cal, day)) is not None:
            total += max(dt.timedelta(0), min(b, bounds[1]) - max(a, bounds[0]))
        day += ONE_DAY
    return total // dt.timedelta(seconds=1)


def plain_add_seconds(cal: WorkCalendar, start: dt.datetime, seconds: int) -> dt.datetime:
    if seconds == 0:
        return start.astimezone(cal.tz)
    local = _local(cal, start)
    left = dt.timedelta(seconds=seconds)
    day = local.date()
    while True:
        if (bounds := _opening(cal, day)) is not None:
            begin = max(bounds[0], local)
            if begin < bounds[1]:
                if left <= bounds[1] - begin:
                    return (begin + left).replace(tzinfo=cal.tz)
                left -= bounds[1] - begin
        day += ONE_DAY


def plain_add_days(cal: WorkCalendar, start: dt.datetime, days: int) -> dt.datetime:
    local = _local(cal, start)
    day = local.date()
    bounds = _opening(cal, day)
    if bounds is None or local >= bounds[1]:
        day += ONE_DAY
        while (bounds := _opening(cal, day)) is None:
            day += ONE_DAY
        clock = bounds[0].time()
    else:
        clock = max(local, bounds[0]).time()
    for _ in range(days):
        day += ONE_DAY
        while (bounds := _opening(cal, day)) is None:
            day += ONE_DAY
    opens, closes = bounds[0].time(), bounds[1].time()
    return dt.datetime.combine(day, min(max(clock, opens), closes), cal.tz)


def _same_moment(a: dt.datetime, b: dt.datetime) -> bool:
    """Equal, and written the same way (zone and wall-clock time), as the output shows it."""
    return a == b and a.tzinfo is b.tzinfo and a.replace(tzinfo=None) == b.replace(tzinfo=None)


# -- the calendar ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(WARM) - 1), start=MOMENTS, seconds=WORK_SECONDS)
def test_add_seconds_from_a_calendar_that_remembers_days_is_the_plain_walk(which: int, start: dt.datetime,
                                                                         seconds: int) -> None:
    cal = WARM[which]
    assert _same_moment(cal.add_seconds(start, seconds), plain_add_seconds(cal, start, seconds))


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(WARM) - 1), start=MOMENTS, days=st.integers(0, 60))
def test_add_days_from_a_calendar_that_remembers_days_is_the_plain_walk(which: int, start: dt.datetime,
                                                                      days: int) -> None:
    cal = WARM[which]
    assert _same_moment(cal.add_days(start, days), plain_add_days(cal, start, days))


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(WARM) - 1), start=MOMENTS, span=st.timedeltas(dt.timedelta(0), dt.timedelta(days=40)))
def test_working_seconds_from_a_calendar_that_remembers_days_is_the_plain_sum(which: int, start: dt.datetime,
                                                                            span: dt.timedelta) -> None:
    cal = WARM[which]
    end = start + span
    assert cal.working_seconds(start, end) == plain_working_seconds(cal, start, end)


def test_a_deadline_using_up_whole_weeks_exactly_ends_at_a_closing() -> None:
    cal = calendar(holidays=NATIONAL_DAY)
    friday_closing = dt.datetime(2026, 11, 20, 17, 0, tzinfo=SHANGHAI)
    week = cal.working_seconds(friday_closing, friday_closing + 7 * ONE_DAY)
    assert cal.add_seconds(friday_closing, week) == friday_closing + 7 * ONE_DAY
    assert cal.add_seconds(friday_closing, 3 * week) == friday_closing + 21 * ONE_DAY
    assert cal.add_seconds(friday_closing, week + 1) == dt.datetime(2026, 11, 28, 8, 30, 1, tzinfo=SHANGHAI)


QUESTION = st.tuples(st.sampled_from(["add_seconds", "add_days", "working_seconds"]), MOMENTS,
                     st.integers(0, 200 * 3600))


@settings(max_examples=100, deadline=None)
@given(which=st.integers(0, len(CALENDAR_KINDS) - 1), questions=st.lists(QUESTION, min_size=2, max_size=12))
def test_a_new_calendar_answers_each_question_alike_whatever_was_asked_before(
        which: int, questions: list[tuple[str, dt.datetime, int]]) -> None:
    forwards, backwards = calendar(**CALENDAR_KINDS[which]), calendar(**CALENDAR_KINDS[which])

    def ask(cal: WorkCalendar, question: tuple[str, dt.datetime, int]) -> object:
        name, moment, number = question
        if name == "add_seconds":
            return cal.add_seconds(moment, number)
        if name == "add_days":
            return cal.add_days(moment, number % 40)
        return cal.working_seconds(moment, moment + dt.timedelta(seconds=number * 3))

    answers = [ask(forwards, q) for q in questions]
    assert [ask(backwards, q) for q in reversed(questions)] == answers[::-1]
    for (name, moment, number), answer in zip(questions, answers, strict=True):
        if name == "add_seconds":
            assert answer == plain_add_seconds(forwards, moment, number)
        elif name == "add_days":
            assert answer == plain_add_days(forwards, moment, number % 40)
        else:
            assert answer == plain_working_seconds(forwards, moment, moment + dt.timedelta(seconds=number * 3))


# -- the strictest limit --------------------------------------------------------------------------

LIMITS = st.lists(
    st.builds(Duration, st.integers(0, 5), st.integers(0, 24 * 4).map(lambda quarters: quarters * 900))
    .filter(lambda d: d.days or d.seconds), min_size=1, max_size=5)
CLOCKS: list[Clockwork] = [*WARM, WallClock()]


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(CLOCKS) - 1), start=MOMENTS, limits=LIMITS)
def test_earliest_is_the_earliest_deadline_of_every_limit(which: int, start: dt.datetime,
                                                          limits: list[Duration]) -> None:
    clock = CLOCKS[which]
    every = min(add_limit(clock, start, limit) for limit in limits)
    assert _same_moment(earliest(clock, start, limits), every)


# -- ticket histories -----------------------------------------------------------------------------

# What each action's event carries (one choice drawn per event).
CARRIES: dict[str, list[dict[str, Any]]] = {
    "assigned": [{"to": "wang"}, {"to": "mei"}],
    "taken": [{}],
    "noted": [{"text": "已回复买家"}],
    "transferred": [{"to": "mei", "target": "agent", "reason": "换人"},
                    {"to": "tech", "target": "department", "reason": "技术问题"}],
    "waiting": [{"reason": "等买家回复"}],
    "resumed": [{}],
    "resolved": [{"solution": "已补发"}],
    "callback": [{"outcome": "accepted", "satisfaction": 5}, {"outcome": "rejected", "satisfaction": 2},
                 {"outcome": "unreachable"}, {"outcome": "unreachable", "retry_by": "mei"}],
    "closed": [{}],
    "reopened": [{"reason": "买家再次反映"}],
    "judged": [{"verdict": "valid", "department": "仓库"}, {"verdict": "invalid", "explanation": "已解释"}],
}
START_OF_HISTORIES = dt.datetime(2026, 8, 20, tzinfo=EIGHT_HOURS_EAST)


@st.composite
def tickets(draw: st.DrawFn, ticket_id: str = "T-260901-0F3KQ") -> Ticket:
    """A ticket whose history replays: each action drawn among those its state allows."""
    kind = draw(st.sampled_from([TicketKind.COMPLAINT, TicketKind.CONSULTATION, TicketKind.MAINTENANCE]))
    at = START_OF_HISTORIES + dt.timedelta(minutes=draw(st.integers(0, 110 * 24 * 60)))
    by = draw(st.sampled_from(["wang", "mei"]))
    events = [{"at": at, "by": by, "action": "created"}]
    state = Derived()
    for _ in range(draw(st.integers(0, 9))):
        allowed = sorted(a for a in CARRIES if state.status in MOVES[a].sources
                         and (a != "judged" or (kind is TicketKind.COMPLAINT and state.verdict is None)))
        action = draw(st.sampled_from(allowed))
        at += dt.timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))
        event = Event.model_validate({"at": at, "by": draw(st.sampled_from(["wang", "mei"])), "action": action,
                                      **draw(st.sampled_from(CARRIES[action]))})
        apply_event(ticket_id, kind, state, event)
        events.append(event.model_dump(exclude_none=True))
    return Ticket.model_validate({
        "id": ticket_id, "created": events[0]["at"], "kind": kind, "channel": "phone", "subject": "快递未到",
        "urgency": draw(st.sampled_from(list(Urgency))), "status": state.status, "assignee": state.assignee,
        "events": events,
    })


@st.composite
def odd_tickets(draw: st.DrawFn, ticket_id: str = "T-260901-0F3KQ") -> Ticket:
    """A ticket as a merge or a hand edit may leave it: its times written in other offsets, out of order
    (a merged history keeps the order events were written in), its creation after its first event."""
    ticket = draw(tickets(ticket_id))
    events = [event.model_dump(exclude_none=True) for event in ticket.events]
    moments = [event["at"] for event in events]
    if draw(st.booleans()):
        moments = draw(st.permutations(moments))
    for event, moment in zip(events, moments, strict=True):
        event["at"] = moment.astimezone(dt.timezone(dt.timedelta(minutes=draw(st.integers(-12 * 60, 14 * 60)))))
    created = ticket.created + draw(st.sampled_from([dt.timedelta(0), dt.timedelta(hours=5), dt.timedelta(days=9)]))
    return Ticket.model_validate({**ticket.model_dump(), "created": created, "events": events})


CONFIG = LedgerConfig.model_validate({
    "team": {"name": "测试客服部", "timezone": "Asia/Shanghai"},
    "agents": [{"id": "wang", "name": "小王", "role": "agent"}, {"id": "mei", "name": "小美", "role": "agent"}],
    "calendar": {"holidays": NATIONAL_DAY, "workdays": [dt.date(2026, 9, 27), dt.date(2026, 10, 10)]},
})
TODAY = dt.date(2026, 12, 2)
PERIODS = [periods.month(m, TODAY) for m in ("2026-09", "2026-10", "2026-11")] + [
    periods.week(w, TODAY) for w in ("2026-W40", "2026-W44")] + [periods.day("2026-10-08", TODAY)]


def brief(ticket: Ticket) -> TicketBrief:
    """The ticket as a report counts it with an index: its brief, through the text the index keeps."""
    made = brief_of(ticket, whole_timing(ticket, CONFIG.tickets, clockwork(CONFIG)))
    text = encode(made)
    assert text is not None
    return decode(text)


def _read_everything(t: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(t, name) for name in names}


TIMING_FIELDS = ["response_due", "responded_at", "resolution_due", "first_resolution_due", "first_resolved_at",
                 "resolved_at", "waiting", "waiting_seconds", "transferred_seconds", "callback_due",
                 "callback_agent", "callbacks", "callbacks_reached", "satisfaction", "reopened", "now",
                 "response_met", "resolution_met", "overdue", "next_due", "assignee", "resolution_running"]


@settings(max_examples=200, deadline=None)
@given(ticket=tickets(), later=st.timedeltas(dt.timedelta(0), dt.timedelta(days=30)),
       count=st.sampled_from(["working", "calendar"]))
def test_a_timings_deadlines_do_not_depend_on_which_is_read_first(ticket: Ticket, later: dt.timedelta,
                                                                  count: str) -> None:
    def clock() -> Clockwork:
        return WallClock() if count == "calendar" else WorkCalendar.from_settings(CONFIG.calendar, CONFIG.tz)

    now = ticket.events[-1].at + later
    forwards = _read_everything(timing(ticket, CONFIG.tickets, clock(), now), TIMING_FIELDS)
    backwards = _read_everything(timing(ticket, CONFIG.tickets, clock(), now), TIMING_FIELDS[::-1])
    assert forwards == backwards
    assert forwards["resolution_running"] == (forwards["resolution_due"] is not None)
    assert forwards["assignee"] == replay(ticket.id, ticket.kind, ticket.events).assignee


def _counts(stood: Any, window: Window) -> bool:
    """Whether a standing moves any figure: measured, or late (resolved late, or open past its due)."""
    t = stood.timing
    open_late = t.first_resolved_at is None and t.resolution_running and t.first_resolution_due < window.end
    return bool(stood.resolved_in or stood.missing or open_late)


def _moments(brief: TicketBrief) -> list[dt.datetime]:
    settled = [] if brief.settled is None else [brief.settled.first_resolved_at, brief.settled.first_resolution_due]
    return [brief.created, *(e.at for e in brief.events), *settled, brief.earliest, brief.latest]


@settings(max_examples=300, deadline=None)
@given(ticket=st.one_of(tickets(), odd_tickets()), later=st.timedeltas(dt.timedelta(0), dt.timedelta(days=30)),
       count=st.sampled_from(["working", "calendar"]))
def test_a_brief_is_timed_as_its_ticket_and_reads_back_as_written(ticket: Ticket, later: dt.timedelta,
                                                                  count: str) -> None:
    clock = clockwork(CONFIG, count)
    made = brief_of(ticket, whole_timing(ticket, CONFIG.tickets, clock))
    text = encode(made)
    assert text is not None
    back = decode(text)
    assert back == made
    # `==` compares instants: each time also keeps its offset, in the records' one `timezone` object per
    # offset (times of one tzinfo compare as wall-clock times), and each value its type.
    assert [m.utcoffset() for m in _moments(back)] == [m.utcoffset() for m in _moments(made)]
    assert all(m.tzinfo is fixed_zone(m.utcoffset()) for m in _moments(back))
    assert [type(v) for e in back.events for v in e.extras.values()] == [
        type(v) for e in made.events for v in e.extras.values()]
    now = ticket.events[-1].at + later
    plain = _read_everything(timing(ticket, CONFIG.tickets, clock, now), TIMING_FIELDS)
    assert _read_everything(timing(made, CONFIG.tickets, clock, now), TIMING_FIELDS) == plain
    # Where the whole history leaves it, worked out once, is what a walk at any later moment finds.
    assert (made.settled is None) == (plain["first_resolved_at"] is None)
    if made.settled is not None:
        assert made.settled._asdict() == {name: plain[name] for name in made.settled._fields}
        assert made.settled.resolution_met == plain["resolution_met"]


@settings(max_examples=300, deadline=None)
@given(ticket=st.one_of(tickets(), odd_tickets()), period=st.sampled_from(PERIODS))
def test_a_brief_stands_at_a_periods_end_as_the_ticket_cut_there(ticket: Ticket, period: Period) -> None:
    window = Window(*period.bounds(CONFIG.tz))
    stood = standing(brief(ticket), CONFIG, clockwork(CONFIG), window)
    before = [e for e in ticket.events if e.at < window.end]
    if not before:
        assert stood is None
        return
    cut = ticket.model_copy(update={"events": before})
    plain = timing(cut, CONFIG.tickets, clockwork(CONFIG), window.end)
    assert stood is not None
    fields = ["first_resolved_at", "first_resolution_due", "resolution_met", "resolution_running", "waiting",
              "assignee"]
    assert _read_everything(stood.timing, fields) == _read_everything(plain, fields)


@settings(max_examples=300, deadline=None)
@given(ticket=tickets(), period=st.sampled_from(PERIODS))
def test_judging_once_a_period_agrees_with_judging_afresh(ticket: Ticket, period: Period) -> None:
    window = Window(*period.bounds(CONFIG.tz))
    standings = Standings(CONFIG)
    counted = brief(ticket)
    judged = standings.judged(counted, window)
    afresh = standing(counted, CONFIG, WorkCalendar.from_settings(CONFIG.calendar, CONFIG.tz), window)
    if judged is None:
        # Nothing had happened, or the first cycle ended before the period: it moves no figure.
        assert afresh is None or not _counts(afresh, window)
    else:
        assert afresh is not None
        fields = ["first_resolved_at", "first_resolution_due", "resolution_met", "resolution_running", "waiting"]
        assert (judged.resolved_in, judged.missing, judged.assignee) == (afresh.resolved_in, afresh.missing,
                                                                         afresh.assignee)
        assert _read_everything(judged.timing, fields) == _read_everything(afresh.timing, fields)
    assert standings.judged(counted, window) is judged
    if afresh is not None:
        # The holder at the period's end is the one the history before it replays to.
        before = [e for e in ticket.events if e.at < window.end]
        assert afresh.assignee == replay(ticket.id, ticket.kind, before).assignee


def _plain(value: Any) -> Any:
    """Figures as plain dicts and lists (`dataclasses.asdict` cannot rebuild a defaultdict)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Forgetful(Standings):
    """Judges every ticket afresh each time it is asked: the plain path."""

    def judged(self, ticket: TicketBrief, window: Window) -> Standing | None:
        return Standings(self.config).judged(ticket, window)


def _figures(tickets_: list[TicketBrief], period: Period, standings: Standings) -> dict[str, Any]:
    figures = ticket_figures(tickets_, period, CONFIG, standings)
    rows = agent_rows(tickets_, [], [], period, CONFIG, standings)
    return {"tickets": _plain(figures), "agents": _plain(rows)}


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.sampled_from(["T-260901-0F3KQ", "T-260902-1A2B3", "T-260903-4C5D6"]), min_size=1,
                    max_size=6),
       data=st.data())
def test_figures_sharing_one_standings_are_the_figures_each_worked_out_alone(ids: list[str],
                                                                            data: st.DataObject) -> None:
    # Drawn IDs repeat: copies of one ticket in two files are judged each on its own history.
    drawn = [brief(data.draw(st.one_of(tickets(ticket_id), odd_tickets(ticket_id)))) for ticket_id in ids]
    shared = Standings(CONFIG)
    for period in PERIODS:
        assert _figures(drawn, period, shared) == _figures(drawn, period, Forgetful(CONFIG))


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.sampled_from(["T-260901-0F3KQ", "T-260902-1A2B3"]), min_size=1, max_size=4),
       data=st.data())
def test_the_tickets_a_period_skips_move_none_of_its_figures(ids: list[str], data: st.DataObject) -> None:
    drawn = [brief(data.draw(st.one_of(tickets(ticket_id), odd_tickets(ticket_id)))) for ticket_id in ids]
    for period in PERIODS:
        skipping = _figures(drawn, period, Standings(CONFIG))
        with mock.patch.object(figures, "_untouched", return_value=False):
            assert _figures(drawn, period, Standings(CONFIG)) == skipping


@settings(max_examples=300, deadline=None)
@given(period=st.sampled_from(PERIODS), moment=MOMENTS, offset_minutes=st.integers(-12 * 60, 14 * 60),
       edge=st.sampled_from(["any", "start", "end"]))
def test_a_window_seen_from_a_records_offset_holds_the_same_moments(period: Period, moment: dt.datetime,
                                                                     offset_minutes: int, edge: str) -> None:
    window = Window(*period.bounds(CONFIG.tz))
    zone = fixed_zone(dt.timedelta(minutes=offset_minutes))
    if edge != "any":  # exactly on a bound, written in another offset
        moment = (window.start if edge == "start" else window.end).astimezone(zone)
    stamp = moment.astimezone(zone)
    start, end = window.like(stamp)
    assert (start <= stamp < end) == (window.start <= stamp < window.end)
    assert (start, end) == (window.start, window.end)
    if isinstance(moment.tzinfo, dt.timezone):  # a fixed offset: the bounds are written in it
        assert window.like(moment)[0].tzinfo is moment.tzinfo
    if not isinstance(moment.tzinfo, dt.timezone):
        assert window.like(moment) == (window.start, window.end)
        assert window.like(moment)[0].tzinfo is window.start.tzinfo
