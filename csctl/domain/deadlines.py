"""Ticket deadlines, read from the history every time (never stored counters).

A calendar fix or an event merged in late therefore changes the answer the
next time it is asked. Limits come from `[tickets]` in `csctl.toml`: of
`kind.urgency`, `kind`, `urgency` and `default`, the limit giving the earliest
deadline applies, counted in working time (`count = "working"`) or on the wall clock.

- **First response**: the first event after intake that answers the customer
  (a note, a judgement, a transfer, a wait, a resolution, a callback).
- **Resolution**: each cycle — from intake, or from a reopening — must end in
  a resolution. Time waiting on the customer pauses the clock; time with
  another department (transferred) runs, but is counted apart so reports can
  say which leg used it.
- **Callback** (回访): due after a resolution for the kinds in
  `callback_kinds`, and again after an attempt that did not reach the
  customer or that passed the callback to another agent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from csctl.domain.calendar import WorkCalendar
from csctl.domain.tickets import OPEN, RESPONSES, Derived, EventView, apply_event
from csctl.models.config import Duration, LedgerConfig, TicketSettings
from csctl.models.records import CallbackOutcome, TicketKind, TicketStatus, Urgency


class History(Protocol):
    """What the deadlines read of a ticket: a stored `Ticket`, or a `TicketBrief` of a report."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> TicketKind: ...
    @property
    def urgency(self) -> Urgency: ...
    @property
    def created(self) -> dt.datetime: ...
    @property
    def events(self) -> Sequence[EventView]: ...


class Clockwork(Protocol):
    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> int: ...
    def add_seconds(self, start: dt.datetime, seconds: int) -> dt.datetime: ...
    def add_days(self, start: dt.datetime, days: int) -> dt.datetime: ...


class WallClock:
    """Limits on the wall clock: a day is 24 hours."""

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> int:
        return max(0, int((end - start).total_seconds()))

    def add_seconds(self, start: dt.datetime, seconds: int) -> dt.datetime:
        return start + dt.timedelta(seconds=seconds)

    def add_days(self, start: dt.datetime, days: int) -> dt.datetime:
        return start + dt.timedelta(days=days)


def clockwork(config: LedgerConfig, count: str | None = None) -> Clockwork:
    """The clock limits are counted on: `count` ("working" or "calendar"), else the tickets' setting."""
    if (count or config.tickets.count) == "calendar":
        return WallClock()
    return WorkCalendar.from_settings(config.calendar, config.tz)


def add_limit(clock: Clockwork, start: dt.datetime, limit: Duration) -> dt.datetime:
    moment = clock.add_days(start, limit.days) if limit.days else start
    return clock.add_seconds(moment, limit.seconds) if limit.seconds else moment


def earliest(clock: Clockwork, start: dt.datetime, limits: Sequence[Duration]) -> dt.datetime:
    """The deadline of the strictest limit: a day and eight hours compare only on a calendar.

    A limit with no fewer days and no fewer seconds than another is never stricter on any clock (more
    working days end later, and more seconds from a later start too), so it is not worked out.
    """
    return min(add_limit(clock, start, limit) for limit in limits
               if not any(other.days <= limit.days and other.seconds <= limit.seconds and other != limit
                          for other in limits))


Pause = tuple[dt.datetime, dt.datetime | None]  # waiting on the customer: (from, until; None while it lasts)


@dataclass(frozen=True)
class _Cycle:
    """A resolution deadline not yet worked out: from `start`, pushed back by the pauses."""

    start: dt.datetime
    pauses: tuple[Pause, ...]


