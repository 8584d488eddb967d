"""*Briefs*: what a report counts of a ticket or a remark file, small enough for the index to keep.

Why: a monthly report at 100k records counts ~4,600 tickets and ~1,700 remark
files. Reading, validating and replaying a ticket's file costs ~80 µs,
decoding its brief from the index ~20 µs (issue #8); a remark file's remarks
are read back with their shapes once. So a report keeps the brief of each
file it reads beside the file's facts in the index, and reads a file only
where the index keeps none.

What, of a ticket: the fields the figures and `ticket list` read; each event's time, author,
action and the keys a walk of the history reads (`WALKED_KEYS`: the deadlines
and the figures give the same answers on a brief as on the ticket); and, once
the first cycle has ended, where the whole history leaves the ticket
(`Settled`): none of it depends on the moment a period's end judges it at, so
it is worked out once, not walked again for each period. Of a remark file:
each remark with its values as its shape reads them (`remarks.stored_remarks`).

Truth: without an index a report makes the same things from the files, by the
same functions, so the answer never depends on the index.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from csctl.domain.deadlines import Clockwork, Timing, clockwork, timing
from csctl.domain.remark_shapes import Shapes
from csctl.domain.remarks import Stored, stored_remarks
from csctl.domain.tickets import WALKED_KEYS, replayable
from csctl.errors import RecordError
from csctl.models.base import Record, fixed_zone
from csctl.models.config import TicketSettings
from csctl.models.kinds import REMARK, TICKET, Kind
from csctl.models.records import Channel, Remark, RemarkFile, Ticket, TicketKind, TicketStatus, Urgency
from csctl.storage.index import Index, stamp_of, to_json
from csctl.storage.store import Store

T = TypeVar("T")


class BriefEvent(NamedTuple):
    at: dt.datetime
    by: str
    action: str
    extras: Mapping[str, Any]  # the `WALKED_KEYS` the event holds


class Settled(NamedTuple):
    """Where a whole history leaves a ticket whose first cycle ended: what a report judges it by at the end of
    any period after its last event, none of it depending on that moment (so it is worked out once)."""

    first_resolved_at: dt.datetime  # the end of the first cycle (a resolution, or a judgement as invalid)
    first_resolution_due: dt.datetime
    resolution_running: bool
    waiting: bool
    assignee: str | None

    @property
    def resolution_met(self) -> bool:
        return self.first_resolved_at <= self.first_resolution_due


class TicketBrief(NamedTuple):
    id: str
    kind: TicketKind
    urgency: Urgency
    channel: Channel
    region: str | None
    subject: str
    status: TicketStatus
    assignee: str | None
    customer: str | None
    created: dt.datetime
    events: tuple[BriefEvent, ...]
    settled: Settled | None  # None: the first cycle has not ended
    # The first and last moments of its history, its creation included (a merged history is not in time
    # order): a period that ends before the first or starts after the last can skip it.
    earliest: dt.datetime
    latest: dt.datetime


def _brief(ticket_id: str, kind: TicketKind, urgency: Urgency, channel: Channel, region: str | None, subject: str,
           status: TicketStatus, assignee: str | None, customer: str | None, created: dt.datetime,
           events: tuple[BriefEvent, ...], settled: Settled | None) -> TicketBrief:
    moments = [created, *(e.at for e in events)]
    return TicketBrief(ticket_id, kind, urgency, channel, region, subject, status, assignee, customer, created,
                       events, settled, min(moments), max(moments))


def whole_timing(ticket: Ticket, settings: TicketSettings, clock: Clockwork) -> Timing:
    """A ticket's timing at its last event: its facts for the index and its brief are worked out from it."""
    return timing(ticket, settings, clock, ticket.events[-1].at if ticket.events else ticket.created)


def brief_of(ticket: Ticket, whole: Timing) -> TicketBrief:
    """The brief of a ticket whose history replays; `whole`: its `whole_timing`."""
    events = tuple(BriefEvent(e.at, e.by, e.action, {k: v for k, v in e.extras.items() if k in WALKED_KEYS})
                   for e in ticket.events)
    settled = None if whole.first_resolved_at is None else Settled(
        whole.first_resolved_at, whole.first_resolution_due, whole.resolution_running, whole.waiting, whole.assignee)
    return _brief(ticket.id, ticket.kind, ticket.urgency, ticket.channel, ticket.region, ticket.subject,
                  ticket.status, ticket.assignee, ticket.customer, ticket.created, events, settled)


