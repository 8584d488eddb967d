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
from dataclasses import dataclass
from typing import Protocol

from csctl.domain.calendar import WorkCalendar
from csctl.domain.tickets import OPEN, RESPONSES, Derived, apply_event
from csctl.models.config import Duration, LedgerConfig, TicketSettings
from csctl.models.records import CallbackOutcome, Ticket, TicketStatus


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


def earliest(clock: Clockwork, start: dt.datetime, limits: list[Duration]) -> dt.datetime:
    """The deadline of the strictest limit: a day and eight hours compare only on a calendar."""
    return min(add_limit(clock, start, limit) for limit in limits)


@dataclass(frozen=True)
class Timing:
    """Where a ticket stands against its deadlines at `now`."""

    response_due: dt.datetime
    responded_at: dt.datetime | None
    resolution_due: dt.datetime | None  # of the current cycle; None while waiting on the customer
    first_resolution_due: dt.datetime
    first_resolved_at: dt.datetime | None
    resolved_at: dt.datetime | None  # of the latest cycle
    waiting: bool
    waiting_seconds: int
    transferred_seconds: int
    callback_due: dt.datetime | None
    callback_agent: str | None
    callbacks: int  # attempts
    callbacks_reached: int
    satisfaction: int | None  # of the latest callback that gave one
    reopened: int
    now: dt.datetime

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


def timing(ticket: Ticket, settings: TicketSettings, clock: Clockwork, now: dt.datetime) -> Timing:
    kind, urgency = ticket.kind.value, ticket.urgency.value
    response_limits = settings.limits("response", kind, urgency)
    resolution_limits = settings.limits("resolution", kind, urgency)

    # Status after each event, to know which leg each stretch of time belongs to.
    state = Derived()
    stretches: list[tuple[dt.datetime, TicketStatus]] = []
    responded_at: dt.datetime | None = None
    cycle_start = ticket.created
    cycle_pauses: list[tuple[dt.datetime, dt.datetime | None]] = []
    first_due: dt.datetime | None = None
    first_resolved: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    callback_due: dt.datetime | None = None
    callback_agent: str | None = None
    callbacks = reached = reopened = 0
    satisfaction: int | None = None

    for index, event in enumerate(ticket.events):
        before = state.status
        if index:
            apply_event(ticket.id, ticket.kind, state, event)
        stretches.append((event.at, state.status))
        if index and responded_at is None and event.action in RESPONSES:
            responded_at = event.at
        if state.status is TicketStatus.WAITING and before is not TicketStatus.WAITING:
            cycle_pauses.append((event.at, None))
        elif before is TicketStatus.WAITING and state.status is not TicketStatus.WAITING:
            cycle_pauses[-1] = (cycle_pauses[-1][0], event.at)
        ends_cycle = event.action == "resolved" or (
            event.action == "judged" and event.extras.get("verdict") == "invalid"  # explained, and closed
        )
        if ends_cycle:
            due = _resolution_due(clock, cycle_start, resolution_limits, cycle_pauses, now)
            if first_resolved is None:
                first_resolved, first_due = event.at, due
            resolved_at = event.at
        if event.action == "resolved":
            callback_agent = state.assignee
            callback_due = (add_limit(clock, event.at, Duration.parse(settings.callback))
                            if kind in settings.callback_kinds else None)
        elif event.action == "callback":
            callbacks += 1
            outcome = event.extras.get("outcome")
            score = event.extras.get("satisfaction")
            if outcome != CallbackOutcome.UNREACHABLE:
                reached += 1
            if isinstance(score, int):
                satisfaction = score
            if outcome == CallbackOutcome.ACCEPTED:
                callback_due = None
            elif outcome == CallbackOutcome.UNREACHABLE or event.extras.get("retry_by"):
                callback_agent = event.extras.get("retry_by") or event.by
                callback_due = add_limit(clock, event.at, Duration.parse(settings.callback_retry))
            else:  # rejected: the ticket is handled again (客户不满意的,应重新处理)
                callback_due = None
        if state.status in OPEN and before not in OPEN and index:
            reopened += 1
            cycle_start, cycle_pauses, resolved_at = event.at, [], None
            callback_due = None

    waiting_now = state.status is TicketStatus.WAITING
    resolution_due = None
    if state.status in OPEN and not waiting_now:
        resolution_due = _resolution_due(clock, cycle_start, resolution_limits, cycle_pauses, now)
    if first_due is None:  # still in the first cycle
        first_due = _resolution_due(clock, ticket.created, resolution_limits, cycle_pauses, now)
    waiting_seconds, transferred_seconds = _legs(clock, stretches, state.status, now)
    return Timing(
        response_due=earliest(clock, ticket.created, response_limits),
        responded_at=responded_at,
        resolution_due=resolution_due,
        first_resolution_due=first_due,
        first_resolved_at=first_resolved,
        resolved_at=resolved_at,
        waiting=waiting_now,
        waiting_seconds=waiting_seconds,
        transferred_seconds=transferred_seconds,
        callback_due=callback_due,
        callback_agent=callback_agent,
        callbacks=callbacks,
        callbacks_reached=reached,
        satisfaction=satisfaction,
        reopened=reopened,
        now=now,
    )


def _resolution_due(clock: Clockwork, start: dt.datetime, limits: list[Duration],
                    pauses: list[tuple[dt.datetime, dt.datetime | None]], now: dt.datetime) -> dt.datetime:
    """The deadline from `start`, pushed back by the time spent waiting on the customer."""
    due = earliest(clock, start, limits)
    for began, ended in pauses:
        if began < due:
            due = clock.add_seconds(due, clock.working_seconds(began, ended or now))
    return due


def _legs(clock: Clockwork, stretches: list[tuple[dt.datetime, TicketStatus]], status: TicketStatus,
          now: dt.datetime) -> tuple[int, int]:
    """Working seconds spent waiting on the customer, and with another department."""
    waiting = transferred = 0
    ends = [at for at, _ in stretches[1:]] + [now if status in OPEN else stretches[-1][0]]
    for (began, leg), ended in zip(stretches, ends, strict=True):
        if leg is TicketStatus.WAITING:
            waiting += clock.working_seconds(began, ended)
        elif leg is TicketStatus.TRANSFERRED:
            transferred += clock.working_seconds(began, ended)
    return waiting, transferred
