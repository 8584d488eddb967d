"""What the index (`csctl.storage.index`) keeps of each record, and the selections readers make with it.

Each selection is a superset of the records the reader's own code would act
on, computed by the same functions; the reader then reads those files and
answers exactly as without an index. `CSCTL_NO_INDEX=1` turns the index off
(the truth tests compare both ways, byte for byte).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from csctl import __version__
from csctl.domain import briefs
from csctl.domain import customers as customer_flow
from csctl.domain import kb as kb_flow
from csctl.domain import remarks as remark_flow
from csctl.domain import remittances as remit_flow
from csctl.domain.deadlines import clockwork
from csctl.domain.remark_shapes import Shapes, load_shapes
from csctl.domain.tickets import OPEN as OPEN_TICKET
from csctl.domain.tickets import replayable
from csctl.errors import CsctlError, RecordError
from csctl.i18n import language, msg
from csctl.models.base import Record
from csctl.models.kinds import KINDS, REMARK, REMITTANCE, REVIEW, Kind
from csctl.models.records import Customer, KbEntry, RegisterReview, RemarkFile, Remittance, Ticket
from csctl.progress import Progress, quiet
from csctl.storage.index import DECLARED_ID, Describe, Facts, Index, Judge, Verdict
from csctl.storage.layout import index_wanted
from csctl.storage.store import Store, parse_record, read_text

ALWAYS = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# (kind, path, its text, the record or why it does not read) -> `check`'s verdict on the file by itself.
Examine = Callable[[Kind, Path, str | None, Record | None, RecordError | None], Verdict]


def open_index(store: Store, kinds: Collection[Kind] = (), *, progress: Progress = quiet,
               examine: Examine | None = None, jobs: int = 1) -> Index:
    """The ledger's index, its rows of `kinds` (default all) brought up to the files on disk: with their
    facts, or with `examine`, with `check`'s verdicts (read by `jobs` processes where there is much)."""
    # Each command compares the settings of the part it reads: a reader does not pay for a roster edit.
    contexts: dict[str, Any] = ({"verdict_contexts": _verdict_contexts(store)} if examine is not None
                                else {"facts_context": _facts_context(store)})
    index = Index(store.ledger.records, store.ledger.cache, __version__, describer(store), progress, **contexts)
    index.refresh(kinds, judge=None if examine is None else judge(store, examine), language=language(), jobs=jobs)
    return index


def chosen_files(store: Store, kind: Kind, select: Callable[[Index], list[Path]]) -> list[Path] | None:
    """The files of `kind` that `select` picks with the index (its rows of `kind` brought up to date), when
    there is one; else None: every file. For a command on one record that must look at others."""
    import sqlite3

    if not index_wanted():
        return None
    try:
        return select(open_index(store, [kind]))
    except (sqlite3.Error, OSError):
        return None  # a cache that cannot be had here: read every file


def describer(store: Store) -> Describe:
    """The facts of a file as the readers take it (None: it does not read as a record, or its history
    does not replay: the readers skip it and say so)."""
    facts_of = facts_function(store)

    def describe(kind: Kind, path: Path) -> Facts | None:
        try:
            record = store.load(kind, path)
            return facts_of(kind, _replayable(record, path))
        except CsctlError:
            return None

    return describe


def judge(store: Store, examine: Examine) -> Judge:
    """`check`'s verdict on a file by itself (None: gone since its folder was listed)."""

    def judged(kind: Kind, path: Path) -> Verdict | None:
        text: str | None = None
        record: Record | None = None
        error: RecordError | None = None
        try:
            text = read_text(path)
            record = parse_record(path, text, kind)
        except RecordError as err:
            error = err
        except CsctlError:
            if not os.path.lexists(path):
                return None  # gone since its folder was listed: the next refresh drops its row
            error = RecordError(path, None, msg("check.no_file"))  # a link to nothing
        return examine(kind, path, text, record, error)

    return judged


def _replayable(record: Record, path: Path) -> Record:
    """A record as the readers take it: a ticket or remittance whose history does not replay does not read."""
    if isinstance(record, Ticket):
        return replayable(record, path)
    if isinstance(record, Remittance):
        return remit_flow.replayable(record, path)
    return record


