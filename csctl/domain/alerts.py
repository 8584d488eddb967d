"""`csctl alerts`: everything overdue now, for the person responsible (SPEC §3 time rules).

Each workflow contributes its alerts; tickets: a first response or a
resolution past its deadline, and callbacks due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from csctl.domain.deadlines import Clockwork, timing
from csctl.domain.tickets import readable_tickets
from csctl.models.config import LedgerConfig
from csctl.models.records import Ticket
from csctl.storage.store import Store


@dataclass(frozen=True)
class Alert:
    kind: str  # stable key: ticket.response, ticket.resolution, ticket.callback, record.unreadable
    record: str
    agent: str | None
    due: dt.datetime
    subject: str

    def late_by(self, now: dt.datetime) -> dt.timedelta:
        return now - self.due


def ticket_alerts(ticket: Ticket, config: LedgerConfig, clock: Clockwork, now: dt.datetime) -> Iterator[Alert]:
    t = timing(ticket, config.tickets, clock, now)
    if t.response_overdue:
        yield Alert("ticket.response", ticket.id, ticket.assignee, t.response_due, ticket.subject)
    if t.resolution_overdue and t.resolution_due is not None:
        yield Alert("ticket.resolution", ticket.id, ticket.assignee, t.resolution_due, ticket.subject)
    if t.callback_overdue and t.callback_due is not None:
        yield Alert("ticket.callback", ticket.id, t.callback_agent, t.callback_due, ticket.subject)


def all_alerts(store: Store, clock: Clockwork, now: dt.datetime) -> list[Alert]:
    """Everything due by `now`; a record that cannot be read is itself an alert."""
    config = store.ledger.config
    tickets, broken = readable_tickets(store)
    found = [a for ticket in tickets for a in ticket_alerts(ticket, config, clock, now)]
    found += [Alert("record.unreadable", store.ledger.relative(err.path), None, now,
                    f"{err.line}: {err.message}" if err.line else err.message) for err in broken]
    return sorted(found, key=lambda a: (a.due, a.record, a.kind))
