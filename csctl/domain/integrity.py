"""`check`, `fmt` and the duplicate-ID repair: the ledger's integrity, file by file.

Checks never raise: each rule returns what it found, and `check_ledger` turns
that into `Problem`s with `path:line` (as beancount's validations do). Rules of
later workflows join `RECORD_RULES` under their kind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from csctl.domain.auth import require
from csctl.domain.calendar import WorkCalendar
from csctl.domain.checks import CheckContext, Finding, Rule
from csctl.domain.customers import CUSTOMER_RULES
from csctl.domain.kb import KB_RULES
from csctl.domain.merge import driver_warning
from csctl.domain.phrases import Phrases
from csctl.domain.remark_shapes import Shapes, TemplateError, load_shapes
from csctl.domain.remarks import REMARK_RULES, Deduction, chain_breaks, chain_deductions, remark_findings
from csctl.domain.remittances import REMITTANCE_RULES
from csctl.domain.tickets import TICKET_RULES, Links, followup_findings
from csctl.errors import CsctlError, Problem, RecordError
from csctl.i18n import language, msg
from csctl.models.base import Event, Record
from csctl.models.config import AgentEntry, LedgerConfig
from csctl.models.kinds import AGENT, KIND_BY_FOLDER, KINDS, REMARK, TICKET, Kind
from csctl.models.records import Remark, RemarkFile, Ticket
from csctl.progress import Progress, quiet
from csctl.storage import ids
from csctl.storage.index import Index, Verdict, to_json
from csctl.storage.layout import CONFIG_NAME, RECORDS, index_wanted
from csctl.storage.locate import Loc, key_lines, line_of
from csctl.storage.store import Store, filed_at, parse_record, read_text
from csctl.storage.toml_io import dump_record


def _named(record: Record, kind: Kind) -> Iterator[tuple[Loc, str, str, str]]:
    """Each reference a record holds: (where, the field as printed, the kind it names, the ID)."""
    for name, target in kind.references.items():
        value = getattr(record, name)
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if item is not None:
                yield (name,), f"{name}.{index}" if isinstance(value, list) else name, target, item
    for index, remark in enumerate(_remarks_of(record)):
        yield ("remarks", index, "by"), f"remarks.{index}.by", AGENT, remark.by
    for index, event in enumerate(record.events):
        yield ("events", index, "by"), f"events.{index}.by", AGENT, event.by


def _remarks_of(record: Record) -> list[Remark]:
    # Not `getattr(record, "remarks", [])`: a pydantic model's missing attribute costs an exception.
    return record.remarks if isinstance(record, RemarkFile) else []


def _unknown(where: str, target: str, value: str) -> str:
    return msg("check.unknown_ref", field=where, kind=msg(f"kind.{target}"), value=value)


def record_references(record: Record, kind: Kind, known: Mapping[str, Collection[str] | None]) -> Iterator[Finding]:
    """The records a record names that are not on file, and the people not on the roster: `known` gives the
    names of each kind (a kind it gives None, any name)."""
    for loc, where, target, value in _named(record, kind):
        names = known[target]
        if names is not None and value not in names:
            yield Finding(loc, _unknown(where, target, value))


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


COMMON_RULES: tuple[Rule, ...] = (rule_event_order,)
# Each workflow's own rules, under its kind's name.
RECORD_RULES: dict[str, tuple[Rule, ...]] = {**{name: () for name in KINDS}, "ticket": TICKET_RULES, "kb": KB_RULES,
                                             "customer": CUSTOMER_RULES, "remittance": REMITTANCE_RULES,
                                             "remark": REMARK_RULES}


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
                 progress: Progress = quiet, *, jobs: int = 1) -> CheckReport:
    """Every problem of the files at `paths` (default the whole ledger), each judged against the whole
    ledger. What a file shows by itself is kept in the index with its stat (`Examiner`), so that only
    files changed since the last check are read; `jobs` processes share the reading."""
    ledger = store.ledger
    report = CheckReport()
    with_config, chosen, strays = _chosen(store, paths)
    config: LedgerConfig | None = None
    try:
        config = ledger.config
    except RecordError as err:
        if with_config:
            report.problems.append(Problem(ledger.relative(err.path), err.line, err.message))
    if with_config:
        report.files += 1
    ctx = CheckContext(config, _phrases(store, report))
    examiner = Examiner(store, ctx)
    if with_config and config is not None:
        report.problems.extend(_calendar_warnings(store, config, now))
    if with_config and (unconfigured := driver_warning(ledger.root)) is not None:
        report.problems.append(unconfigured)
    for stray in strays:
        report.files += 1
        report.problems.append(Problem(ledger.relative(stray), None, msg("check.not_record")))
    with ledger.lock(exclusive=False, what="check"):
        # The index's facts need the settings: with a broken csctl.toml every file is read, without it.
        index = _checked(store, examiner, progress, jobs, kept=config is not None)
        if config is not None:
            report.problems.extend(_template_problems(index, examiner))
        _judge(store, index, chosen, report, examiner.roster)
        if chosen is not None:
            _judge_unindexed(store, examiner, chosen.difference(index.checked_paths()), report)
    return report


def _chosen(store: Store, paths: list[Path] | None) -> tuple[bool, set[str] | None, list[Path]]:
    """(whether csctl.toml is checked, the record files checked — relative to `records/`, None: all —
    and the files under `records/` that are no record)."""
    if not paths:
        return True, None, list(store.iter_strays())
    with_config, selected = select(store, paths)
    records = store.ledger.records.resolve()
    chosen = {path.resolve().relative_to(records).as_posix() for kind, path in selected if kind is not None}
    return with_config, chosen, [path for kind, path in selected if kind is None]


def _phrases(store: Store, report: CheckReport) -> Phrases | None:
    try:
        return Phrases.from_template(store.ledger.template("phrases.toml"))
    except RecordError as err:
        report.problems.append(Problem(store.ledger.relative(err.path), err.line, err.message))
    except CsctlError as err:
        report.problems.append(Problem("templates/phrases.toml", None, str(err).split(": ", 1)[-1]))
    return None


def _template_problems(index: Index, examiner: Examiner) -> list[Problem]:
    """What is wrong with templates/remarks.toml: remembered by the index with the templates it was found
    in (loading the shapes and matching their examples is most of a check that has no file to read)."""
    found = index.remembered(f"template problems:{language()}", lambda: json.dumps(
        [[p.path, p.line, p.message] for p in examiner.shape_problems], ensure_ascii=False))
    return [Problem(path, line, message) for path, line, message in json.loads(found)]


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


class Examiner:
    """`check`'s verdict on one file by itself (an `indexing.Examine`): what the file says needs nothing
    but the file, the settings and the templates — the verdict's context in the index — so the
    verdict is kept with the file's stat. It also notes what the file must be judged on against the
    others and the roster: the records and people it names, its follow-up links, the deductions it adds to
    a buyer's chain. (So a roster edit, the commonest edit of the settings, leaves the verdicts standing but
    those of remark files, whose shapes read the roster's names and roles: `indexing._verdict_contexts`.)"""

    def __init__(self, store: Store, ctx: CheckContext) -> None:
        self.store = store
        self.ctx = ctx
        self.roster = None if ctx.config is None else frozenset(agent.id for agent in ctx.config.agents)

    @cached_property
    def _shapes_loaded(self) -> tuple[Shapes | None, list[Problem]]:
        """The ledger's remark shapes, their examples matched (None when the template is broken, and
        the problems that break it). Loaded by the first remark file read, in each process."""
        ledger = self.store.ledger
        try:
            return load_shapes(ledger, examples=True), []
        except (TemplateError, RecordError) as err:
            return None, [Problem(ledger.relative(err.path), err.line, err.message)]

    @property
    def shapes(self) -> Shapes | None:
        return None if self.ctx.config is None else self._shapes_loaded[0]

    @property
    def shape_problems(self) -> list[Problem]:
        return [] if self.ctx.config is None else self._shapes_loaded[1]

    def __call__(self, kind: Kind, path: Path, text: str | None, record: Record | None,
                 error: RecordError | None) -> Verdict:
        if record is None:
            assert error is not None
            return Verdict(None, to_json([[line, message, False] for line, message in error.all]))
        findings = list(_findings(self.store, kind, path, record, self.ctx))
        if isinstance(record, RemarkFile) and self.shapes is not None and self.ctx.config is not None:
            findings.extend(remark_findings(record, self.shapes, self.ctx.config))
        problems = None
        if findings:
            lines = key_lines(text or "")
            problems = to_json([[line_of(lines, f.loc), f.message, f.warning] for f in findings])
        refs = tuple(sorted({(target, value) for _, _, target, value in _named(record, kind)}))
        return Verdict(record.id, problems, refs, self._links(record, path))

    def _links(self, record: Record, path: Path) -> str | None:
        if isinstance(record, Ticket) and (record.follows or record.followups):
            return to_json({"id": record.id, "follows": record.follows, "followups": sorted(record.followups)})
        if isinstance(record, RemarkFile) and self.shapes is not None:
            chain = chain_deductions(record, path, self.shapes)
            if chain:
                return to_json({"chain": [deduction.chain_summary() for deduction in chain]})
        return None