# Settings no fact, brief or verdict reads: the roster (`check` judges people across the files, and only a
# remark file's verdict reads it: `_verdict_contexts`), the team's name (a report's title), git's and the lock's.
_UNREAD_SETTINGS: dict[str, Any] = {"agents": True, "team": {"name"}, "git": True, "lock": True}


def _facts_context(store: Store) -> str:
    """What the facts and briefs depend on besides their files and csctl: the templates (a remark's shape)
    and the settings as they read (not as they are written: a comment or a key's order changes nothing)."""
    settings = store.ledger.config.model_dump(mode="json", exclude=_UNREAD_SETTINGS)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False).encode())
    for path in sorted(store.ledger.templates.glob("*.toml")):
        try:
            digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
        except OSError:
            digest.update(b"\0" + path.name.encode() + b"\0missing")
    return digest.hexdigest()


def _verdict_contexts(store: Store) -> dict[str, str]:
    """What each kind's verdicts depend on besides their files and csctl: what the facts do (a rule may read
    any setting but the roster), and a remark file's, the roster's names and roles too (its text is matched
    with the names remarks are signed with, its writer's role against the shape's). Every other verdict
    leaves the roster to `check`, which judges the people each file names against it across the files: so
    adding or editing people, the commonest edit of the settings, has it read the remark files alone."""
    settings = _facts_context(store)
    roster = [[agent.id, agent.name, agent.role.value] for agent in store.ledger.config.agents]
    with_roster = hashlib.sha256(f"{settings}\0{json.dumps(roster, ensure_ascii=False)}".encode()).hexdigest()
    return {kind.name: with_roster if kind is REMARK else settings for kind in KINDS.values()}


def facts_function(store: Store) -> Callable[[Kind, Record], Facts]:
    config = store.ledger.config
    ticket_clock = clockwork(config)
    remit_clock = remit_flow.verify_clock(config)
    shapes = None

    def facts(kind: Kind, record: Record) -> Facts:
        nonlocal shapes
        # A merged or back-dated history is ordered by when events were written, not by `at`.
        times = [record.created, *(e.at for e in record.events)]
        first, last = min(times), max(times)
        if isinstance(record, Ticket):
            t = briefs.whole_timing(record, config.tickets, ticket_clock)
            candidates = [t.response_due if t.responded_at is None else None,
                          t.resolution_due if t.resolved_at is None else None, t.callback_due]
            return Facts(first, last, due=_earliest(candidates), finished=record.status not in OPEN_TICKET,
                         extra=_present(status=record.status.value, customer=record.customer,
                                        assignee=record.assignee, cites=list(kb_flow.citations(record))))
        if isinstance(record, Remittance):
            paid = record.status is remit_flow.PAID
            differs = paid and remit_flow.paid_total(record) != record.amount
            # A paid amount that differs is an alert from the moment it is known, whatever the clock says.
            candidates = [remit_flow.verify_due(record, config, remit_clock) if paid else None,
                          ALWAYS if differs else None]
            days = {day.isoformat(): digest for day, digest in remit_flow.remit_days(record, config).items()}
            return Facts(first, last, due=_earliest(candidates), finished=record.status not in remit_flow.OPEN,
                         extra=_present(id=record.id, days=days, status=record.status.value, buyer=record.buyer,
                                        agent=record.agent, customer=record.customer))
        if isinstance(record, RemarkFile):
            if shapes is None:
                shapes = load_shapes(store.ledger)
            items = remark_flow.stored_remarks([(record, Path())], shapes)
            refund_limit = remark_flow.register_limit(config.remarks.refund_register_within)
            balance_limit = remark_flow.register_limit(config.remarks.balance_register_within)
            waiting = [r.at + refund_limit for r in remark_flow.refunds_from(items)
                       if r.to_register and not r.registered]
            waiting += [d.at + balance_limit for d in remark_flow.deductions_from(items)
                        if d.repeats is None and not d.registered]
            return Facts(first, last, due=_earliest(waiting), finished=not waiting,
                         extra={"id": record.id, "buyer": record.buyer})
        if isinstance(record, RegisterReview):
            return Facts(first, last, extra={"day": record.id, "digests": {e.id: e.digest for e in record.entries}})
        if isinstance(record, KbEntry):
            return Facts(first, last, extra={"id": record.id, "question": record.question})
        if isinstance(record, Customer):
            return Facts(first, last, extra=_present(phone=customer_flow.phone_key(record.phone)))
        return Facts(first, last)

    return facts


