"""Reading tickets in bulk: the filters of `ticket list`, and each agent's open load (seed 004 工单分配)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from csctl.domain.deadlines import Clockwork, Timing, timing
from csctl.domain.tickets import OPEN
from csctl.models.config import LedgerConfig
from csctl.models.records import Ticket, TicketStatus, Urgency


@dataclass(frozen=True)
class TicketFilter:
    statuses: frozenset[TicketStatus] = frozenset()
    open_only: bool = False
    overdue: bool = False
    # field name -> the stored value it must have (kind, channel, urgency, region, assignee, customer)
    equal: dict[str, str] = field(default_factory=dict)
    since: dt.date | None = None
    until: dt.date | None = None

    def admits(self, ticket: Ticket, t: Timing, day: dt.date) -> bool:
        return not (
            (self.statuses and ticket.status not in self.statuses)
            or (self.open_only and ticket.status not in OPEN)
            or any(str(getattr(ticket, name) or "") != value for name, value in self.equal.items())
            or (self.since and day < self.since)
            or (self.until and day > self.until)
            or (self.overdue and not t.overdue)
        )


@dataclass
class Load:
    """Open tickets per assignee ("" for nobody yet), and how many of them are high or urgent."""

    open: Counter[str] = field(default_factory=Counter)
    pressing: Counter[str] = field(default_factory=Counter)

    def count(self, ticket: Ticket) -> None:
        if ticket.status in OPEN:
            self.open[ticket.assignee or ""] += 1
            if ticket.urgency in (Urgency.HIGH, Urgency.URGENT):
                self.pressing[ticket.assignee or ""] += 1


def select(tickets: list[Ticket], wanted: TicketFilter, config: LedgerConfig, clock: Clockwork,
           now: dt.datetime) -> tuple[list[tuple[Ticket, Timing]], Load]:
    """The tickets `wanted` admits with where they stand, and the load of every open one."""
    chosen: list[tuple[Ticket, Timing]] = []
    load = Load()
    for ticket in tickets:
        load.count(ticket)
        t = timing(ticket, config.tickets, clock, now)
        if wanted.admits(ticket, t, ticket.created.astimezone(config.tz).date()):
            chosen.append((ticket, t))
    return chosen, load
