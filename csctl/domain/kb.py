"""The knowledge base (知识库, seed 004 知识库管理): entered, reviewed before publishing, used, retired.

Agents search it first when answering (知识查询与使用); only what a reviewer
approved is shown to everyone — a draft is seen by its author and the
reviewers. A ticket's resolution cites the entries it used (`ticket resolve
--kb`), which is the "knowledge-base use" of the performance measures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from csctl.domain.auth import may, require
from csctl.domain.checks import CheckContext, Finding, Rule
from csctl.domain.tickets import cited_entries, readable_tickets
from csctl.errors import IllegalTransition, InvalidInput
from csctl.i18n import enum_label, msg
from csctl.models.base import Event, Record
from csctl.models.config import AgentEntry
from csctl.models.kinds import KB, TICKET, Kind
from csctl.models.records import KbEntry, KbStatus, Ticket
from csctl.storage.store import Store

if TYPE_CHECKING:
    from csctl.storage.index import Index

DRAFT, REVIEW, PUBLISHED, RETIRED = KbStatus

# action -> (states it may be taken from, the state it leads to; None keeps it)
MOVES: dict[str, tuple[frozenset[KbStatus], KbStatus | None]] = {
    "edited": (frozenset({DRAFT, REVIEW, PUBLISHED}), None),
    "submitted": (frozenset({DRAFT}), REVIEW),
    "approved": (frozenset({REVIEW}), PUBLISHED),
    "returned": (frozenset({REVIEW}), DRAFT),
    "retired": (frozenset({PUBLISHED}), RETIRED),
    "renamed": (frozenset(KbStatus), None),
}


def replay(entry_id: str, events: list[Event]) -> KbStatus:
    """The status a history adds up to; `IllegalTransition` names the first event that does not fit."""
    if not events or events[0].action != "created":
        raise IllegalTransition(msg("kb.first_event", id=entry_id), 0)
    status = DRAFT
    for index, event in enumerate(events[1:], start=1):
        move = MOVES.get(event.action)
        if move is None or status not in move[0]:
            raise IllegalTransition(msg("kb.illegal", id=entry_id, action=event.action, status=enum_label(status)),
                                    index)
        status = move[1] or status
    return status


def _advance(entry: KbEntry, event: Event, **changes: Any) -> KbEntry:
    status = replay(entry.id, [*entry.events, event])
    return entry.with_event(event, status=status, **changes)


def _reviewer(actor: AgentEntry) -> bool:
    return may(actor.role, "kb.approve")


def visible_to(entry: KbEntry, actor: AgentEntry | None) -> bool:
    """Published entries are for everyone; drafts and entries in review for their author and reviewers."""
    if entry.status is PUBLISHED:
        return True
    return actor is not None and (entry.author == actor.id or _reviewer(actor))


def add(store: Store, actor: AgentEntry, at: Any, values: dict[str, Any]) -> KbEntry:
    require(actor, "kb.write")

    def build(entry_id: str) -> KbEntry:
        return KbEntry.model_validate({"id": entry_id, "created": at, "author": actor.id, **values,
                                       "events": [Event(at=at, by=actor.id, action="created").model_dump(
                                           exclude_none=True)]})

    return store.create(KB, at, build)


def edit(entry: KbEntry, actor: AgentEntry, at: Any, changes: dict[str, Any]) -> KbEntry:
    """The author edits a draft or an entry in review; a published entry only a reviewer edits."""
    require(actor, "kb.write")
    if entry.status is PUBLISHED:
        require(actor, "kb.approve")  # a published entry changes only under a reviewer's eye
    if entry.status is not PUBLISHED and entry.author != actor.id and not _reviewer(actor):
        raise IllegalTransition(msg("kb.not_author", id=entry.id, who=entry.author))
    changed = sorted(k for k, v in changes.items() if getattr(entry, k) != v)
    if not changed:
        raise InvalidInput(msg("kb.nothing_changed", id=entry.id))
    return _advance(entry, Event(at=at, by=actor.id, action="edited", fields=changed), **changes)


def submit(entry: KbEntry, actor: AgentEntry, at: Any) -> KbEntry:
    require(actor, "kb.write")
    if entry.author != actor.id and not _reviewer(actor):
        raise IllegalTransition(msg("kb.not_author", id=entry.id, who=entry.author))
    return _move(entry, actor, at, "submitted")


def approve(entry: KbEntry, actor: AgentEntry, at: Any) -> KbEntry:
    require(actor, "kb.approve")
    return _move(entry, actor, at, "approved")


def send_back(entry: KbEntry, actor: AgentEntry, at: Any, reason: str) -> KbEntry:
    require(actor, "kb.approve")
    return _move(entry, actor, at, "returned", reason=reason)


def retire(entry: KbEntry, actor: AgentEntry, at: Any, reason: str) -> KbEntry:
    require(actor, "kb.retire")
    return _move(entry, actor, at, "retired", reason=reason)


def _move(entry: KbEntry, actor: AgentEntry, at: Any, action: str, **extra: Any) -> KbEntry:
    sources, _ = MOVES[action]
    if entry.status not in sources:
        raise IllegalTransition(msg("kb.illegal", id=entry.id, action=msg(f"kb.action.{action}"),
                                    status=enum_label(entry.status)))
    return _advance(entry, Event(at=at, by=actor.id, action=action, **extra))


# ----- search and use ----------------------------------------------------------------------

@dataclass
class Hit:
    entry: KbEntry
    in_question: int  # how many of the search words the question holds
    score: int


def _hit(entry: KbEntry, terms: list[str]) -> Hit | None:
    """Every term must occur somewhere. Entries whose question holds more of the terms come first;
    then a hit in the question counts most, then tags, then answer, steps and cases.

    Substrings, so Chinese needs no word splitting: 退款 finds 退款迟迟未到账.
    """
    question, tags = entry.question.lower(), " ".join(entry.tags).lower()
    body = " ".join([entry.answer, *entry.steps, *entry.cases]).lower()
    score = in_question = 0
    for term in terms:
        found = 5 * question.count(term) + 3 * tags.count(term) + body.count(term)
        if not found:
            return None
        in_question += term in question
        score += found
    return Hit(entry, in_question, score)


def search(store: Store, actor: AgentEntry | None, text: str) -> list[Hit]:
    terms = [t.lower() for t in text.split() if t]
    if not terms:
        raise InvalidInput(msg("kb.empty_search"))
    hits = [hit for entry in entries(store)
            if entry.status is not RETIRED and visible_to(entry, actor) and (hit := _hit(entry, terms))]
    return sorted(hits, key=lambda h: (-h.in_question, -h.score, h.entry.status is not PUBLISHED, h.entry.id))


def citable(store: Store, entry_ids: list[str]) -> list[str]:
    """Entries a resolution may cite, each once: published ones (what the customer is told was reviewed)."""
    entry_ids = list(dict.fromkeys(entry_ids))
    for entry_id in entry_ids:
        entry = store.read(KB, entry_id)
        assert isinstance(entry, KbEntry)
        if entry.status is not PUBLISHED:
            raise InvalidInput(msg("kb.not_citable", id=entry_id, status=enum_label(entry.status)))
    return entry_ids


def entries(store: Store) -> list[KbEntry]:
    out = []
    with store.ledger.lock(exclusive=False, what="knowledge base"):
        for kind, path in store.iter_paths([KB]):
            entry = store.load(kind, path)
            assert isinstance(entry, KbEntry)
            out.append(entry)
    return out


@dataclass
class Uses:
    """How often each entry was cited when resolving a ticket, and by whom."""

    per_entry: Counter[str] = field(default_factory=Counter)
    per_agent: dict[str, Counter[str]] = field(default_factory=dict)


def citations(ticket: Ticket) -> Iterator[tuple[str, str]]:
    """Each knowledge entry the ticket's resolutions cite (`tickets.cited_entries`), with who resolved it."""
    for event in ticket.events:
        for entry_id in cited_entries(event):
            yield entry_id, event.by


def uses(store: Store, index: Index | None) -> Uses:
    """How often each entry was cited, by every ticket that reads (a broken ticket is `check`'s and
    `alerts`' to report): from the citations the index keeps of each, else from the files."""
    if index is not None:
        cited = [(entry_id, by) for cites in index.fact_lists(TICKET, "cites") for entry_id, by in cites]
    else:
        cited = [pair for ticket in readable_tickets(store)[0] for pair in citations(ticket)]
    counted = Uses()
    for entry_id, by in cited:
        counted.per_entry[entry_id] += 1
        counted.per_agent.setdefault(entry_id, Counter())[by] += 1
    return counted


def rule_status(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    """The history is a legal sequence and the stored status is what it adds up to."""
    assert isinstance(record, KbEntry)
    try:
        status = replay(record.id, record.events)
    except IllegalTransition as err:
        index = err.event_index or 0
        yield Finding(("events", index) if record.events else ("id",), f"events.{index}: {err}")
        return
    if status is not record.status:
        yield Finding(("status",), msg("check.kb_status", stored=record.status.value, replayed=status.value))


KB_RULES: tuple[Rule, ...] = (rule_status,)