# Not compared (eq=False): a Timing's deadlines come from limits it holds but does not compare.
@dataclass(frozen=True, eq=False)
class Timing:
    """Where a ticket stands against its deadlines at `now`.

    The history is walked at once; each deadline is worked out on the calendar when first read, since
    most readers want few of them (a report reads the first resolution's only, issue #8).
    """

    responded_at: dt.datetime | None
    first_resolved_at: dt.datetime | None
    resolved_at: dt.datetime | None  # of the latest cycle
    waiting: bool
    callback_agent: str | None
    callbacks: int  # attempts
    callbacks_reached: int
    satisfaction: int | None  # of the latest callback that gave one
    reopened: int
    now: dt.datetime
    assignee: str | None  # who holds the ticket after the history
    # What the deadlines are worked out from.
    _clock: Clockwork = field(repr=False, compare=False)
    _settings: TicketSettings = field(repr=False, compare=False)
    _ticket: History = field(repr=False, compare=False)
    _first_cycle: _Cycle = field(repr=False)
    _open_cycle: _Cycle | None = field(repr=False)  # the current cycle, while open and not waiting
    _callback_from: tuple[dt.datetime, Duration] | None = field(repr=False)
    _stretches: list[tuple[dt.datetime, TicketStatus]] = field(repr=False, compare=False)
    _status: TicketStatus = field(repr=False)

    @cached_property
    def response_due(self) -> dt.datetime:
        return earliest(self._clock, self._ticket.created, self._limits("response"))

    @cached_property
    def first_resolution_due(self) -> dt.datetime:
        return self._due(self._first_cycle)

    @cached_property
    def resolution_due(self) -> dt.datetime | None:
        """Of the current cycle; None while waiting on the customer or once resolved or closed."""
        return None if self._open_cycle is None else self._due(self._open_cycle)

    @property
    def resolution_running(self) -> bool:
        """Whether a resolution is due (`resolution_due is not None`), without working out when."""
        return self._open_cycle is not None

    @cached_property
    def callback_due(self) -> dt.datetime | None:
        return None if self._callback_from is None else add_limit(self._clock, *self._callback_from)

    @cached_property
    def _leg_seconds(self) -> tuple[int, int]:
        return _legs(self._clock, self._stretches, self._status, self.now)

    @property
    def waiting_seconds(self) -> int:
        return self._leg_seconds[0]

    @property
    def transferred_seconds(self) -> int:
        return self._leg_seconds[1]

    def _due(self, cycle: _Cycle) -> dt.datetime:
        return _resolution_due(self._clock, cycle.start, self._limits("resolution"), cycle.pauses, self.now)

    def _limits(self, table: str) -> list[Duration]:
        return self._settings.limits(table, self._ticket.kind.value, self._ticket.urgency.value)

    @property
    def response_met(self) -> bool | None:
        """True / False once known; None while the response is pending and not yet late."""
        if self.responded_at is not None:
            return self.responded_at <= self.response_due
        return False if self.now > self.response_due else None

    @property
    def resolution_met(self) -> bool | None:
        """Whether the first resolution came on time (工单处理及时率)."""
        if self.first_resolved_at is not None:
            return self.first_resolved_at <= self.first_resolution_due
        return False if self.now > self.first_resolution_due else None

    @property
    def response_overdue(self) -> bool:
        return self.responded_at is None and self.now > self.response_due

    @property
    def resolution_overdue(self) -> bool:
        return self.resolution_due is not None and self.resolved_at is None and self.now > self.resolution_due

    @property
    def callback_overdue(self) -> bool:
        return self.callback_due is not None and self.now > self.callback_due

    @property
    def overdue(self) -> bool:
        return self.response_overdue or self.resolution_overdue or self.callback_overdue

    @property
    def next_due(self) -> dt.datetime | None:
        """The deadline that matters now: a missing first response, else the resolution, else the callback."""
        if self.responded_at is None and (self.response_overdue or self.resolution_due is not None):
            return self.response_due
        return self.resolution_due or self.callback_due


def ends_cycle(event: EventView) -> bool:
    """A resolution, or a complaint judged invalid (explained, and closed): the end of a resolution cycle."""
    return event.action == "resolved" or (event.action == "judged" and event.extras.get("verdict") == "invalid")