# JSON carries the walked values exactly (text, whole numbers, true/false, lists of them); a ticket holding
# anything else under a walked key (a time, say) gets no brief, and a report reads its file.
_CARRIED = (str, int, bool)


def _carried(value: Any) -> bool:
    return isinstance(value, _CARRIED) or (isinstance(value, list) and all(isinstance(v, _CARRIED) for v in value))


def encode(brief: TicketBrief) -> str | None:
    """The brief as the index keeps it (times as epoch seconds and offset); None when JSON cannot carry it."""
    if not all(_carried(value) for event in brief.events for value in event.extras.values()):
        return None
    settled = brief.settled
    return to_json([brief.id, brief.kind.value, brief.urgency.value, brief.channel.value, brief.region,
                    brief.subject, brief.status.value, brief.assignee, brief.customer, _moment(brief.created),
                    None if settled is None else [*_moment(settled.first_resolved_at),
                                                  *_moment(settled.first_resolution_due),
                                                  settled.resolution_running, settled.waiting, settled.assignee],
                    [[*_moment(e.at), e.by, e.action, e.extras] for e in brief.events]])


def decode(text: str) -> TicketBrief:
    (ticket_id, kind, urgency, channel, region, subject, status, assignee, customer, created, settled,
     events) = json.loads(text)
    walked = tuple(BriefEvent(_stamp(at, offset), by, action, extras) for at, offset, by, action, extras in events)
    if settled is not None:
        resolved, resolved_offset, due, due_offset, running, waiting, assignee = settled
        settled = Settled(_stamp(resolved, resolved_offset), _stamp(due, due_offset), running, waiting, assignee)
    return _brief(ticket_id, TicketKind(kind), Urgency(urgency), Channel(channel), region, subject,
                  TicketStatus(status), assignee, customer, _stamp(*created), walked, settled)


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


# Kept for a file whose brief JSON cannot carry: a report reads that file each time.
NO_BRIEF = ""
# Briefs fetched from the index at a time, as a listing or a report takes them (the texts of 60,000 tickets'
# briefs held at once cost ~110 MB).
CHUNK = 500

Condition = tuple[str, tuple[Any, ...]]


def ticket_briefs(store: Store, index: Index | None = None, *conditions: Condition
                  ) -> tuple[Iterator[TicketBrief], list[RecordError]]:
    """The briefs of every ticket, or with the index of the files meeting any of `conditions`, in the order of
    their paths; and what is wrong with the files that do not read or whose history does not replay (complete
    once the briefs are taken). Those the index keeps are decoded as they are taken (`_gather`)."""
    config = store.ledger.config
    clock = clockwork(config)

    def read(ticket: Record, path: Path) -> TicketBrief:
        assert isinstance(ticket, Ticket)
        replayable(ticket, path)
        return brief_of(ticket, whole_timing(ticket, config.tickets, clock))

    return _gather(store, TICKET, index, conditions, lambda text, _: decode(text), read, encode)


def remark_items(store: Store, shapes: Shapes, index: Index | None = None, *conditions: Condition
                 ) -> tuple[list[Stored], list[RecordError]]:
    """Every stored remark (as `remarks.readable` reads them, oldest first) of every remark file, or with
    the index of the files meeting any of `conditions`; and what is wrong with the files that do not read."""

    def read(record: Record, path: Path) -> list[Stored]:
        assert isinstance(record, RemarkFile)
        return stored_remarks([(record, path)], shapes)

    records = store.ledger.records
    per_file, broken = _gather(store, REMARK, index, conditions,
                               lambda text, relative: decode_remarks(text, records / relative, shapes), read,
                               encode_remarks)
    return sorted((item for items in per_file for item in items),
                  key=lambda s: (s.remark.at, s.order, s.index)), broken