def _checked(store: Store, examiner: Examiner, progress: Progress, jobs: int, *, kept: bool) -> Index:
    """An index holding every record file's verdict: the ledger's own (`kept`), which reads only the files
    changed since it last held their verdicts, or a private one made from every file."""
    import sqlite3

    from csctl.domain import indexing  # here, not above: the index reads the workflows this module checks

    if kept and index_wanted():
        try:
            return indexing.open_index(store, progress=progress, examine=examiner, jobs=jobs)
        except (sqlite3.Error, OSError):
            pass  # a cache that cannot be had here: read every file
    index = Index(store.ledger.records, None, "", lambda kind, path: None, progress)  # no reader asks it
    index.refresh(judge=indexing.judge(store, examiner), language=language(), jobs=jobs)
    return index


class _Names(dict[str, Collection[str] | None]):
    """The names of each kind's files, asked of the index when first needed, and the roster's."""

    def __init__(self, index: Index, roster: Collection[str] | None) -> None:
        super().__init__({AGENT: roster})
        self.index = index

    def __missing__(self, kind: str) -> set[str]:
        names = self[kind] = self.index.names(kind)
        return names


def _judge(store: Store, index: Index, chosen: set[str] | None, report: CheckReport,
           roster: Collection[str] | None) -> None:
    """The problems of the `chosen` files (None: all): each one's own, and those across the files and
    against the `roster` (None: a roster that cannot be read, against which nothing is judged)."""
    records = store.ledger.records
    report.files += index.checked_count() if chosen is None else len(chosen.intersection(index.checked_paths()))
    for relative, problems in index.with_problems():
        if chosen is None or relative in chosen:
            report.problems.extend(_own_problems(relative, problems))
    across: list[tuple[str, Finding]] = []
    known = _Names(index, roster)
    for relative, kind in index.naming_nothing({AGENT: roster}):
        if chosen is None or relative in chosen:
            try:
                record = store.load(kind, records / relative)
            except CsctlError:
                continue  # changed since it was read (by someone else): the next check reads it again
            across.extend((relative, finding) for finding in record_references(record, kind, known))
    links: dict[str, Links] = {}
    deductions: list[Deduction] = []
    for relative, kind_name, linked in index.linked():
        found = json.loads(linked)
        if kind_name == REMARK.name:
            deductions.extend(Deduction.from_chain_summary(d, Path(relative)) for d in found["chain"])
        else:
            links[found["id"]] = Links(found["follows"], frozenset(found["followups"]))
    named = {*links, *(link.follows for link in links.values() if link.follows),
             *(followup for link in links.values() for followup in link.followups)}
    across.extend(followup_findings(links, index.declared(TICKET.name, named)))
    across.extend((path.as_posix(), finding) for path, finding in chain_breaks(deductions))
    report.problems.extend(_located(records, across, chosen))
    report.problems.extend(_duplicate_problems(index.claims(), chosen))