def _present(**facts: Any) -> dict[str, Any]:
    """The facts that hold something (a ticket assigned to no one, naming no customer and citing nothing
    keeps only its status): some questions read the facts of every row of a kind."""
    return {name: value for name, value in facts.items() if value not in (None, [])}


def _earliest(moments: Iterable[dt.datetime | None]) -> dt.datetime | None:
    return min((m for m in moments if m is not None), default=None)


# ----- selections -------------------------------------------------------------------------------

def due_by(index: Index, kind: Kind, now: dt.datetime) -> list[Path]:
    """Files that may raise an alert by `now`, and those that do not read (they are alerts themselves). Of
    remark files, with every file declaring the same order as one of them: a remark is registered by a
    later one on its order, whichever file of the order holds it."""
    moment = int(now.timestamp())
    due: tuple[str, tuple[Any, ...]] = ("kind = ? AND due <= ?", (kind.name, moment))
    if kind is REMARK:
        due = (f"kind = ? AND {DECLARED_ID} IN (SELECT {DECLARED_ID} FROM files WHERE kind = ? AND due <= ?)",
               (kind.name, kind.name, moment))
    return index.paths(due, ("kind = ? AND finished = 0 AND readable = 0", (kind.name,)))


def chosen_and_unreadable(index: Index, kind: Kind, *conditions: tuple[str, tuple[Any, ...]]) -> list[Path]:
    """The files meeting any of `conditions`, and the files of `kind` that do not read (for a listing to say
    it left them out, as it does without the index)."""
    return index.paths(*conditions, ("kind = ? AND readable = 0", (kind.name,)))


def unfinished(index: Index, kind: Kind, *, with_unreadable: bool = False) -> list[Path]:
    """Files of records not finished yet (and, for a listing that says what it skipped, the unreadable)."""
    return index.paths(("kind = ? AND finished = 0" + ("" if with_unreadable else " AND readable = 1"),
                        (kind.name,)))


def active(kind: Kind, periods: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[tuple[str, tuple[Any, ...]]]:
    """The conditions (for `Index.paths` or `Index.briefs`) of the files the figures of periods (each
    [start, end)) may count: begun before a period's end, and moved since its start or not finished.
    Unreadable files come too, so that the reader says it left them out."""
    conditions: list[tuple[str, tuple[Any, ...]]] = []
    for start, end in periods:
        conditions.append(("kind = ? AND last_at >= ? AND first_at < ?",
                           (kind.name, int(start.timestamp()), int(end.timestamp()))))
        conditions.append(("kind = ? AND finished = 0 AND (readable = 0 OR first_at < ?)",
                           (kind.name, int(end.timestamp()))))
    return conditions


def matching(kind: Kind, tz: dt.tzinfo, *, equal: Mapping[str, str | None] | None = None,
             one_of: Mapping[str, Collection[str]] | None = None, created_from: dt.date | None = None,
             created_to: dt.date | None = None, due_by: dt.datetime | None = None) -> tuple[str, tuple[Any, ...]]:
    """The condition (for `Index.paths` or `Index.briefs`) of the readable files of `kind` whose facts do
    not rule out a listing's filter: each fact of `equal` given that value, each of `one_of` one of those
    values, created within the dates, due by `due_by` (None: any of these not asked). Created within the
    dates: its history ends after the first date begins and begins before the last one ends (a day more
    each way: midnight in the ledger's zone is never off by more)."""
    where = ["kind = ? AND readable = 1"]
    values: list[Any] = [kind.name]
    for name, value in (equal or {}).items():
        if value is not None:
            where.append(f"json_extract(facts, '$.{name}') = ?")
            values.append(value)
    for name, chosen in (one_of or {}).items():
        where.append(f"json_extract(facts, '$.{name}') IN ({','.join('?' * len(chosen))})")
        values += sorted(chosen)
    if created_from is not None:
        where.append("last_at >= ?")
        values.append(_midnight(created_from - dt.timedelta(days=1), tz))
    if created_to is not None:
        where.append("first_at < ?")
        values.append(_midnight(created_to + dt.timedelta(days=2), tz))
    if due_by is not None:
        where.append("due <= ?")
        values.append(int(due_by.timestamp()))
    return " AND ".join(where), tuple(values)


def _midnight(day: dt.date, tz: dt.tzinfo) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp())


