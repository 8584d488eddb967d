"""`csctl alerts`: everything overdue now, for the person responsible (SPEC §3 time rules).

Each workflow contributes its alerts. Tickets: a first response or a
resolution past its deadline, and callbacks due. Remittances: a payment notice
unverified past the limit (back to the agent who took the order), a paid
amount that differs from the order, a possible duplicate order, and register
days not signed off by a supervisor (or changed since). Remarks: refunds and
balance deductions left unregistered (`csctl.domain.remarks.remark_alerts`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from csctl.domain import indexing
from csctl.domain import remittances as remit_flow
from csctl.domain.deadlines import Clockwork, timing
from csctl.domain.privacy import mask_phones
from csctl.domain.remarks import remark_alerts
from csctl.domain.tickets import readable_tickets
from csctl.errors import RecordError
from csctl.i18n import msg
from csctl.models.base import format_money
from csctl.models.config import AgentEntry, LedgerConfig, Role
from csctl.models.kinds import REMARK, REMITTANCE, TICKET
from csctl.models.records import RegisterReview, Remittance, Ticket
from csctl.storage.index import Index
from csctl.storage.store import Store


@dataclass(frozen=True)
class Alert:
    # Stable keys: ticket.response, ticket.resolution, ticket.callback, remit.stale, remit.amount,
    # remit.duplicate, remit.unreviewed, refund.unregistered, balance.unregistered, record.unreadable.
    kind: str
    record: str
    agent: str | None
    due: dt.datetime
    subject: str
    # Addressed to everyone of a role (a register day waits for any supervisor), when `agent` is None.
    role: Role | None = None

    def addressed_to(self, agent: AgentEntry) -> bool:
        return self.agent == agent.id or (self.agent is None and self.role is agent.role)

    def late_by(self, now: dt.datetime) -> dt.timedelta:
        return now - self.due


def ticket_alerts(ticket: Ticket, config: LedgerConfig, clock: Clockwork, now: dt.datetime) -> Iterator[Alert]:
    t = timing(ticket, config.tickets, clock, now)
    subject = mask_phones(ticket.subject)  # a cron mail goes to every role
    if t.response_overdue:
        yield Alert("ticket.response", ticket.id, ticket.assignee, t.response_due, subject)
    if t.resolution_overdue and t.resolution_due is not None:
        yield Alert("ticket.resolution", ticket.id, ticket.assignee, t.resolution_due, subject)
    if t.callback_overdue and t.callback_due is not None:
        yield Alert("ticket.callback", ticket.id, t.callback_agent, t.callback_due, subject)


def remittance_alerts(store: Store, due: list[Remittance], unfinished: list[Remittance],
                      digests: dict[dt.date, dict[str, str]], now: dt.datetime,
                      reviews: tuple[dict[str, RegisterReview], list[RecordError]] | None = None) -> Iterator[Alert]:
    """From the remittances that may be due (`due`), the open ones (`unfinished`, for duplicates), and each
    register day's digests with its review (`reviews`, default every review on file); passing every
    remittance for both, every day and every review is always right, only slower."""
    config = store.ledger.config
    clock = remit_flow.verify_clock(config)
    for remit in due:
        subject = f"{remit.buyer} {format_money(remit.amount)}"
        verify_by = remit_flow.verify_due(remit, config, clock)
        if verify_by is not None and remit_flow.stale(remit, config, now, clock):
            yield Alert("remit.stale", remit.id, remit.agent, verify_by, subject)
        total = remit_flow.paid_total(remit)
        if remit.status is remit_flow.PAID and total != remit.amount:
            notice = next(e for e in remit.events if e.action == "paid")
            yield Alert("remit.amount", remit.id, remit.agent, notice.at,
                        msg("remit.amount_differs", id=remit.id, paid=format_money(total),
                            amount=format_money(remit.amount)))
    by_id = {r.id: r for r in unfinished}
    for pair in remit_flow.duplicates(unfinished, config):
        second = by_id[pair.second]
        yield Alert("remit.duplicate", second.id, second.agent, second.created,
                    msg(f"remit.duplicate_{pair.reason}", id=second.id, other=pair.first))
    today = now.astimezone(config.tz).date()
    signed, broken = reviews if reviews is not None else remit_flow.readable_reviews(store)
    yield from unreadable(store, broken, now)
    for day, state in remit_flow.unreviewed_days(config, digests, signed, today):
        end = remit_flow.day_bounds(day, config)[1]
        subject = (msg("remit.review_changed", ids=", ".join(state.changed)) if state.review
                   else msg("remit.review_missing"))
        yield Alert("remit.unreviewed", day.isoformat(), None, end, subject, Role.SUPERVISOR)


def all_alerts(store: Store, clock: Clockwork, now: dt.datetime, index: Index | None = None) -> list[Alert]:
    """Everything due by `now`; a record that cannot be read is itself an alert.

    With the index only the records that may be due are read (see `csctl.domain.indexing`).
    """
    config = store.ledger.config
    if index is None:
        tickets, broken = readable_tickets(store)
        remits, broken_remits = remit_flow.readable_remittances(store)
        found = [*remittance_alerts(store, remits, remits, remit_flow.day_digests(remits, config), now),
                 *remark_alerts(store, now)]
    else:
        tickets, broken = readable_tickets(store, indexing.due_by(index, TICKET, now))
        due, broken_remits = remit_flow.readable_remittances(store, indexing.due_by(index, REMITTANCE, now))
        unfinished, _ = remit_flow.readable_remittances(store, indexing.unfinished(index, REMITTANCE))
        # Only the days whose review is missing or signed other digests are looked at, with their reviews.
        digests, review_files = indexing.days_to_review(index)
        reviews = remit_flow.readable_reviews(store, review_files)
        found = [*remittance_alerts(store, due, unfinished, digests, now, reviews),
                 *remark_alerts(store, now, indexing.due_by(index, REMARK, now))]
    found += [a for ticket in tickets for a in ticket_alerts(ticket, config, clock, now)]
    found += unreadable(store, [*broken, *broken_remits], now)
    return sorted(found, key=lambda a: (a.due, a.record, a.kind))


def unreadable(store: Store, broken: list[RecordError], now: dt.datetime) -> list[Alert]:
    """A record that cannot be read is itself an alert, so that it never silences cron."""
    return [Alert("record.unreadable", store.ledger.relative(err.path), None, now,
                  f"{err.line}: {err.message}" if err.line else err.message) for err in broken]