def _located(records: Path, findings: Iterable[tuple[str, Finding]], chosen: set[str] | None) -> Iterator[Problem]:
    """Problems of findings in files (relative to `records`), each at its line, of the `chosen` files."""
    lines: dict[str, dict[Loc, int]] = {}
    for relative, finding in findings:
        if chosen is not None and relative not in chosen:
            continue
        if relative not in lines:
            try:
                lines[relative] = key_lines(read_text(records / relative))
            except CsctlError:
                lines[relative] = {}  # gone since it was read: the problem stands, without a line
        yield Problem(f"{RECORDS}/{relative}", line_of(lines[relative], finding.loc), finding.message,
                      finding.warning)


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
    # Compared as text first: a Path for each of 100k files costs more than the rest of this rule.
    expected = f"{store.ledger.records}/{filed_at(kind, record.id, record.created.date())}"
    actual = str(path)
    if expected == actual:
        return
    if kind.prefix is None and expected.rsplit("/", 1)[0] != actual.rsplit("/", 1)[0]:
        # A remark file is filed by the month of its first remark; any month folder will do
        # as long as the order has one file only (duplicates are reported apart).
        return
    if Path(expected).resolve() != path.resolve():
        yield Finding(("id",), msg("check.misplaced", expected=store.ledger.relative(Path(expected))))