# The remark files of a buyer's orders: the buyer's, and every other file declaring one of those orders (a
# deduction's repeats and registrations are told per order, across the files that declare it).
_BUYERS_ORDERS = (f"kind = 'remark' AND {DECLARED_ID} IN (SELECT {DECLARED_ID} FROM files "
                  "WHERE kind = 'remark' AND json_extract(facts, '$.buyer') = ?)")


def remark_files_of(index: Index, buyer: str, order: str) -> list[Path]:
    """The remark files a buyer's balance chain runs through: those of the buyer's orders, and the order's
    own (by the ID it declares, or by its name: a new remark may begin it)."""
    return index.paths((_BUYERS_ORDERS, (buyer,)),
                       (f"kind = 'remark' AND ({DECLARED_ID} = ? OR path LIKE ?)", (order, f"%/{order}.toml")))


def listed_remarks(store: Store, index: Index | None, *, order: str | None = None, buyer: str | None = None
                   ) -> tuple[Shapes, list[remark_flow.Stored], list[RecordError]]:
    """What `remarks.readable` answers, for a listing: the ledger's shapes, the stored remarks (oldest
    first) and the files that do not read. With the index, the remarks come from the briefs it keeps, and
    only from the files of `order` (the ID a file declares) or else of `buyer`'s orders, when one is
    given."""
    if index is None:
        return remark_flow.readable(store)
    shapes = load_shapes(store.ledger)
    chosen = ([(f"kind = 'remark' AND {DECLARED_ID} = ?", (order,))] if order is not None else
              [(_BUYERS_ORDERS, (buyer,))] if buyer is not None else [])
    conditions = [*chosen, ("kind = ? AND readable = 0", (REMARK.name,))] if chosen else [("kind = ?", (REMARK.name,))]
    items, broken = briefs.remark_items(store, shapes, index, *conditions)
    return shapes, items, broken


def kb_questions(index: Index, files: Iterable[str]) -> dict[str, str]:
    """The question of each readable knowledge entry at `files` (relative to `records/`), by the ID it
    declares; where two declare one ID, the later by path."""
    # (`+kind`: found by path, not by reading every row of the kind.)
    rows = index.rows("+kind = 'kb' AND readable = 1 AND path IN (SELECT value FROM json_each(?))",
                      (json.dumps(sorted(files)),))
    return {row.facts["id"]: row.facts["question"] for row in sorted(rows, key=lambda row: row.path)}


def days_to_review(index: Index) -> tuple[dict[dt.date, dict[str, str]], list[Path]]:
    """The register days whose review is missing or signed other digests than the remittances' now (each
    with its digests, as `remittances.day_digests` computes them from the files), and the review files to
    read for them: theirs, and those that do not read (an alert of their own)."""
    digests: dict[dt.date, dict[str, str]] = {}
    for facts in index.facts_of(REMITTANCE):
        for day, digest in facts["days"].items():
            digests.setdefault(dt.date.fromisoformat(day), {})[facts["id"]] = digest
    signed = {row.facts["day"]: row for row in index.rows("kind = ? AND readable = 1", (REVIEW.name,))}
    doubtful = {day: now for day, now in digests.items()
                if (row := signed.get(day.isoformat())) is None or row.facts["digests"] != now}
    files = [signed[day.isoformat()].path for day in doubtful if day.isoformat() in signed]
    files += [row.path for row in index.rows("kind = ? AND readable = 0", (REVIEW.name,))]
    return doubtful, sorted(files)