def timing(ticket: History, settings: TicketSettings, clock: Clockwork, now: dt.datetime) -> Timing:
    kind = ticket.kind.value
    # Status after each event, to know which leg each stretch of time belongs to.
    state = Derived()
    stretches: list[tuple[dt.datetime, TicketStatus]] = []
    responded_at: dt.datetime | None = None
    cycle_start = ticket.created
    cycle_pauses: list[Pause] = []
    first_cycle: _Cycle | None = None
    first_resolved: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    callback_from: tuple[dt.datetime, Duration] | None = None
    callback_agent: str | None = None
    callbacks = reached = reopened = 0
    satisfaction: int | None = None

    for index, event in enumerate(ticket.events):
        before = state.status
        action = event.action
        if index:
            apply_event(ticket.id, ticket.kind, state, event)
            if responded_at is None and action in RESPONSES:
                responded_at = event.at
        status = state.status
        stretches.append((event.at, status))
        if status is TicketStatus.WAITING and before is not TicketStatus.WAITING:
            cycle_pauses.append((event.at, None))
        elif before is TicketStatus.WAITING and status is not TicketStatus.WAITING:
            cycle_pauses[-1] = (cycle_pauses[-1][0], event.at)
        if ends_cycle(event):
            if first_resolved is None:
                first_resolved, first_cycle = event.at, _Cycle(cycle_start, tuple(cycle_pauses))
            resolved_at = event.at
        if action == "resolved":
            callback_agent = state.assignee
            callback_from = ((event.at, Duration.parse(settings.callback))
                             if kind in settings.callback_kinds else None)
        elif action == "callback":
            callbacks += 1
            outcome = event.extras.get("outcome")
            score = event.extras.get("satisfaction")
            if outcome != CallbackOutcome.UNREACHABLE:
                reached += 1
            if isinstance(score, int):
                satisfaction = score
            if outcome == CallbackOutcome.ACCEPTED:
                callback_from = None
            elif outcome == CallbackOutcome.UNREACHABLE or event.extras.get("retry_by"):
                callback_agent = event.extras.get("retry_by") or event.by
                callback_from = (event.at, Duration.parse(settings.callback_retry))
            else:  # rejected: the ticket is handled again (客户不满意的,应重新处理)
                callback_from = None
        if status in OPEN and before not in OPEN and index:
            reopened += 1
            cycle_start, cycle_pauses, resolved_at = event.at, [], None
            callback_from = None

    waiting_now = state.status is TicketStatus.WAITING
    pauses = tuple(cycle_pauses)
    return Timing(
        responded_at=responded_at,
        first_resolved_at=first_resolved,
        resolved_at=resolved_at,
        waiting=waiting_now,
        callback_agent=callback_agent,
        callbacks=callbacks,
        callbacks_reached=reached,
        satisfaction=satisfaction,
        reopened=reopened,
        now=now,
        assignee=state.assignee,
        _clock=clock,
        _settings=settings,
        _ticket=ticket,
        # Still in the first cycle: counted from intake, with the pauses of the cycle now running.
        _first_cycle=first_cycle or _Cycle(ticket.created, pauses),
        _open_cycle=_Cycle(cycle_start, pauses) if state.status in OPEN and not waiting_now else None,
        _callback_from=callback_from,
        _stretches=stretches,
        _status=state.status,
    )


def _resolution_due(clock: Clockwork, start: dt.datetime, limits: Sequence[Duration],
                    pauses: Sequence[Pause], now: dt.datetime) -> dt.datetime:
    """The deadline from `start`, pushed back by the time spent waiting on the customer."""
    due = earliest(clock, start, limits)
    for began, ended in pauses:
        if began < due:
            due = clock.add_seconds(due, clock.working_seconds(began, ended or now))
    return due


def _legs(clock: Clockwork, stretches: Sequence[tuple[dt.datetime, TicketStatus]], status: TicketStatus,
          now: dt.datetime) -> tuple[int, int]:
    """Working seconds spent waiting on the customer, and with another department."""
    waiting = transferred = 0
    ends = [*(at for at, _ in stretches[1:]), now if status in OPEN else stretches[-1][0]]
    for (began, leg), ended in zip(stretches, ends, strict=True):
        if leg is TicketStatus.WAITING:
            waiting += clock.working_seconds(began, ended)
        elif leg is TicketStatus.TRANSFERRED:
            transferred += clock.working_seconds(began, ended)
    return waiting, transferred
