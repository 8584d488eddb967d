"""A ticket's *brief*: what a report counts of it, small enough for the index to keep.

Why: a monthly report at 100k records counts ~4,600 tickets. Reading,
validating and replaying each file costs ~80 µs; decoding its brief from the
index ~15 µs (issue #8). So the index keeps a brief beside each readable
ticket's facts, and a report reads a file only where the index keeps none.

What: the fields the figures read; each event's time, author, action and the
keys a walk of the history reads (`WALKED_KEYS`: the deadlines and the figures
give the same answers on a brief as on the ticket); and the first
resolution's deadline once the first cycle has ended, since from then on it
no longer depends on the moment it is judged at.

Truth: without an index a report makes its briefs from the files, by the
same `brief_of`, so the answer never depends on the index.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from csctl.domain.deadlines import Timing, clockwork, timing
from csctl.domain.tickets import WALKED_KEYS, replayable
from csctl.errors import RecordError
from csctl.models.base import fixed_zone
from csctl.models.kinds import TICKET
from csctl.models.records import Channel, Ticket, TicketKind, TicketStatus, Urgency
from csctl.storage.store import Store


class BriefEvent(NamedTuple):
    at: dt.datetime
    by: str
    action: str
    extras: Mapping[str, Any]  # the `WALKED_KEYS` the event holds


class TicketBrief(NamedTuple):
    id: str
    kind: TicketKind
    urgency: Urgency
    channel: Channel
    region: str | None
    subject: str
    status: TicketStatus
    created: dt.datetime
    events: tuple[BriefEvent, ...]
    first_due: dt.datetime | None  # the first resolution's deadline, once the first cycle ended


def brief_of(ticket: Ticket, whole: Timing) -> TicketBrief:
    """The brief of a ticket whose history replays; `whole`: its timing over that whole history."""
    events = tuple(BriefEvent(e.at, e.by, e.action, {k: v for k, v in e.extras.items() if k in WALKED_KEYS})
                   for e in ticket.events)
    first_due = whole.first_resolution_due if whole.first_resolved_at is not None else None
    return TicketBrief(ticket.id, ticket.kind, ticket.urgency, ticket.channel, ticket.region, ticket.subject,
                       ticket.status, ticket.created, events, first_due)


# JSON carries the walked values exactly (text, whole numbers, true/false, lists of them); a ticket holding
# anything else under a walked key (a time, say) gets no brief, and a report reads its file.
_CARRIED = (str, int, bool)


def _carried(value: Any) -> bool:
    return isinstance(value, _CARRIED) or (isinstance(value, list) and all(isinstance(v, _CARRIED) for v in value))


def encode(brief: TicketBrief) -> str | None:
    """The brief as the index keeps it (times as epoch seconds and offset); None when JSON cannot carry it."""
    if not all(_carried(value) for event in brief.events for value in event.extras.values()):
        return None
    return json.dumps([brief.id, brief.kind.value, brief.urgency.value, brief.channel.value, brief.region,
                       brief.subject, brief.status.value, _moment(brief.created),
                       None if brief.first_due is None else _moment(brief.first_due),
                       [[*_moment(e.at), e.by, e.action, e.extras] for e in brief.events]],
                      ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> TicketBrief:
    (ticket_id, kind, urgency, channel, region, subject, status, created, first_due, events) = json.loads(text)
    walked = tuple(BriefEvent(_stamp(at, offset), by, action, extras) for at, offset, by, action, extras in events)
    return TicketBrief(ticket_id, TicketKind(kind), Urgency(urgency), Channel(channel), region, subject,
                       TicketStatus(status), _stamp(*created), walked,
                       None if first_due is None else _stamp(*first_due))


def _moment(moment: dt.datetime) -> tuple[int, int]:
    offset = moment.utcoffset()
    assert offset is not None  # a record's times carry their offsets (`models.base.Stamp`)
    return int(moment.timestamp()), int(offset.total_seconds())


@functools.cache
def _zone(offset: int) -> dt.timezone:
    """The records' own `timezone` object for an offset (`fixed_zone`), by its seconds."""
    return fixed_zone(dt.timedelta(seconds=offset))


def _stamp(epoch: int, offset: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, _zone(offset))


def ticket_briefs(store: Store, kept: Iterable[tuple[Path, str | None]] | None = None
                  ) -> tuple[list[TicketBrief], list[RecordError]]:
    """The briefs of every ticket, or of the files `kept` names (each with the brief the index keeps, or
    None), in that order; and what is wrong with the files that do not read or whose history does not
    replay. A file is read where the index keeps no brief for it."""
    config = store.ledger.config
    clock = clockwork(config)
    listed = None if kept is None else list(kept)
    unread = None if listed is None else [path for path, text in listed if text is None]
    from_files: dict[Path, TicketBrief] = {}
    broken: list[RecordError] = []
    with store.reading(TICKET, unread) as each:
        for path in each:
            try:
                ticket = store.load(TICKET, path)
                assert isinstance(ticket, Ticket)
                replayable(ticket, path)
            except RecordError as err:
                broken.append(err)
                continue
            from_files[path] = brief_of(ticket, timing(ticket, config.tickets, clock, ticket.created))
    if listed is None:
        return list(from_files.values()), broken
    return [decode(text) if text is not None else from_files[path] for path, text in listed
            if text is not None or path in from_files], broken
