"""`csctl ticket …`: intake, judgement, assignment, handling, callback, reading."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

from csctl.cli.context import App, pass_app
from csctl.cli.options import at_option, format_option
from csctl.cli.render import Column, display, fields_text, rows_text, timeline, to_json
from csctl.domain import tickets as flow
from csctl.domain.auth import require
from csctl.domain.clock import parse_moment
from csctl.domain.privacy import masked, masked_events
from csctl.i18n import enum_label, label, msg
from csctl.models.kinds import CUSTOMER, TICKET
from csctl.models.records import CallbackOutcome, Channel, Ticket, TicketKind, TicketStatus, Urgency, Verdict

# Deadlines, listing filters and the phrase book are imported by the commands that use them:
# `ticket new` and the moves need none of them (~4 ms).
if TYPE_CHECKING:
    from csctl.domain.briefs import TicketBrief
    from csctl.domain.ticket_views import TicketFilter
    from csctl.errors import RecordError
    from csctl.models.base import Event

KINDS = click.Choice([k.value for k in TicketKind])
CHANNELS = click.Choice([c.value for c in Channel])
URGENCIES = click.Choice([u.value for u in Urgency])
STATUSES = click.Choice([s.value for s in TicketStatus])


@click.group()
def ticket() -> None:
    """Tickets (工单): intake, judgement, assignment, handling, callback (SPEC §3)."""


def _screen(app: App, action: str, field: str, text: str | None, strict: bool) -> list[str]:
    """Forbidden words in what the customer is told: refused when strict, else warnings to print
    once the change is written. The role is checked first, so a refusal names the role."""
    from csctl.domain.phrases import Phrases, screen

    require(app.actor, action)
    phrases = Phrases.from_template(app.ledger.template("phrases.toml"))
    return screen(phrases, field, text, strict or app.ledger.config.tickets.strict_language)


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(f"csctl: {warning}", err=True)


strict_option = click.option("--strict", is_flag=True, help="Refuse forbidden words instead of warning.")


@ticket.command("new")
@click.option("--kind", required=True, type=KINDS)
@click.option("--channel", required=True, type=CHANNELS)
@click.option("--subject", required=True, help="One line: what the customer wants.")
@click.option("--description", help="The problem in the customer's words.")
@click.option("--urgency", type=URGENCIES, default="normal", show_default=True)
@click.option("--region", help="Region or street (for reports by area).")
@click.option("--customer", "customer_id", metavar="ID", help="A customer on file.")
@click.option("--caller", help="The caller's name, when not on file.")
@click.option("--phone", help="Contact number.")
@click.option("--follows", metavar="ID", help="The ticket this one follows up (跟进个案).")
@click.option("--when", "occurred", help="5W1H: when it happened.")
@click.option("--who", help="5W1H: who is concerned.")
@click.option("--where", help="5W1H: where.")
@click.option("--what", help="5W1H: what happened.")
@click.option("--why", help="5W1H: why.")
@click.option("--how", help="5W1H: how it should be handled.")
@click.option("--cause", help="Complaint: the real cause (真正原因).")
@click.option("--wanted", help="Complaint: the remedy the customer wants.")
@click.option("--take", is_flag=True, help="Take the new ticket yourself.")
@at_option
@pass_app
def ticket_new(app: App, /, customer_id: str | None, follows: str | None, take: bool, at: str | None,
               **fields: Any) -> None:
    """Open a ticket; prints its ID alone."""
    store = app.store
    values = {k: v for k, v in fields.items() if v not in (None, "")}
    if customer_id:
        values["customer"] = store.resolve_id(CUSTOMER, customer_id)
    origin = store.resolve_id(TICKET, follows) if follows else None
    created = flow.open_ticket(store, app.actor, app.moment(at), values, follows=origin, taken=take)
    click.echo(created.id)


@ticket.command("judge")
@click.argument("ticket_id", metavar="ID")
@click.option("--valid", "verdict", flag_value="valid", help="The complaint is justified (投诉成立).")
@click.option("--invalid", "verdict", flag_value="invalid", help="It is not: explain and close.")
@click.option("--dept", help="Valid: the responsible department it goes to.")
@click.option("--explanation", help="Invalid: what the customer was told.")
@strict_option
@at_option
@pass_app
def ticket_judge(app: App, ticket_id: str, verdict: str | None, dept: str | None, explanation: str | None,
                 strict: bool, at: str | None) -> None:
    """Judge a complaint: valid goes to the responsible department, invalid is explained and closed."""
    if verdict is None:
        raise click.UsageError("give --valid or --invalid")
    warnings = _screen(app, "ticket.judge", "--explanation", explanation, strict)
    app.change(TICKET, ticket_id, at, lambda t, w: flow.judge(t, app.actor, w, valid=verdict == "valid",
                                                       department=dept, explanation=explanation))
    _warn(warnings)


@ticket.command("assign")
@click.argument("ticket_id", metavar="ID")
@click.option("--to", "agent_id", required=True, metavar="AGENT")
@at_option
@pass_app
def ticket_assign(app: App, ticket_id: str, agent_id: str, at: str | None) -> None:
    """Assign (or reassign) a ticket to an agent (supervisor)."""
    app.change(TICKET, ticket_id, at, lambda t, w: flow.assign(t, app.actor, w, app.ledger.config, agent_id))


@ticket.command("take")
@click.argument("ticket_id", metavar="ID")
@at_option
@pass_app
def ticket_take(app: App, ticket_id: str, at: str | None) -> None:
    """Take an unassigned ticket yourself."""
    app.change(TICKET, ticket_id, at, lambda t, w: flow.take(t, app.actor, w))


@ticket.command("note")
@click.argument("ticket_id", metavar="ID")
@click.argument("text")
@at_option
@pass_app
def ticket_note(app: App, ticket_id: str, text: str, at: str | None) -> None:
    """Add a note to the history."""
    app.change(TICKET, ticket_id, at, lambda t, w: flow.note(t, app.actor, w, text))


@ticket.command("transfer")
@click.argument("ticket_id", metavar="ID")
@click.option("--to", "target", required=True, metavar="DEPT_OR_AGENT",
              help="An agent ID (e.g. tech support) or a department's name.")
@click.option("--reason", required=True)
@at_option
@pass_app
def ticket_transfer(app: App, ticket_id: str, target: str, reason: str, at: str | None) -> None:
    """Hand the ticket to tech support or another department (投诉移交)."""
    app.change(TICKET, ticket_id, at, lambda t, w: flow.transfer(t, app.actor, w, app.ledger.config, target, reason))


@ticket.command("wait")
@click.argument("ticket_id", metavar="ID")
@click.option("--reason", required=True, help="What the customer is to send or decide.")
@at_option
@pass_app
def ticket_wait(app: App, ticket_id: str, reason: str, at: str | None) -> None:
    """Wait on the customer: the resolution clock pauses."""
    app.change(TICKET, ticket_id, at, lambda t, w: flow.wait(t, app.actor, w, reason))


@ticket.command("resume")
@click.argument("ticket_id", metavar="ID")
@click.option("--note", "note_text", help="What came back from the customer.")
@at_option
@pass_app
def ticket_resume(app: App, ticket_id: str, note_text: str | None, at: str | None) -> None:
    """Resume a ticket that waited on the customer."""
    app.change(TICKET, ticket_id, at, lambda t, w: flow.resume(t, app.actor, w, note_text))


@ticket.command("resolve")
@click.argument("ticket_id", metavar="ID")
@click.option("--solution", required=True, help="What the customer was told.")
@click.option("--kb", "kb_ids", multiple=True, metavar="ID", help="A knowledge-base entry used (repeatable).")
@strict_option
@at_option
@pass_app
def ticket_resolve(app: App, ticket_id: str, solution: str, kb_ids: tuple[str, ...], strict: bool,
                   at: str | None) -> None:
    """Record the resolution told to the customer."""
    from csctl.models.kinds import KB

    warnings = _screen(app, "ticket.handle", "--solution", solution, strict)
    from csctl.domain.kb import citable

    entries = [app.store.resolve_id(KB, k) for k in kb_ids]
    # Checked under the ticket's lock, so an entry retired meanwhile cannot be cited.
    app.change(TICKET, ticket_id, at, lambda t, w: flow.resolve(t, app.actor, w, solution, citable(app.store, entries)))
    _warn(warnings)


@ticket.command("callback")
@click.argument("ticket_id", metavar="ID")
@click.option("--accepted", "outcome", flag_value="accepted", help="The customer accepts the result.")
@click.option("--rejected", "outcome", flag_value="rejected", help="Not satisfied: handled again.")
@click.option("--unreachable", "outcome", flag_value="unreachable", help="No answer: try again later.")
@click.option("--satisfaction", type=click.IntRange(1, 5), help="1 (very unsatisfied) to 5 (very satisfied).")
@click.option("--note", "note_text")
@click.option("--retry-by", metavar="AGENT", help="Rejected: another agent calls again instead of reopening.")
@strict_option
@at_option
@pass_app
def ticket_callback(app: App, ticket_id: str, outcome: str | None, satisfaction: int | None,
                    note_text: str | None, retry_by: str | None, strict: bool, at: str | None) -> None:
    """Record a callback attempt (回访) and the customer's answer."""
    if outcome is None:
        raise click.UsageError("give --accepted, --rejected or --unreachable")
    warnings = _screen(app, "ticket.handle", "--note", note_text, strict)
    app.change(TICKET, ticket_id, at, lambda t, w: flow.callback(
        t, app.actor, w, app.ledger.config, outcome=CallbackOutcome(outcome), satisfaction=satisfaction,
        note_text=note_text, retry_by=retry_by))
    _warn(warnings)


