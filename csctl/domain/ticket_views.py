"""Reading tickets in bulk: the filters of `ticket list`, and each agent's open load (seed 004 工单分配).

A listing reads the tickets' briefs (`csctl.domain.briefs`): the fields it shows and filters by, and the
history the deadlines walk, kept by the index (or made from the files without one).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from csctl.domain.briefs import TicketBrief
from csctl.domain.deadlines import Clockwork, Timing, timing
from csctl.domain.tickets import OPEN
from csctl.models.config import LedgerConfig
from csctl.models.kinds import TICKET
from csctl.models.records import TicketStatus, Urgency


@dataclass(frozen=True)
class TicketFilter:
    statuses: frozenset[TicketStatus] = frozenset()
    open_only: bool = False
    overdue: bool = False
    # field name -> the stored value it must have (kind, channel, urgency, region, assignee, customer)
    equal: dict[str, str] = field(default_factory=dict)
    since: dt.date | None = None
    until: dt.date | None = None

    def admits(self, ticket: TicketBrief, t: Timing, day: dt.date) -> bool:
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

    def count(self, ticket: TicketBrief) -> None:
        if ticket.status in OPEN:
            self.open[ticket.assignee or ""] += 1
            if ticket.urgency in (Urgency.HIGH, Urgency.URGENT):
                self.pressing[ticket.assignee or ""] += 1


def admitted(tickets: Iterable[TicketBrief], wanted: TicketFilter, config: LedgerConfig, clock: Clockwork,
             now: dt.datetime, load: Load) -> Iterator[tuple[TicketBrief, Timing]]:
    """The tickets `wanted` admits, each with where it stands, as they are taken; every open one counted in
    `load` on the way."""
    for ticket in tickets:
        load.count(ticket)
        t = timing(ticket, config.tickets, clock, now)
        if wanted.admits(ticket, t, ticket.created.astimezone(config.tz).date()):
            yield ticket, t


def candidates(wanted: TicketFilter, now: dt.datetime, tz: dt.tzinfo) -> list[tuple[str, tuple[Any, ...]]]:
    """The conditions (for `Index.briefs`) of the tickets a listing reads: every open one (the load line
    counts them all; the unreadable with them, for the listing to say it left them out), and the finished
    ones whose facts do not rule out `wanted`."""
    from csctl.domain.indexing import matching

    every_open = ("kind = ? AND finished = 0", (TICKET.name,))
    finished = {status.value for status in wanted.statuses if status not in OPEN}
    if wanted.open_only or (wanted.statuses and not finished):
        return [every_open]
    return [every_open, matching(TICKET, tz, equal={name: wanted.equal.get(name) for name in ("customer", "assignee")},
                                 one_of={"status": finished} if finished else None, created_from=wanted.since,
                                 created_to=wanted.until, due_by=now if wanted.overdue else None)]
