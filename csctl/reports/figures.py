"""Every figure of a report, computed from the records as the period left them.

A record counts in a period by what happened in it: a ticket is *opened* on
the day it was created, *resolved* on the day of a resolution, and so on, all
in the ledger's time zone. Deadlines are judged as the period's end found the
ticket, by the same `timing` that `alerts` and `ticket show` use, so a report
never disagrees with them.

工单处理及时率 (the on-time rate): of the tickets whose first resolution fell in
the period, or whose resolution was due in the period and is still missing,
the share resolved by the deadline.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from csctl.domain import remittances as remit_flow
from csctl.domain.briefs import Settled, TicketBrief
from csctl.domain.deadlines import Clockwork, Timing, clockwork, timing
from csctl.domain.privacy import mask_phones
from csctl.domain.tickets import EventView, cited_entries
from csctl.models.config import LedgerConfig, Role
from csctl.models.records import (
    CallbackOutcome,
    Remark,
    Remittance,
    RemittanceStatus,
    TicketKind,
    TicketStatus,
    Verdict,
)
from csctl.reports.periods import Period

ZERO = Decimal("0.00")
DONE = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


def ratio(part: int, whole: int) -> Decimal | None:
    """A share to four places (0.8750), None when there is nothing to share."""
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP) if whole else None


def mean(values: list[int]) -> Decimal | None:
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(Decimal("0.01"), ROUND_HALF_UP) if values else None


@dataclass
class Flow:
    """Tickets opened, resolved and closed."""

    opened: int = 0
    resolved: int = 0
    closed: int = 0

    def add(self, opened: bool, resolved: bool, closed: bool) -> None:
        self.opened += opened
        self.resolved += resolved
        self.closed += closed


@dataclass(frozen=True)
class Late:
    """A ticket that missed its resolution deadline (resolved late, or still open past it)."""

    id: str
    kind: TicketKind
    assignee: str | None
    due: dt.datetime
    resolved_at: dt.datetime | None
    subject: str


@dataclass
class TicketFigures:
    total: Flow = field(default_factory=Flow)
    by_kind: dict[str, Flow] = field(default_factory=lambda: defaultdict(Flow))
    by_channel: dict[str, Flow] = field(default_factory=lambda: defaultdict(Flow))
    by_region: dict[str, Flow] = field(default_factory=lambda: defaultdict(Flow))
    by_agent: dict[str, Flow] = field(default_factory=lambda: defaultdict(Flow))
    complaints: Counter[str] = field(default_factory=Counter)  # verdict -> judged in the period
    measured: int = 0
    on_time: int = 0
    late: list[Late] = field(default_factory=list)
    callbacks: int = 0
    callbacks_reached: int = 0
    satisfaction: list[int] = field(default_factory=list)
    kb_uses: Counter[str] = field(default_factory=Counter)
    opened_per_day: Counter[dt.date] = field(default_factory=Counter)

    @property
    def on_time_rate(self) -> Decimal | None:
        return ratio(self.on_time, self.measured)

    @property
    def average_satisfaction(self) -> Decimal | None:
        return mean(self.satisfaction)


@dataclass(frozen=True, eq=False)
class Standing:
    """Where a ticket stood against its first deadline when a period ended."""

    timing: Timing | Settled
    assignee: str | None  # as of the period's end, not now
    resolved_in: bool  # first resolved within the period
    missing: bool  # due within the period and still unresolved at its end


class Window:
    """A period's [start, end), also as seen from the fixed offsets of the stamps compared with it.

    Datetimes of one tzinfo compare as wall-clock times, ~15x cheaper than across zones, and a report
    compares every event of thousands of tickets with its period (issue #8). Records carry fixed
    offsets (`datetime.timezone`, no fold to lose), so the shifted bounds compare exactly the same.
    """

    def __init__(self, start: dt.datetime, end: dt.datetime) -> None:
        self.start, self.end = start, end
        self._shifted: dict[dt.tzinfo | None, tuple[dt.datetime, dt.datetime]] = {}

    def like(self, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """(start, end) in `moment`'s zone when that is a fixed offset, else as given."""
        zone = moment.tzinfo
        bounds = self._shifted.get(zone)
        if bounds is None:
            bounds = self._shifted[zone] = ((self.start.astimezone(zone), self.end.astimezone(zone))
                                            if type(zone) is dt.timezone else (self.start, self.end))
        return bounds


def standing(ticket: TicketBrief, config: LedgerConfig, clock: Clockwork, window: Window) -> Standing | None:
    """The ticket as the period's end found it (later events left out); None if nothing had happened yet.
    `clock`: the ledger's (`clockwork(config)`), which the settled deadline a brief keeps was worked out by.

    A complaint judged invalid is closed without a resolution: it neither meets nor misses a deadline.
    """
    start, end = window.like(ticket.created)
    before = [e for e in ticket.events if e.at < end]
    if not before:
        return None
    t: Timing | Settled
    if len(before) < len(ticket.events):
        t = timing(ticket._replace(events=tuple(before), settled=None), config.tickets, clock, window.end)
    elif ticket.settled is not None:  # the whole history, its first cycle ended: worked out once, in the brief
        t = ticket.settled
    else:
        t = timing(ticket, config.tickets, clock, window.end)
    if any(e.action == "judged" and e.extras.get("verdict") == Verdict.INVALID for e in before):
        return Standing(t, t.assignee, False, False)
    resolved_in = t.first_resolved_at is not None and start <= t.first_resolved_at < end
    open_at_end = t.resolution_running or t.waiting
    missing = t.first_resolved_at is None and open_at_end and start <= t.first_resolution_due < end
    return Standing(t, t.assignee, resolved_in, missing)


class Standings:
    """Tickets' standings at periods' ends, each worked out once for one report: a monthly report judges
    every ticket's deadline for its figures and again for its performance table.

    Build one per report, never keep one longer: a standing is the records as they were read.
    """

    def __init__(self, config: LedgerConfig) -> None:
        self.config = config
        self.clock = clockwork(config)
        # Keyed by the ticket object, which the entry keeps alive, so its id() names no other ticket
        # (two files may hold copies of one ticket ID).
        self._known: dict[tuple[int, dt.datetime, dt.datetime], tuple[TicketBrief, Standing | None]] = {}

    def judged(self, ticket: TicketBrief, window: Window) -> Standing | None:
        """The ticket's standing at the window's end, or None when its deadline tells nothing about the
        window: nothing had happened by its end, or its first cycle ended before its start (first
        resolved, or judged invalid: neither then met nor missed in the window, nor open and late at its end)."""
        key = (id(ticket), window.start, window.end)
        known = self._known.get(key)
        if known is None:
            start, _ = window.like(ticket.created)
            first_end = None if ticket.settled is None else ticket.settled.first_resolved_at
            stood = None if first_end is not None and first_end < start else standing(
                ticket, self.config, self.clock, window)
            known = self._known[key] = (ticket, stood)
        return known[1]


def _closes(event: EventView) -> bool:
    return event.action == "closed" or (event.action == "judged" and event.extras.get("verdict") == Verdict.INVALID)


def _reopens(event: EventView) -> bool:
    """Sends a resolved ticket back to work: a reopening, or a callback the customer rejected (重新处理)."""
    return event.action == "reopened" or (event.action == "callback" and not event.extras.get("retry_by")
                                          and event.extras.get("outcome") == CallbackOutcome.REJECTED)


def ticket_figures(tickets: Iterable[TicketBrief], period: Period, config: LedgerConfig,
                   standings: Standings | None = None) -> TicketFigures:
    standings = standings or Standings(config)
    window = Window(*period.bounds(config.tz))
    out = TicketFigures()
    for ticket in tickets:
        start, end = window.like(ticket.created)
        if _untouched(ticket, start, end):
            continue
        during = [e for e in ticket.events if start <= e.at < end]
        opened = start <= ticket.created < end
        resolved_by = [e.by for e in during if e.action == "resolved"]
        closed_by = [e.by for e in during if _closes(e)]
        if opened or resolved_by or closed_by:
            for flow in (out.total, out.by_kind[ticket.kind.value], out.by_channel[ticket.channel.value],
                         out.by_region[ticket.region or "-"]):
                flow.add(opened, bool(resolved_by), bool(closed_by))
        if opened:
            out.by_agent[ticket.events[0].by].opened += 1
            out.opened_per_day[ticket.created.astimezone(config.tz).date()] += 1
        for who in set(resolved_by):
            out.by_agent[who].resolved += 1
        for who in set(closed_by):
            out.by_agent[who].closed += 1
        for event in during:
            if event.action == "judged":
                out.complaints[str(event.extras.get("verdict"))] += 1
            elif event.action == "callback":
                out.callbacks += 1
                out.callbacks_reached += event.extras.get("outcome") != CallbackOutcome.UNREACHABLE
                if isinstance(event.extras.get("satisfaction"), int):
                    out.satisfaction.append(event.extras["satisfaction"])
            elif event.action == "resolved":
                out.kb_uses.update(cited_entries(event))
        _judge_deadline(out, ticket, standings.judged(ticket, window), window.end)
    return out


def _untouched(ticket: TicketBrief, start: dt.datetime, end: dt.datetime) -> bool:
    """Begun after the period, or resolved or closed before it: nothing to count, no deadline to judge."""
    return ticket.earliest >= end or (ticket.status in DONE and ticket.latest < start)


def _judge_deadline(out: TicketFigures, ticket: TicketBrief, stood: Standing | None, end: dt.datetime) -> None:
    if stood is None:
        return
    t = stood.timing
    if stood.resolved_in or stood.missing:
        out.measured += 1
        if stood.resolved_in and t.resolution_met:
            out.on_time += 1
    late_resolution = stood.resolved_in and not t.resolution_met
    # Open at the end, not waiting on the customer, and past the first deadline.
    still_open_late = t.first_resolved_at is None and t.resolution_running and t.first_resolution_due < end
    if late_resolution or still_open_late:
        out.late.append(Late(ticket.id, ticket.kind, stood.assignee, t.first_resolution_due, t.first_resolved_at,
                             mask_phones(ticket.subject)))  # a report has no --reveal: it goes to every role


def deadline_rule(config: LedgerConfig) -> dict[str, str]:
    """The rule the on-time rate was judged by, for the reader of a report."""
    return {"count": config.tickets.count, **config.tickets.resolution}


# ----- remittances ----------------------------------------------------------------------------

@dataclass
class RemittanceFigures:
    rows: list[remit_flow.RegisterRow]
    by_state: dict[RemittanceStatus, remit_flow.StateTotal]
    created: int
    created_amount: Decimal
    stale: list[str]  # notices unverified past the limit at the period's end


def remittance_figures(remits: list[Remittance], period: Period, config: LedgerConfig) -> RemittanceFigures:
    start, end = period.bounds(config.tz)
    rows = remit_flow.activity_rows(remits, start, end)
    created = [r for r in remits if start <= r.created < end]
    clock = remit_flow.verify_clock(config)
    stale = []
    for remit in remits:
        state = remit_flow.state_at(remit, end)
        if state is None:
            continue
        earlier = [e for e in remit.events if e.at < end]
        snapshot = remit.model_copy(update={"events": earlier, "status": state.status})
        if remit_flow.stale(snapshot, config, end, clock):
            stale.append(remit.id)
    return RemittanceFigures(rows, remit_flow.totals(rows), len(created), sum((r.amount for r in created), ZERO),
                             stale)


# ----- the performance table (绩效考核表) ---------------------------------------------------------

@dataclass
class AgentRow:
    agent: str
    name: str
    handled: int = 0  # tickets resolved by the agent in the period
    measured: int = 0
    on_time: int = 0
    satisfaction: list[int] = field(default_factory=list)
    callbacks: int = 0
    reopened: int = 0  # of the tickets handled, reopened afterwards
    kb_uses: int = 0
    remarks: int = 0
    remittances: int = 0  # remittances the agent registered or moved in the period

    @property
    def on_time_rate(self) -> Decimal | None:
        return ratio(self.on_time, self.measured)

    @property
    def average_satisfaction(self) -> Decimal | None:
        return mean(self.satisfaction)

    @property
    def reopen_rate(self) -> Decimal | None:
        return ratio(self.reopened, self.handled)

    @property
    def active(self) -> bool:
        return any((self.handled, self.callbacks, self.remarks, self.remittances, self.measured))


def agent_rows(tickets: Iterable[TicketBrief], remits: Iterable[Remittance], remarks: Iterable[Remark],
               period: Period, config: LedgerConfig, standings: Standings | None = None) -> list[AgentRow]:
    """One row per person on the roster who works cases (viewers left out), in roster order."""
    standings = standings or Standings(config)
    window = Window(*period.bounds(config.tz))
    rows = {a.id: AgentRow(a.id, a.name) for a in config.agents if a.role is not Role.VIEWER}

    def row(who: str) -> AgentRow:
        return rows.setdefault(who, AgentRow(who, who))

    for ticket in tickets:
        start, end = window.like(ticket.created)
        if _untouched(ticket, start, end):
            continue
        resolver: str | None = None
        handled_here: set[str] = set()
        for event in ticket.events:
            if event.at >= end:
                continue
            if event.action == "resolved":
                resolver = event.by
                if event.at >= start:
                    handled_here.add(event.by)
                    row(event.by).kb_uses += len(cited_entries(event))
            elif event.at >= start and event.action == "callback":
                row(event.by).callbacks += 1
                score = event.extras.get("satisfaction")
                if isinstance(score, int) and resolver is not None:
                    row(resolver).satisfaction.append(score)
        for who in handled_here:
            row(who).handled += 1
            last = max(e.at for e in ticket.events if e.action == "resolved" and e.by == who and start <= e.at < end)
            if any(_reopens(e) and last < e.at < end for e in ticket.events):
                row(who).reopened += 1
        stood = standings.judged(ticket, window)
        first = next((e for e in ticket.events if e.action == "resolved"), None)
        if stood is not None and stood.resolved_in and first is not None:
            row(first.by).measured += 1
            row(first.by).on_time += bool(stood.timing.resolution_met)
        elif stood is not None and stood.missing and stood.assignee:
            row(stood.assignee).measured += 1
    for remit in remits:
        start, end = window.like(remit.created)
        for who in {e.by for e in remit.events if start <= e.at < end}:
            row(who).remittances += 1
    for remark in remarks:
        start, end = window.like(remark.at)
        if start <= remark.at < end:
            row(remark.by).remarks += 1
    return list(rows.values())