@ticket.command("close")
@click.argument("ticket_id", metavar="ID")
@at_option
@pass_app
def ticket_close(app: App, ticket_id: str, at: str | None) -> None:
    """Close a resolved ticket."""
    app.change(TICKET, ticket_id, at, lambda t, w: flow.close(t, app.actor, w))


@ticket.command("reopen")
@click.argument("ticket_id", metavar="ID")
@click.option("--reason", required=True)
@at_option
@pass_app
def ticket_reopen(app: App, ticket_id: str, reason: str, at: str | None) -> None:
    """Reopen a resolved or closed ticket: the customer is not satisfied."""
    app.change(TICKET, ticket_id, at, lambda t, w: flow.reopen(t, app.actor, w, reason))


# ----- reading ----------------------------------------------------------------------------

LIST_COLUMNS = [
    Column("id", "h.id"),
    Column("created", "h.created"),
    Column("kind", "h.kind"),
    Column("urgency", "h.urgency"),
    Column("status", "h.status"),
    Column("assignee", "h.assignee"),
    Column("due", "h.due"),
    Column("late", "h.late", lambda late: msg("h.late") if late else ""),
    Column("subject", "h.subject"),
]


@ticket.command("list")
@click.option("--status", "statuses", type=STATUSES, multiple=True, help="Repeatable; default all.")
@click.option("--open", "open_only", is_flag=True, help="Only tickets not resolved or closed.")
@click.option("--agent", help="Assigned to this agent.")
@click.option("--kind", type=KINDS)
@click.option("--channel", type=CHANNELS)
@click.option("--urgency", type=URGENCIES)
@click.option("--region")
@click.option("--customer", "customer_id", metavar="ID")
@click.option("--from", "since", metavar="DATE", help="Created on or after this date.")
@click.option("--to", "until", metavar="DATE", help="Created on or before this date.")
@click.option("--overdue", is_flag=True, help="Only tickets past a deadline now.")
@format_option
@pass_app
def ticket_list(app: App, statuses: tuple[str, ...], open_only: bool, agent: str | None, kind: str | None,
                channel: str | None, urgency: str | None, region: str | None, customer_id: str | None,
                since: str | None, until: str | None, overdue: bool, style: str) -> None:
    """List tickets, oldest first, with each agent's open load below."""
    from csctl.domain.deadlines import clockwork
    from csctl.domain.ticket_views import Load, TicketFilter, admitted

    tz = app.ledger.config.tz
    given = {"kind": kind, "channel": channel, "urgency": urgency, "region": region,
             "assignee": app.roster_id(agent) if agent else None,
             "customer": app.store.resolve_id(CUSTOMER, customer_id) if customer_id else None}
    wanted = TicketFilter(
        statuses=frozenset(TicketStatus(s) for s in statuses), open_only=open_only, overdue=overdue,
        equal={k: v for k, v in given.items() if v is not None},
        since=parse_moment(since, tz, "--from").astimezone(tz).date() if since else None,
        until=parse_moment(until, tz, "--to").astimezone(tz).date() if until else None,
    )
    now = app.now()
    load = Load()
    # Each ticket's brief becomes its row as it is taken: once the index keeps their briefs, 60,000 tickets'
    # are not held at once (the files a listing must read, it reads first).
    with app.ledger.lock(exclusive=False, what="tickets"):
        tickets, broken = _tickets(app, wanted, now)
        rows = [masked({"id": t.id, "created": t.created, "kind": t.kind, "urgency": t.urgency, "status": t.status,
                        "assignee": t.assignee, "due": timing_.next_due, "late": timing_.overdue, "subject": t.subject})
                for t, timing_ in admitted(tickets, wanted, app.ledger.config, clockwork(app.ledger.config), now,
                                           load)]
    app.skipped("ticket", broken)
    click.echo(rows_text(rows, LIST_COLUMNS, style), nl=False)
    if style in ("table", "markdown") and load.open:
        parts = [f"{who or '-'} {count}"
                 + (f" ({msg('h.urgent_count', n=load.pressing[who])})" if load.pressing[who] else "")
                 for who, count in sorted(load.open.items(), key=lambda kv: (-kv[1], kv[0]))]
        click.echo(f"\n{msg('h.open_load')}: " + ", ".join(parts))