def _gather(store: Store, kind: Kind, index: Index | None, conditions: tuple[Condition, ...],
            decoded: Callable[[str, str], T], read: Callable[[Record, Path], T], encoded: Callable[[T], str | None]
            ) -> tuple[Iterator[T], list[RecordError]]:
    """What a report or a listing takes of each file of `kind` (every one; with the index, those meeting
    any of `conditions`, in the order of their paths): `decoded` from the brief the index keeps (with the
    file's path relative to `records/`: a ticket's brief needs no Path, and thousands of Paths cost a report
    ~20 ms), else `read` from the file: where the index keeps no brief, or one that does not decode (the
    index is only a cache: a damaged row costs a read, not the answer), or where the row changed since it
    was selected. A file that does not read, or that `read` refuses with `RecordError`, is left out and
    said so in the list returned, complete once every item is taken.

    The files whose rows keep no brief are read first, with a bar where there are many; the index keeps
    their briefs when the file's stamp after it was read is the one its row holds: then what was read is
    the version the row describes (a change since would have moved its ctime). The briefs are then
    fetched and decoded a chunk at a time, as the items are taken."""
    selected = None
    if index is not None:
        with contextlib.suppress(sqlite3.Error):  # a damaged index costs the reading of every file
            selected = index.briefs(*conditions)
    if index is None or selected is None:
        every, broken = store.read_each(kind, None, read)
        return iter(every), broken
    records = store.ledger.records
    unread = {records / relative: (relative, stamp) for relative, kept, stamp in selected if not kept}
    briefs: list[tuple[str, str, str]] = []
    restamped: list[str] = []

    def take(record: Record, path: Path) -> tuple[str, T]:
        found = read(record, path)
        relative, stamp = unread[path]
        if stamp and stamp_of(path) == stamp:
            briefs.append((relative, stamp, encoded(found) or NO_BRIEF))
        elif stamp:
            restamped.append(relative)
        return relative, found

    taken, broken = store.read_each(kind, list(unread), take)
    if briefs:
        index.keep_briefs(briefs)
    if restamped:
        index.doubt(restamped)
    from_files = dict(taken)

    def in_order() -> Iterator[T]:
        for start in range(0, len(selected), CHUNK):
            chunk = selected[start:start + CHUNK]
            texts: dict[str, tuple[str | None, str]] | None = None
            with contextlib.suppress(sqlite3.Error):  # (then each file of the chunk is read)
                texts = index.brief_texts([relative for relative, kept, _ in chunk if kept])
            for relative, kept, stamp in chunk:
                if not kept:
                    if relative in from_files:
                        yield from_files.pop(relative)
                    continue
                if texts is not None and relative not in texts:
                    continue  # its row is gone since the selection: the file was deleted or moved meanwhile
                # (`NO_BRIEF`, a row changed since it was selected, a brief that does not decode: the file.)
                text, stamp_now = (texts or {}).get(relative, (None, ""))
                found: T | None = None
                if text and stamp_now == stamp:
                    with contextlib.suppress(ValueError, TypeError, KeyError, IndexError, ArithmeticError, OSError):
                        found = decoded(text, relative)
                if found is None:
                    read_now, broken_now = store.read_each(kind, [records / relative], read)
                    broken.extend(broken_now)
                    yield from read_now
                else:
                    yield found

    return in_order(), broken


# ----- remark files -------------------------------------------------------------------------------



def encode_remarks(items: list[Stored]) -> str | None:
    """The stored remarks of one file (`stored_remarks`) as the index keeps them, amounts in yuan as text
    (named in a list of their own); None when a value is of another type JSON does not carry."""
    if not items:
        return to_json([])
    encoded = []
    for item in items:
        values: dict[str, Any] | None = None
        yuan: list[str] = []
        if item.values is not None:
            values = {}
            for name, value in item.values.items():
                if isinstance(value, Decimal):
                    values[name] = str(value)  # as written: "12.50" keeps its places
                    yuan.append(name)
                elif _carried(value) or value is None:
                    values[name] = value
                else:
                    return None
        remark = item.remark
        encoded.append([item.index, *_moment(remark.at), remark.by, remark.kind, remark.text, values, yuan])
    first = items[0]
    return to_json([first.order, first.buyer, encoded])


def decode_remarks(text: str, path: Path, shapes: Shapes) -> list[Stored]:
    found = json.loads(text)
    if not found:
        return []
    order, buyer, encoded = found
    out = []
    for index, at, offset, by, kind, remark_text, values, yuan in encoded:
        for name in yuan:
            values[name] = Decimal(values[name])
        remark = Remark(at=_stamp(at, offset), by=by, kind=kind, text=remark_text)
        out.append(Stored(order, buyer, index, path, remark, shapes.get(kind), values))
    return out
