"""Tickets (工单 / 个案 / 客诉单): the case flow of the seeds as one state machine.

The history is the truth. `replay` walks a ticket's events through `MOVES`
(which state each action may leave from, and where it goes) and derives the
stored fields `status`, `assignee`, `department` and `verdict`; every command
appends one event and replays, so a command, `check` and a merge all agree on
what a history means. Who may act is decided here too, on top of the role
table: an agent handles the tickets assigned to them, a supervisor any.

The moves are drawn in the README ("The life of a ticket").
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

from csctl.domain.auth import may, require
from csctl.domain.checks import CheckContext, Finding, Rule, disagreements
from csctl.domain.clock import Moment
from csctl.domain.privacy import revealed_fields
from csctl.errors import CsctlError, IllegalTransition, InvalidInput, NotFound, RecordError
from csctl.i18n import enum_label, msg
from csctl.models.base import Event, Record
from csctl.models.config import AgentEntry, LedgerConfig
from csctl.models.kinds import CUSTOMER, TICKET, Kind
from csctl.models.records import CallbackOutcome, Ticket, TicketKind, TicketStatus, Verdict
from csctl.storage.store import Store

NEW, ASSIGNED, TRANSFERRED, WAITING, RESOLVED, CLOSED = TicketStatus
OPEN = frozenset({NEW, ASSIGNED, TRANSFERRED, WAITING})
ANY = frozenset(TicketStatus)

class Move(NamedTuple):
    sources: frozenset[TicketStatus]  # the states the action may be taken from
    carries: tuple[str, ...] = ()  # the keys its event must hold


# The state machine, one row per action; where each leads is `apply_event`.
MOVES: dict[str, Move] = {
    "created": Move(frozenset()),
    "judged": Move(frozenset({NEW, ASSIGNED, WAITING}), ("verdict",)),
    "assigned": Move(OPEN, ("to",)),
    "taken": Move(OPEN),  # only while nobody has it: checked by `take`
    "noted": Move(ANY - {CLOSED}, ("text",)),
    "transferred": Move(OPEN, ("to", "target", "reason")),
    "waiting": Move(frozenset({NEW, ASSIGNED, TRANSFERRED}), ("reason",)),
    "resumed": Move(frozenset({WAITING})),
    "resolved": Move(OPEN, ("solution",)),
    "callback": Move(frozenset({RESOLVED, CLOSED}), ("outcome",)),
    "closed": Move(frozenset({RESOLVED})),
    "reopened": Move(frozenset({RESOLVED, CLOSED}), ("reason",)),
    "linked": Move(ANY, ("followup",)),
    "renamed": Move(ANY, ("old_id", "new_id")),
    "revealed": Move(ANY, ("fields",)),  # someone saw the personal data whole
}
# Keys whose values come from a fixed list.
CHOICES: dict[str, frozenset[Any]] = {
    # (`satisfaction` is 1–5; the others are stored keys shown by their labels.)
    "verdict": frozenset(v.value for v in Verdict),
    "target": frozenset({"agent", "department"}),
    "outcome": frozenset(o.value for o in CallbackOutcome),
    "satisfaction": frozenset(range(1, 6)),
}

# Events that answer the customer: the first of them after intake is the first response.
RESPONSES = frozenset({"noted", "judged", "transferred", "waiting", "resolved", "callback"})
# The event keys a walk of a history reads (`apply_event`, the deadlines, a report's figures): a report's
# brief of a ticket keeps these and no others (`csctl.domain.briefs`). A walk that reads another key
# must add it here.
WALKED_KEYS = frozenset({"verdict", "department", "to", "target", "outcome", "retry_by", "satisfaction", "kb",
                         "followup", "field", "old_id", "new_id"})


class EventView(Protocol):
    """What a walk of a history reads of an event: a stored `Event`, or a `BriefEvent` of a report."""

    @property
    def at(self) -> dt.datetime: ...
    @property
    def by(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def extras(self) -> Mapping[str, Any]: ...


def cited_entries(event: EventView) -> list[str]:
    """The knowledge entries an event cites: a resolution's `kb` (`ticket resolve --kb`); one written by
    hand as a single ID counts as that ID, and a value of another type cites nothing."""
    if event.action != "resolved":
        return []
    cited = event.extras.get("kb")
    values = [cited] if isinstance(cited, str) else cited if isinstance(cited, list) else []
    return [entry for entry in values if isinstance(entry, str)]


@dataclass
class Derived:
    """What a history adds up to."""

    status: TicketStatus = NEW
    assignee: str | None = None
    department: str | None = None
    verdict: Verdict | None = None
    before_waiting: TicketStatus = NEW
    followups: list[str] = field(default_factory=list)


def _illegal(ticket_id: str, action: str, status: TicketStatus) -> IllegalTransition:
    return IllegalTransition(
        msg("ticket.illegal", id=ticket_id, action=msg(f"ticket.action.{action}"), status=enum_label(status))
    )


def replay(ticket_id: str, kind: TicketKind, events: Iterable[Event]) -> Derived:
    """Walk the history; `IllegalTransition` names the first event that does not fit."""
    state = Derived()
    history = list(events)
    if not history or history[0].action != "created":
        first = history[0].action if history else "-"
        raise IllegalTransition(msg("ticket.first_event", id=ticket_id, action=first), 0)
    for index, event in enumerate(history[1:], start=1):
        move = MOVES.get(event.action)
        if move is None:
            raise IllegalTransition(msg("ticket.unknown_action", id=ticket_id, action=event.action), index)
        extras = event.extras
        for key in move.carries:
            if key not in extras:
                raise IllegalTransition(msg("ticket.event_lacks", index=index, name=key, action=event.action), index)
        for key, allowed in CHOICES.items() if extras else ():
            value = extras.get(key)
            if value is not None and value not in allowed:
                raise IllegalTransition(msg("ticket.event_value", index=index, name=key, value=value), index)
        try:
            if state.status not in move.sources:
                raise _illegal(ticket_id, event.action, state.status)
            apply_event(ticket_id, kind, state, event)
        except IllegalTransition as err:
            raise IllegalTransition(str(err), index) from None
    return state


def apply_event(ticket_id: str, kind: TicketKind, state: Derived, event: EventView) -> None:
    extra = event.extras
    action = event.action
    if action == "judged":
        if kind is not TicketKind.COMPLAINT or state.verdict is not None:
            raise _illegal(ticket_id, action, state.status)
        verdict = extra.get("verdict")
        if verdict not in CHOICES["verdict"]:
            raise _illegal(ticket_id, action, state.status)
        state.verdict = Verdict(str(verdict))
        if state.verdict is Verdict.VALID:
            state.department = extra.get("department")
            state.status = TRANSFERRED
        else:
            state.status = CLOSED
    elif action == "assigned":
        state.assignee, state.status = extra.get("to"), ASSIGNED
    elif action == "taken":
        state.assignee = event.by
        state.status = ASSIGNED if state.status is NEW else state.status
    elif action == "transferred":
        if extra.get("target") == "agent":
            state.assignee = extra.get("to")
        else:
            state.department = extra.get("to")
        state.status = TRANSFERRED
    elif action == "waiting":
        state.before_waiting, state.status = state.status, WAITING
    elif action == "resumed":
        state.status = state.before_waiting
    elif action == "resolved":
        state.assignee = state.assignee or event.by
        state.status = RESOLVED
    elif action == "callback":
        if extra.get("outcome") == CallbackOutcome.REJECTED and not extra.get("retry_by"):
            state.status = ASSIGNED  # 客户对处理结果不满意的,应重新处理
    elif action == "closed":
        state.status = CLOSED
    elif action == "reopened":
        state.assignee = state.assignee or event.by
        state.status = ASSIGNED
    elif action == "linked":
        state.followups.append(str(extra.get("followup")))
    elif action == "renamed" and extra.get("field") == "followups":
        # `check --repair-duplicates` gave a follow-up a new ID.
        state.followups = [str(extra.get("new_id")) if f == extra.get("old_id") else f for f in state.followups]


def advance(ticket: Ticket, event: Event) -> Ticket:
    """The ticket with `event` appended and its derived fields replayed.

    A back-dated event (`--at`) may not go before the ticket's last event: the
    history is replayed in order, so it must read in order.
    """
    if ticket.events and event.at < ticket.events[-1].at:
        raise InvalidInput(msg("ticket.at_before", at=event.at.isoformat(), last=ticket.events[-1].at.isoformat()))
    # A move judged on fields edited away from the history (who holds it, its status) would quietly
    # replace them: refused, as a remittance's is.
    differs = next(disagreement(ticket, replay(ticket.id, ticket.kind, ticket.events)), None)
    if differs is not None:
        raise IllegalTransition(f"{ticket.id}: {differs[1]}")
    state = replay(ticket.id, ticket.kind, [*ticket.events, event])
    followups = sorted({*ticket.followups, *state.followups})
    return ticket.with_event(
        event, status=state.status, assignee=state.assignee, department=state.department,
        verdict=state.verdict, followups=followups,
    )


# ----- who may act --------------------------------------------------------------------

def _must_own(ticket: Ticket, actor: AgentEntry, action: str) -> None:
    """An agent handles their own tickets (or unassigned ones); a supervisor any."""
    if ticket.assignee in (None, actor.id) or may(actor.role, "ticket.handle_any"):
        return
    raise IllegalTransition(
        msg("ticket.not_yours", id=ticket.id, action=msg(f"ticket.action.{action}"), who=ticket.assignee)
    )


def _event(actor: AgentEntry, action: str, at: dt.datetime, recorded: dt.datetime | None,
           **extra: Any) -> Event:
    values = {k: v for k, v in extra.items() if v not in (None, [], "")}
    return Event(at=at, by=actor.id, action=action, recorded_at=recorded, **values)


def _text(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(msg("ticket.empty", field=field))
    return value


def judge(ticket: Ticket, actor: AgentEntry, when: Moment, *, valid: bool, department: str | None,
          explanation: str | None) -> Ticket:
    require(actor, "ticket.judge")
    if ticket.kind is not TicketKind.COMPLAINT:
        raise IllegalTransition(msg("ticket.not_complaint", id=ticket.id, kind=enum_label(ticket.kind)))
    if ticket.verdict is not None:
        raise IllegalTransition(msg("ticket.judged_already", id=ticket.id, verdict=enum_label(ticket.verdict)))
    if valid:
        if not department:
            raise InvalidInput(msg("ticket.dept_needed"))
        event = _event(actor, "judged", when.at, when.recorded, verdict="valid",
                       department=_text(department, "--dept"))
    else:
        event = _event(actor, "judged", when.at, when.recorded, verdict="invalid",
                       explanation=_text(explanation or "", "--explanation"))
    return advance(ticket, event)


def assign(ticket: Ticket, actor: AgentEntry, when: Moment, config: LedgerConfig, to: str) -> Ticket:
    require(actor, "ticket.assign")
    agent = _active_agent(config, to)
    if ticket.status is ASSIGNED and ticket.assignee == agent.id:
        raise IllegalTransition(msg("ticket.assigned_already", id=ticket.id, who=agent.id))
    return advance(ticket, _event(actor, "assigned", when.at, when.recorded, to=agent.id))


def take(ticket: Ticket, actor: AgentEntry, when: Moment) -> Ticket:
    require(actor, "ticket.take")
    if ticket.assignee:
        raise IllegalTransition(msg("ticket.taken_already", id=ticket.id, who=ticket.assignee,
                                    status=enum_label(ticket.status)))
    return advance(ticket, _event(actor, "taken", when.at, when.recorded))


def note(ticket: Ticket, actor: AgentEntry, when: Moment, text: str) -> Ticket:
    require(actor, "ticket.handle")
    return advance(ticket, _event(actor, "noted", when.at, when.recorded, text=_text(text, "TEXT")))


def transfer(ticket: Ticket, actor: AgentEntry, when: Moment, config: LedgerConfig, to: str,
             reason: str) -> Ticket:
    """To an agent on the roster (e.g. tech support), or to a department named in words."""
    require(actor, "ticket.handle")
    _must_own(ticket, actor, "transferred")
    target = "agent" if config.agent(to.strip()) else "department"
    if target == "agent":
        to = _active_agent(config, to).id
    return advance(ticket, _event(actor, "transferred", when.at, when.recorded, to=_text(to, "--to"),
                                  target=target, reason=_text(reason, "--reason")))


def wait(ticket: Ticket, actor: AgentEntry, when: Moment, reason: str) -> Ticket:
    require(actor, "ticket.handle")
    _must_own(ticket, actor, "waiting")
    return advance(ticket, _event(actor, "waiting", when.at, when.recorded, reason=_text(reason, "--reason")))


def resume(ticket: Ticket, actor: AgentEntry, when: Moment, note_text: str | None) -> Ticket:
    require(actor, "ticket.handle")
    _must_own(ticket, actor, "resumed")
    return advance(ticket, _event(actor, "resumed", when.at, when.recorded, note=note_text))


def resolve(ticket: Ticket, actor: AgentEntry, when: Moment, solution: str, kb: list[str]) -> Ticket:
    require(actor, "ticket.handle")
    _must_own(ticket, actor, "resolved")
    event = _event(actor, "resolved", when.at, when.recorded, solution=_text(solution, "--solution"), kb=kb)
    updated = advance(ticket, event)
    return updated.model_copy(update={"kb": sorted({*ticket.kb, *kb})}) if kb else updated


def callback(ticket: Ticket, actor: AgentEntry, when: Moment, config: LedgerConfig, *,
             outcome: CallbackOutcome, satisfaction: int | None, note_text: str | None,
             retry_by: str | None) -> Ticket:
    """A callback attempt (回访); every attempt is kept, reached or not."""
    require(actor, "ticket.handle")
    if outcome is CallbackOutcome.UNREACHABLE and satisfaction is not None:
        raise InvalidInput(msg("ticket.unreachable_satisfaction"))
    if retry_by is not None:
        if outcome is not CallbackOutcome.REJECTED:
            raise InvalidInput(msg("ticket.retry_needs_rejected"))
        retry_by = _active_agent(config, retry_by).id
        if retry_by == actor.id:
            raise InvalidInput(msg("ticket.retry_other_agent"))
    event = _event(actor, "callback", when.at, when.recorded, outcome=outcome.value,
                   satisfaction=satisfaction, note=note_text, retry_by=retry_by)
    return advance(ticket, event)


def close(ticket: Ticket, actor: AgentEntry, when: Moment) -> Ticket:
    require(actor, "ticket.handle")
    _must_own(ticket, actor, "closed")
    return advance(ticket, _event(actor, "closed", when.at, when.recorded))


def reopen(ticket: Ticket, actor: AgentEntry, when: Moment, reason: str) -> Ticket:
    require(actor, "ticket.handle")
    return advance(ticket, _event(actor, "reopened", when.at, when.recorded, reason=_text(reason, "--reason")))


def record_reveal(ticket: Ticket, actor: AgentEntry, when: Moment) -> Ticket:
    fields = revealed_fields(actor, ticket)
    return advance(ticket, _event(actor, "revealed", when.at, when.recorded, fields=fields)) if fields else ticket


def link_followup(origin: Ticket, actor: AgentEntry, when: Moment, followup_id: str) -> Ticket:
    return advance(origin, _event(actor, "linked", when.at, when.recorded, followup=followup_id))


def _active_agent(config: LedgerConfig, agent_id: str) -> AgentEntry:
    """Someone work can be handed to: on the roster, active, and allowed to handle tickets."""
    agent = config.agent(agent_id.strip())
    if agent is None:
        raise InvalidInput(msg("actor.unknown", who=agent_id))
    if not agent.active:
        raise InvalidInput(msg("actor.inactive", who=agent.id))
    if not may(agent.role, "ticket.handle"):
        raise InvalidInput(msg("ticket.cannot_handle", who=agent.id, role=enum_label(agent.role)))
    return agent


def new_ticket(ticket_id: str, actor: AgentEntry, when: Moment, fields: dict[str, Any]) -> Ticket:
    """A new ticket: status new, history starting with `created`."""
    require(actor, "ticket.new")
    fields = {**fields, "subject": _text(str(fields.get("subject", "")), "--subject")}
    event = _event(actor, "created", when.at, when.recorded)
    return Ticket.model_validate(
        {"id": ticket_id, "created": when.at, **fields, "events": [event.model_dump(exclude_none=True)]}
    )


def open_ticket(store: Store, actor: AgentEntry, when: Moment, fields: dict[str, Any], *,
                follows: str | None, taken: bool) -> Ticket:
    """File a new ticket (taken at once by the actor when `taken`); a follow-up is linked both ways.

    Both records are built and checked before either is written, so a refusal
    (an origin that is closed to links, a clock behind its history) writes nothing;
    and if writing the origin's link fails, the new ticket is taken back.
    """
    if fields.get("customer") and fields.get("caller"):
        raise InvalidInput(msg("ticket.customer_or_caller"))
    with store.ledger.lock(exclusive=True, what="new ticket"):
        if fields.get("customer") and not store.exists(CUSTOMER, fields["customer"]):
            raise NotFound(msg("ticket.unknown_customer", id=fields["customer"]))
        origin_path = store.find(TICKET, follows) if follows else None
        while True:
            ticket = new_ticket(store.allocate_id(TICKET, when.at), actor, when,
                                {**fields, "follows": follows} if follows else fields)
            if taken:
                ticket = take(ticket, actor, when)
            linked: tuple[Ticket, Ticket] | None = None
            if origin_path is not None:
                origin = store.load(TICKET, origin_path)
                assert isinstance(origin, Ticket)
                linked = (origin, link_followup(origin, actor, when, ticket.id))
                store.check_growth(origin_path, *linked)
            if store.file_new(TICKET, ticket):
                break
        if linked is not None and origin_path is not None:
            try:
                store.replace(TICKET, origin_path, *linked)
            except BaseException:
                _take_back_unless_linked(store, origin_path, ticket)
                raise
    return ticket


def _take_back_unless_linked(store: Store, origin_path: Path, followup: Ticket) -> None:
    """After a failed write of the origin's link, take the follow-up back (one its origin does not name is a
    broken link), unless the link reached the disk all the same: a folder that could not be synced after the
    rename, or Ctrl-C between them, leaves both files standing and linked."""
    try:
        origin = store.load(TICKET, origin_path)
        if isinstance(origin, Ticket) and followup.id in origin.followups:
            return
    except CsctlError:
        pass  # not readable as the linked origin: the old one stands
    # If this fails too, the failure the user must see is still the origin's; `check` names the link left.
    with contextlib.suppress(CsctlError):
        store.withdraw_new(TICKET, followup)


def _at_event(err: IllegalTransition) -> str:
    """A replay refusal as `check` says it: naming the event (a command's refusal does not)."""
    text = str(err)
    return text if text.startswith("events.") else f"events.{err.event_index or 0}: {text}"


def replayable(ticket: Ticket, path: Path) -> Ticket:
    """The ticket, once its history is known to replay to its stored fields; `RecordError` if not.

    The readers take the stored status and assignee (alerts, listings, reports): a ticket whose fields
    were edited away from the history does not read (`check` says which field), rather than have a hand
    edit to `closed` silence its alerts.
    """
    try:
        state = replay(ticket.id, ticket.kind, ticket.events)
    except IllegalTransition as err:
        raise RecordError(path, None, _at_event(err)) from None
    differs = next(disagreement(ticket, state), None)
    if differs is not None:
        raise RecordError(path, None, differs[1])
    return ticket


def disagreement(ticket: Ticket, state: Derived) -> Iterator[tuple[str, str]]:
    """Each stored field that is not what the history adds up to, with what `check` says of it."""
    return disagreements(ticket, {name: getattr(state, name) for name in ("status", "assignee", "department",
                                                                          "verdict")}, _shown_value)


# ----- reading many -----------------------------------------------------------------------

def readable_tickets(store: Store, paths: Iterable[Path] | None = None) -> tuple[list[Ticket], list[RecordError]]:
    """Every ticket (or those at `paths`) whose file reads and whose history replays, and what is wrong
    with the rest."""
    return store.read_all(Ticket, TICKET, paths, replayable)


# ----- check ------------------------------------------------------------------------------

def rule_history(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    """The history is a legal sequence and the stored fields are what it adds up to."""
    assert isinstance(record, Ticket)
    try:
        state = replay(record.id, record.kind, record.events)
    except IllegalTransition as err:
        yield Finding(("events", err.event_index or 0) if record.events else ("id",), _at_event(err))
        return
    for name, message in disagreement(record, state):
        yield Finding((name,), message)


def _shown_value(value: object) -> str:
    return "-" if value is None else str(getattr(value, "value", value))


# The event keys holding what the customer was told.
_TOLD = ("solution", "note", "explanation")


def rule_language(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    """Forbidden words in what the customer was told (a warning: the words were said)."""
    if ctx.phrases is None or not ctx.phrases.forbidden:
        return
    for index, event in enumerate(record.events):
        extras = event.extras
        if not extras:
            continue
        for key in _TOLD:
            text = extras.get(key)
            if isinstance(text, str) and (found := ctx.phrases.forbidden_in(text)):
                yield Finding(("events", index, key),
                              msg("phrases.forbidden", field=f"events.{index}.{key}", words="、".join(found)), True)


TICKET_RULES: tuple[Rule, ...] = (rule_history, rule_language)


Where = TypeVar("Where")


@dataclass(frozen=True)
class Links:
    """A ticket's follow-up links: the origin it `follows`, and the `followups` it names."""

    follows: str | None
    followups: frozenset[str]


def followup_findings(links: Mapping[str, Links], tickets: Mapping[str, Where]) -> Iterator[tuple[Where, Finding]]:
    """A follow-up names its origin (`follows`) and the origin names it back (`followups`).

    `links` holds the tickets that have links, `tickets` where every readable ticket is, by ID.
    """
    for ticket_id, link in sorted(links.items()):
        if link.follows is None or link.follows not in tickets:
            continue
        origin = links.get(link.follows)
        if origin is None or ticket_id not in origin.followups:
            yield tickets[link.follows], Finding(("followups",), msg("check.ticket_unlinked", id=ticket_id))
    for origin_id, link in sorted(links.items()):
        for followup in sorted(link.followups):
            named = links.get(followup)
            if followup in tickets and (named.follows if named is not None else None) != origin_id:
                yield tickets[origin_id], Finding(("followups",), msg("check.ticket_followup", id=followup))