def _tickets(app: App, wanted: TicketFilter, now: dt.datetime) -> tuple[Iterator[TicketBrief], list[RecordError]]:
    """The briefs of the tickets a listing reads: every one, or with the index the open ones (the load line
    counts them all) and those the filter may admit; and the files left out (complete once all are taken)."""
    from csctl.domain.briefs import ticket_briefs
    from csctl.domain.ticket_views import candidates

    return ticket_briefs(app.store, app.index_of(TICKET), *candidates(wanted, now, app.ledger.config.tz))


def _show_data(app: App, record: Ticket, reveal: bool, events: list[Event]) -> dict[str, Any]:
    from csctl.domain.deadlines import clockwork, timing

    t = timing(record, app.ledger.config.tickets, clockwork(app.ledger.config), app.now())
    data = {k: v for k, v in record.model_dump(exclude={"events"}, exclude_none=True).items() if v != []}
    data = data if reveal else masked(data)
    data["timing"] = {
        "response_due": t.response_due, "responded_at": t.responded_at, "response_met": t.response_met,
        "resolution_due": t.resolution_due, "first_resolution_due": t.first_resolution_due,
        "first_resolved_at": t.first_resolved_at,
        "resolution_met": t.resolution_met, "waiting": t.waiting, "waiting_seconds": t.waiting_seconds,
        "transferred_seconds": t.transferred_seconds, "callback_due": t.callback_due,
        "callback_agent": t.callback_agent, "callbacks": t.callbacks, "callbacks_reached": t.callbacks_reached,
        "satisfaction": t.satisfaction, "reopened": t.reopened, "overdue": t.overdue,
    }
    data["events"] = [e.model_dump(exclude_none=True) for e in events]
    return data


