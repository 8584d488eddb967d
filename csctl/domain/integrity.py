"""`check`, `fmt` and the duplicate-ID repair: the ledger's integrity, file by file.

Checks never raise: each rule returns what it found, and `check_ledger` turns
that into `Problem`s with `path:line` (as beancount's validations do). Rules of
later workflows join `RECORD_RULES` under their kind.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from csctl.domain.auth import require
from csctl.domain.calendar import WorkCalendar
from csctl.domain.checks import CheckContext, Finding, LedgerRule, Rule
from csctl.domain.customers import CUSTOMER_RULES
from csctl.domain.kb import KB_RULES
from csctl.domain.merge import driver_warning
from csctl.domain.phrases import Phrases
from csctl.domain.remarks import REMARK_RULES, RemarkRules
from csctl.domain.remittances import REMITTANCE_RULES
from csctl.domain.tickets import TICKET_RULES, FollowUpLinks
from csctl.errors import CsctlError, Problem, RecordError
from csctl.i18n import msg
from csctl.models.base import Event, Record
from csctl.models.config import AgentEntry, LedgerConfig
from csctl.models.kinds import AGENT, KINDS, Kind
from csctl.progress import SHOWN_FROM, Progress, quiet
from csctl.storage import ids
from csctl.storage.ledger import CONFIG_NAME
from csctl.storage.locate import key_lines, line_of
from csctl.storage.store import Store, parse_record, read_text
from csctl.storage.toml_io import dump_record


def rule_references(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    for name, target in kind.references.items():
        value = getattr(record, name)
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if item is not None and ctx.exists(target, item) is False:
                where = f"{name}.{index}" if isinstance(value, list) else name
                yield Finding((name,), msg("check.unknown_ref", field=where, kind=msg(f"kind.{target}"), value=item))
    remarks = getattr(record, "remarks", [])
    for index, remark in enumerate(remarks):
        if ctx.exists(AGENT, remark.by) is False:
            yield Finding(("remarks", index, "by"), msg(
                "check.unknown_ref", field=f"remarks.{index}.by", kind=msg("kind.agent"), value=remark.by
            ))
    for index, event in enumerate(record.events):
        if ctx.exists(AGENT, event.by) is False:
            yield Finding(("events", index, "by"), msg(
                "check.unknown_ref", field=f"events.{index}.by", kind=msg("kind.agent"), value=event.by
            ))


def rule_event_order(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    previous: Event | None = None
    for index, event in enumerate(record.events):
        if previous is not None and event.written_at < previous.written_at:
            yield Finding(("events", index, "at"), msg(
                "check.event_order", index=index, at=_stamp(event.written_at),
                previous=_stamp(previous.written_at),
            ))
        previous = event
    if record.events and record.created > record.events[0].at:
        yield Finding(("created",), msg(
            "check.created_after_event", created=_stamp(record.created), first=_stamp(record.events[0].at)
        ))


def _stamp(value: dt.datetime) -> str:
    return value.isoformat()


COMMON_RULES: tuple[Rule, ...] = (rule_references, rule_event_order)
# Each workflow's own rules, under its kind's name.
RECORD_RULES: dict[str, tuple[Rule, ...]] = {**{name: () for name in KINDS}, "ticket": TICKET_RULES, "kb": KB_RULES,
                                             "customer": CUSTOMER_RULES, "remittance": REMITTANCE_RULES,
                                             "remark": REMARK_RULES}
# Rules across the records of a kind, made fresh for each check.
LEDGER_RULES: dict[str, tuple[Callable[[], LedgerRule], ...]] = {"ticket": (FollowUpLinks,), "remark": (RemarkRules,)}


@dataclass
class CheckReport:
    files: int = 0
    problems: list[Problem] = field(default_factory=list)

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.path, p.line or 0, p.message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]


def select(store: Store, paths: list[Path] | None) -> tuple[bool, list[tuple[Kind | None, Path]]]:
    """(whether csctl.toml is included, the record files to look at) for PATH arguments."""
    if not paths:
        return True, [*store.iter_paths(), *((None, path) for path in store.iter_strays())]
    with_config = False
    chosen: list[tuple[Kind | None, Path]] = []
    root = store.ledger.root.resolve()
    for given in paths:
        path = given.resolve()
        try:
            missing = not path.exists()
        except OSError:  # a name longer than the system allows
            missing = True
        if missing:
            raise CsctlError(f"{given}: no such file or folder")
        if path == store.ledger.config_path.resolve():
            with_config = True
            continue
        if path != root and root not in path.parents:
            raise CsctlError(msg("check.outside", path=given, ledger=store.ledger.root))
        if path.is_dir():
            if path == root:
                with_config = True
            if path in (root, store.ledger.records.resolve()):
                chosen.extend(store.iter_paths())
                chosen.extend((None, stray) for stray in store.iter_strays())
                continue
            chosen.extend(
                (store.kind_of(p), p) for p in store.toml_under(path)
            )
        else:
            chosen.append((store.kind_of(path), path))
    return with_config, chosen


def check_ledger(store: Store, now: dt.datetime, paths: list[Path] | None = None,
                 progress: Progress = quiet) -> CheckReport:
    ledger = store.ledger
    report = CheckReport()
    with_config, chosen = select(store, paths)
    config: LedgerConfig | None = None
    try:
        config = ledger.config
    except RecordError as err:
        if with_config:
            report.problems.append(Problem(ledger.relative(err.path), err.line, err.message))
    if with_config:
        report.files += 1
    known: dict[str, set[str]] = {name: set() for name in KINDS}
    for known_kind, known_path in store.iter_paths():
        known[known_kind.name].add(known_path.stem)
    ctx = CheckContext(config, known, _phrases(store, report))
    if with_config and config is not None:
        report.problems.extend(_calendar_warnings(store, config, now))
    if with_config and (unconfigured := driver_warning(ledger.root)) is not None:
        report.problems.append(unconfigured)
    declared: dict[tuple[str, str], list[Path]] = defaultdict(list)
    across = {name: [make() for make in makers] for name, makers in LEDGER_RULES.items()}
    show = progress if len(chosen) >= SHOWN_FROM else quiet
    with ledger.lock(exclusive=False, what="check"), show(chosen, msg("check.reading")) as files:
        for kind, path in files:
            report.files += 1
            if kind is None:
                report.problems.append(Problem(ledger.relative(path), None, msg("check.not_record")))
                continue
            try:
                text = read_text(path)
                record = parse_record(path, text, kind)
            except RecordError as err:
                report.problems.extend(Problem(ledger.relative(path), line, message) for line, message in err.all)
                continue
            declared[(kind.name, record.id)].append(path)
            for rule in across.get(kind.name, ()):
                rule.see(record, path)
            findings = list(_findings(store, kind, path, record, ctx))
            if findings:
                lines = key_lines(text)
                where = ledger.relative(path)
                report.problems.extend(Problem(where, line_of(lines, f.loc), f.message, f.warning) for f in findings)
    for rules in across.values():
        for rule in rules:
            for path, finding in rule.finish():
                lines = key_lines(read_text(path))
                report.problems.append(Problem(ledger.relative(path), line_of(lines, finding.loc), finding.message,
                                               finding.warning))
    report.problems.extend(_duplicate_problems(store, declared))
    return report


def _phrases(store: Store, report: CheckReport) -> Phrases | None:
    try:
        return Phrases.from_template(store.ledger.template("phrases.toml"))
    except RecordError as err:
        report.problems.append(Problem(store.ledger.relative(err.path), err.line, err.message))
    except CsctlError as err:
        report.problems.append(Problem("templates/phrases.toml", None, str(err).split(": ", 1)[-1]))
    return None


def _calendar_warnings(store: Store, config: LedgerConfig, now: dt.datetime) -> Iterator[Problem]:
    """Holidays of this year and the coming one should be in the calendar (a warning only)."""
    if config.tickets.count != "working":
        return
    calendar = WorkCalendar.from_settings(config.calendar, config.tz)
    year = now.astimezone(config.tz).year
    missing = [y for y in (year, year + 1) if not calendar.covers_year(y)]
    if missing:
        line = line_of(key_lines(read_text(store.ledger.config_path)), ("calendar", "holidays"))
        yield Problem(CONFIG_NAME, line, msg("check.calendar_missing", years=", ".join(map(str, missing))), True)


def _findings(store: Store, kind: Kind, path: Path, record: Record, ctx: CheckContext) -> Iterator[Finding]:
    yield from _placement(store, kind, path, record)
    for rule in (*COMMON_RULES, *RECORD_RULES[kind.name]):
        yield from rule(record, kind, ctx)


def _placement(store: Store, kind: Kind, path: Path, record: Record) -> Iterator[Finding]:
    if kind.prefix and (ids.ID_PATTERN.fullmatch(record.id) is None or record.id[0] != kind.prefix):
        yield Finding(("id",), "id: " + msg("store.not_an_id", text=record.id, kind=msg(f"kind.{kind.name}"),
                                             example=f"{kind.prefix}-261123-0F3KQ"))
        return
    if record.id != path.stem:
        yield Finding(("id",), msg("check.id_mismatch", id=record.id, stem=path.stem))
        return
    expected = store.path_for(kind, record.id, record.created.date())
    if kind.prefix is None and expected.parent != path.parent:
        # A remark file is filed by the month of its first remark; any month folder will do
        # as long as the order has one file only (duplicates are reported apart).
        return
    if expected != path and expected.resolve() != path.resolve():
        yield Finding(("id",), msg("check.misplaced", expected=store.ledger.relative(expected)))


def _duplicate_problems(store: Store, declared: dict[tuple[str, str], list[Path]]) -> Iterator[Problem]:
    for (kind_name, record_id), paths in sorted(declared.items()):
        kind = KINDS[kind_name]
        if kind.prefix and len(paths) == 1 and paths[0] == store.path_for(kind, record_id):
            continue  # the usual case: one file, where it belongs
        others = {*paths, *store.files_named(kind, record_id)}
        others = {p.resolve() for p in others}
        if len(others) < 2:
            continue
        for path in sorted(p for p in others if p in {q.resolve() for q in paths}):
            rest = ", ".join(store.ledger.relative(p) for p in sorted(others) if p != path)
            yield Problem(store.ledger.relative(path), None, msg("check.duplicate", id=record_id, others=rest))


def find_duplicates(store: Store) -> dict[tuple[Kind, str], list[Path]]:
    """Files declaring the same ID, for every kind with generated IDs."""
    groups: dict[tuple[Kind, str], list[Path]] = defaultdict(list)
    for kind, path in store.iter_paths():
        if kind.prefix is None:
            continue
        try:
            record = store.load(kind, path)
        except CsctlError:
            continue  # `check` reports unreadable files; they cannot be renamed safely
        groups[(kind, record.id)].append(path)
    return {key: paths for key, paths in groups.items() if len(paths) > 1}


@dataclass(frozen=True)
class Reference:
    """A field of a record that names another record by its ID."""

    path: Path
    field: str


@dataclass(frozen=True)
class Rename:
    kind: Kind
    old_id: str
    new_id: str
    path: Path
    # References rewritten to the new ID, and references to the old ID that could be either copy's.
    references: tuple[Reference, ...] = ()
    unclear: tuple[Reference, ...] = ()


@dataclass
class _Copy:
    """One of the records sharing an ID: as found, and as it will be once repaired."""

    kind: Kind
    path: Path
    found: Record
    new_id: str | None = None  # None: this copy keeps the ID
    record: Record | None = None  # the record to write (renamed, references rewritten)
    references: list[Reference] = field(default_factory=list)
    unclear: list[Reference] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return self.new_id is None


def repair_duplicates(store: Store, actor: AgentEntry, now: dt.datetime) -> list[Rename]:
    """Give every duplicate but one a fresh ID, rewrite the references to it, and record both as events.

    The file already at the ID's own path keeps it (else the one created
    first); the others are re-filed under a new ID at their right path, with a
    `renamed` event. A record naming the old ID is rewritten to the new one
    when it belongs with the renamed copy: that copy names it back (a
    follow-up and its origin), or it is itself a renamed copy of a duplicate
    (the merge driver files every copy of the other side beside ours, so
    renamed copies come from one clone). Such a rewrite is a `renamed` event on
    the referring record, with `field`. A reference that could mean either copy
    keeps the old ID and is reported. Everything is planned and checked before
    anything is written.
    """
    require(actor, "records.repair")
    tz = store.ledger.config.tz
    when = now.astimezone(tz)
    with store.ledger.lock(exclusive=True, what="repair duplicates", finishing_git=True):
        groups = find_duplicates(store)
        if not groups:
            return []
        copies = _plan_renames(store, groups, actor, when)
        by_path = {c.path.resolve(): c for group in copies.values() for c in group}
        rewritten: list[tuple[Kind, Path, Record, Record]] = []
        for kind, path, record in _readable(store):
            copy = by_path.get(path.resolve())
            current = copy.record if copy is not None and copy.record is not None else record
            changed = _rewrite_references(kind, path, record, current, copies, copy, actor, when)
            if changed is current:
                continue
            store.check_growth(path, current, changed)
            if copy is not None and not copy.kept:
                copy.record = changed
            else:
                rewritten.append((kind, path, record, changed))
        done: list[Rename] = []
        for group in copies.values():
            for copy in group:
                if copy.kept or copy.record is None or copy.new_id is None:
                    continue
                if not store.file_new(copy.kind, copy.record):
                    raise CsctlError(msg("store.exists", kind=msg(f"kind.{copy.kind.name}"), id=copy.new_id))
                store.remove(copy.path)
                done.append(Rename(copy.kind, copy.found.id, copy.new_id, store.path_for(copy.kind, copy.new_id),
                                   tuple(copy.references), tuple(copy.unclear)))
        for kind, path, old, new in rewritten:
            store.replace(kind, path, old, new)
    return done


def _plan_renames(store: Store, groups: dict[tuple[Kind, str], list[Path]], actor: AgentEntry,
                  when: dt.datetime) -> dict[tuple[str, str], list[_Copy]]:
    planned: set[str] = set()
    copies: dict[tuple[str, str], list[_Copy]] = {}
    for (kind, record_id), paths in sorted(groups.items(), key=lambda kv: (kv[0][0].name, kv[0][1])):
        canonical = store.path_for(kind, record_id).resolve()
        found = [_Copy(kind, p, store.load(kind, p)) for p in paths]
        found.sort(key=lambda c: (c.path.resolve() != canonical, c.found.created, str(c.path)))
        for copy in found[1:]:
            copy.new_id = _fresh_id(store, kind, copy.found.created, planned)
            planned.add(copy.new_id)
            event = Event(at=when, by=actor.id, action="renamed", old_id=record_id, new_id=copy.new_id)
            copy.record = copy.found.with_event(event, id=copy.new_id)
            store.check_growth(copy.path, copy.found, copy.record)
        copies[(kind.name, record_id)] = found
    return copies


def _fresh_id(store: Store, kind: Kind, created: dt.datetime, planned: set[str]) -> str:
    """A new ID, unlike every ID on file and every one planned in this repair."""
    assert kind.prefix is not None
    local = created.astimezone(store.ledger.config.tz)
    folder = store.folder(kind) / f"{local:%Y}" / f"{local:%m}" if kind.dated else store.folder(kind)
    head = f"{kind.prefix}-{local:%y%m%d}-"
    taken = [p.stem for p in store.toml_under(folder) if p.stem.startswith(head)]
    return ids.new_id(kind.prefix, local, [*taken, *(i for i in planned if i.startswith(head))])


def _readable(store: Store) -> Iterator[tuple[Kind, Path, Record]]:
    for kind, path in store.iter_paths():
        try:
            yield kind, path, store.load(kind, path)
        except CsctlError:
            continue  # `check` reports it; a file that cannot be read cannot be rewritten


def _rewrite_references(kind: Kind, path: Path, found: Record, current: Record,
                        copies: dict[tuple[str, str], list[_Copy]], itself: _Copy | None, actor: AgentEntry,
                        when: dt.datetime) -> Record:
    """`current` with each reference that belongs with a renamed copy rewritten to its new ID."""
    record = current
    for name, target in kind.references.items():
        value = getattr(found, name)
        for old_id in value if isinstance(value, list) else [value]:
            group = copies.get((target, old_id)) if old_id is not None else None
            if group is None:
                continue
            chosen = _meant(kind, found, group, itself)
            renamed = [c for c in group if not c.kept]
            if chosen is None:
                renamed[0].unclear.append(Reference(path, name))
            elif not chosen.kept and chosen.new_id is not None:
                chosen.references.append(Reference(path, name))
                now_value = getattr(record, name)
                new_value = ([chosen.new_id if v == old_id else v for v in now_value] if isinstance(now_value, list)
                             else chosen.new_id)
                event = Event(at=when, by=actor.id, action="renamed", old_id=old_id, new_id=chosen.new_id,
                              field=name)
                record = record.with_event(event, **{name: new_value})
    return record


def _meant(kind: Kind, referrer: Record, group: list[_Copy], itself: _Copy | None) -> _Copy | None:
    """Which copy of a duplicated ID a reference means, or None when the records cannot tell."""
    named_back = [c for c in group if _names(c, kind.name, referrer.id)]
    if len(named_back) == 1:
        return named_back[0]
    if itself is not None:
        same_side = [c for c in (named_back or group) if c.kept == itself.kept]
        if len(same_side) == 1:
            return same_side[0]
    return None


def _names(copy: _Copy, kind_name: str, record_id: str) -> bool:
    for name, target in copy.kind.references.items():
        if target != kind_name:
            continue
        value = getattr(copy.found, name)
        if record_id in (value if isinstance(value, list) else [value]):
            return True
    return False


def fmt_files(store: Store, paths: list[Path] | None,
              writer: AgentEntry | None = None) -> tuple[list[Path], list[Problem]]:
    """Records not in canonical form (rewritten when a `writer` is given), and files that cannot be read.

    When any file cannot be read nothing is written: fixing it comes first.
    """
    write = writer is not None
    if writer is not None:
        require(writer, "records.fmt")
    _, chosen = select(store, paths)
    ledger = store.ledger
    changed: list[tuple[Path, Kind, Record]] = []
    problems: list[Problem] = []
    with ledger.lock(exclusive=write, what="fmt"):
        for kind, path in chosen:
            if kind is None:
                problems.append(Problem(ledger.relative(path), None, msg("check.not_record")))
                continue
            try:
                text = read_text(path)
                record = parse_record(path, text, kind)
            except RecordError as err:
                problems.append(Problem(ledger.relative(path), err.line, err.message))
                continue
            if dump_record(record) != text:
                changed.append((path, kind, record))
        if write and not problems:
            for path, kind, record in changed:
                store.rewrite(path, kind, record)
    return [path for path, _, _ in changed], problems