def _own_problems(relative: str, problems: str | None) -> list[Problem]:
    """A file's problems by itself, as its verdict keeps them."""
    return [Problem(f"{RECORDS}/{relative}", line, message, warning)
            for line, message, warning in json.loads(problems or "[]")]


def _judge_unindexed(store: Store, examiner: Examiner, files: Collection[str], report: CheckReport) -> None:
    """Files named on the command line that the index does not hold (a temp file's name, say): each by
    itself, as it is."""
    from csctl.domain import indexing  # here, not above: the index reads the workflows this module checks

    judged = indexing.judge(store, examiner)
    records = store.ledger.records
    roster = examiner.roster
    people_only: defaultdict[str, Collection[str] | None] = defaultdict(lambda: None, {AGENT: roster})
    across: list[tuple[str, Finding]] = []
    for relative in sorted(files):
        kind = KIND_BY_FOLDER[relative.split("/", 1)[0]]
        verdict = judged(kind, records / relative)
        if verdict is None:
            continue
        report.files += 1
        report.problems.extend(_own_problems(relative, verdict.problems))
        if roster is not None and any(target == AGENT and name not in roster for target, name in verdict.refs):
            try:
                record = store.load(kind, records / relative)
            except CsctlError:
                continue  # changed since it was judged
            across.extend((relative, finding) for finding in record_references(record, kind, people_only))
    report.problems.extend(_located(records, across, None))


def _duplicate_problems(claims: dict[tuple[str, str], list[tuple[str, bool]]],
                        chosen: set[str] | None) -> Iterator[Problem]:
    """Files declaring the same ID, or declaring the ID another file is named by."""
    for (_, record_id), members in claims.items():
        paths = sorted({relative for relative, _ in members})
        for relative in sorted({relative for relative, declares in members if declares}):
            if chosen is None or relative in chosen:
                rest = ", ".join(f"{RECORDS}/{other}" for other in paths if other != relative)
                yield Problem(f"{RECORDS}/{relative}", None, msg("check.duplicate", id=record_id, others=rest))


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