@ticket.command("show")
@click.argument("ticket_id", metavar="ID")
@click.option("--reveal", is_flag=True, help="Show the contact number whole; recorded in the ticket's history.")
@format_option
@pass_app
def ticket_show(app: App, ticket_id: str, reveal: bool, style: str) -> None:
    """Every field, the deadlines, and the history (the contact number masked unless revealed)."""
    record: Ticket = app.shown(TICKET, ticket_id, flow.replayable, flow.record_reveal if reveal else None)
    events = record.events if reveal else masked_events(record.events)
    data = _show_data(app, record, reveal, events)
    if style == "json":
        click.echo(to_json(data), nl=False)
        return
    fields = [{"field": label(f"f.{k}", k), "value": _shown(k, v)}
              for k, v in data.items() if k not in ("events", "timing")]
    fields += [{"field": label(f"f.{k}", k), "value": _shown(k, v)} for k, v in data["timing"].items()
               if v not in (None, 0, False) or k in ("response_met", "resolution_met")]
    click.echo(fields_text(fields, style), nl=False)
    if style != "csv":
        click.echo("")
        click.echo(_timeline(events, style))


def _shown(key: str, value: Any) -> str:
    if key.endswith("_seconds") and isinstance(value, int):
        return f"{value // 3600}:{value % 3600 // 60:02d}"
    if value is None and key.endswith("_met"):
        return "…"
    return display(value)


# Event values shown by their label rather than their stored key.
_LABELLED: dict[str, Callable[[str], str]] = {
    "outcome": lambda v: enum_label(CallbackOutcome(v)),
    "verdict": lambda v: enum_label(Verdict(v)),
    "target": lambda v: msg(f"target.{v}"),
}


def _shown_value(key: str, value: Any) -> str:
    """An event value by its label when it is a stored key (outcome, verdict, target)."""
    return _LABELLED[key](value) if key in _LABELLED and value in flow.CHOICES[key] else display(value)


@ticket.command("log")
@click.argument("ticket_id", metavar="ID")
@format_option
@pass_app
def ticket_log(app: App, ticket_id: str, style: str) -> None:
    """The history as a timeline."""
    record = app.store.read(TICKET, app.store.resolve_id(TICKET, ticket_id))
    assert isinstance(record, Ticket)
    events = masked_events(record.events)
    if style == "json":
        click.echo(to_json([e.model_dump(exclude_none=True) for e in events]), nl=False)
        return
    click.echo(_timeline(events, style))


def _timeline(events: list[Event], style: str) -> str:
    return timeline(events, style, _shown_value)
