"""The derived index in `.csctl/index.sqlite3`: what each record file holds, kept fresh by stat.

Why: `alerts` runs every few minutes and `report` every morning on years of
records. Reading and validating 100k files costs seconds; a stat of each file
and one query cost a fraction of that, and only the records a question may
concern are then read from their files — by the same code that reads them
without an index, so an answer never depends on the index, only its speed.

What: one row per record file — its stat key (size, mtime_ns, ctime_ns, inode), kind,
whether it reads, and *facts* a workflow derives from it (`Facts`): the
earliest moment it may raise an alert, when its history starts and ends,
whether it is finished, and a JSON of whatever else a reader selects on.
`check` adds its *verdict* on the file by itself (`Verdict`): its problems,
the ID it declares, the records and people it names (a table of their own,
`refs`) and its links to other files, so that a check of a ledger whose files
have not changed reads rows, not files, and asks sqlite the questions across
files (which names point nowhere or to no one on the roster, which IDs two
files claim). Both are computed by
functions the caller passes in (the domain layer), so this module knows
nothing of tickets or money. A report adds the *brief* of each file it had to
read (`briefs`, `keep_briefs`): what it counts of the record, so that the
next report decodes a row instead of reading the file.

Trust: a file whose size, mtime_ns, ctime_ns or inode differ from its row, a row whose
file is gone, a different csctl version (`context`), or other settings or templates
than a part of the row was read under (`facts_context`, `verdict_contexts`): any
doubt means the file is parsed again. Which files to stat: every one, or
once the index has seen a git HEAD, those git lists as differing from it (and
from the HEAD seen then), and those that differed last time (`worktree.py`). The stdlib's sqlite3 keeps it in one
file with transactions, so a killed command leaves the old index or the new;
deleting `.csctl/` costs only time. sqlite3 over a hand-made format because
it needs no code of ours to stay consistent and answers range queries on
times with an index.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any, NamedTuple

from csctl.i18n import msg
from csctl.models.kinds import KIND_BY_FOLDER, Kind
from csctl.parallel import map_in_processes
from csctl.progress import Progress, quiet
from csctl.storage import worktree

# Bump when the schema, the meaning of a fact or what a check rule finds changes without a new csctl
# version (the version is part of the context): an older index is rebuilt.
INDEX_VERSION = 24
INDEX_NAME = "index.sqlite3"
# Files modified this recently are not trusted by their stat alone (see `_changed`).
RACY_NS = 2_000_000_000
# Rows written at a time while files are read.
WRITE_BATCH = 2000
# How the index writes JSON (facts, verdicts, briefs): compact, text as it is. One encoder, made once:
# `json.dumps` with options makes one per call, ~4 µs of each row.
to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# The ID a file's facts say it declares (a remittance, a remark file: its order), as the index
# `files_declared` has it: a condition that spells it so is answered through that index.
DECLARED_ID = "json_extract(facts, '$.id')"

# The table that says which schema and context the rest was built for (created before it is read).
META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,      -- relative to records/
    kind TEXT NOT NULL,
    name TEXT NOT NULL,         -- the file's name without `.toml`
    stamp TEXT NOT NULL,        -- 'size mtime_ns ctime_ns inode', or '' when racy (see `_changed`)
    described INTEGER NOT NULL DEFAULT 0,  -- 1: the facts below are the file's as it is
    readable INTEGER NOT NULL DEFAULT 0,  -- 0: the file does not read as a record (check and alerts say why)
    due INTEGER,                -- epoch seconds: the earliest moment it may raise an alert
    first_at INTEGER, last_at INTEGER,  -- its history's first and last event (epoch seconds)
    finished INTEGER NOT NULL DEFAULT 0,  -- nothing more will happen to it unless someone acts (never
                                          -- a file that does not read: the open ones hold those too)
    facts TEXT NOT NULL DEFAULT '{{}}',
    brief TEXT,                 -- what a report counts of the file, once a report read it (see `briefs`)
    checked TEXT,               -- the language of check's verdict below, the file's as it is (NULL: none)
    record_id TEXT, problems TEXT, links TEXT,  -- the verdict (see `Verdict`)
    CHECK (readable = 1 OR finished = 0)  -- the selections of the open files find the unreadable with them
);
CREATE TABLE IF NOT EXISTS refs (path TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_due ON files (kind, due);
CREATE INDEX IF NOT EXISTS files_kind ON files (kind, last_at);
CREATE INDEX IF NOT EXISTS files_open ON files (kind, first_at) WHERE finished = 0;
CREATE INDEX IF NOT EXISTS files_undescribed ON files (kind) WHERE NOT described;
CREATE INDEX IF NOT EXISTS files_checked ON files (kind, checked);
CREATE INDEX IF NOT EXISTS files_with_problems ON files (path) WHERE problems IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_linked ON files (path) WHERE links IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_misnamed ON files (kind) WHERE record_id IS NOT name;
CREATE INDEX IF NOT EXISTS files_name ON files (kind, name);
CREATE INDEX IF NOT EXISTS files_declared ON files (kind, {DECLARED_ID}) WHERE {DECLARED_ID} IS NOT NULL;
CREATE INDEX IF NOT EXISTS files_record ON files (kind, record_id);
CREATE INDEX IF NOT EXISTS refs_path ON refs (path);
CREATE INDEX IF NOT EXISTS refs_named ON refs (kind, id);
"""


@dataclass(frozen=True)
class Facts:
    """What the readers select a file by (see the module's text)."""

    first: dt.datetime  # when its history starts and ends (a merged history is not in time order)
    last: dt.datetime
    due: dt.datetime | None = None
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Verdict(NamedTuple):
    """What `check` found in one file by itself."""

    record_id: str | None  # None: the file does not read
    problems: str | None = None  # as `check` wrote them (the index does not read them)
    refs: tuple[tuple[str, str], ...] = ()  # (kind, ID) of each record it names; ("agent", ID) of each person
    links: str | None = None  # as `check` wrote them


# (kind, path) -> what the readers select the file by (None: it does not read as a record for them),
# and what `check` finds in it by itself (None: it is gone). The domain layer reads the file.
Describe = Callable[[Kind, Path], Facts | None]
Judge = Callable[[Kind, Path], Verdict | None]


def _epoch(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


@dataclass(frozen=True)
class Row:
    path: Path
    kind: Kind
    readable: bool
    due: int | None
    first_at: int | None
    last_at: int | None
    finished: bool
    facts: dict[str, Any]


class Index:
    """The index of one ledger's `records/`, opened for one command; with no `cache` folder, a private
    index that lives as long as the command (`check` without a kept index)."""

    def __init__(self, records: Path, cache: Path | None, context: str, describe: Describe,
                 progress: Progress = quiet, *, facts_context: str | None = None,
                 verdict_contexts: Mapping[str, str] | None = None) -> None:
        """`context` is what every part of every row depends on besides its file (csctl itself): where it
        changed, every row goes. `facts_context` is what the facts and briefs depend on besides it (the
        settings the readers read), `verdict_contexts` what each kind's verdicts do (per kind name): where
        one changed, that part goes, and this command reads the files again for it. A command gives the
        contexts of the parts it reads (None: it reads none of them; the next command that does compares)."""
        self.records = records
        self.progress = progress
        self.context = f"{INDEX_VERSION}:{context}"
        self.describe = describe
        self.kept = cache is not None
        if cache is None:
            # A private database in a temporary file (""), not in memory: 500k rows need not fit in RAM.
            self.db = sqlite3.connect("", isolation_level=None)
            self.db.execute(META_SCHEMA)
        else:
            cache.mkdir(parents=True, exist_ok=True)
            self.db = _open(cache)
        stored = self.db.execute("SELECT value FROM meta WHERE key = 'context'").fetchone()
        if stored is None or stored[0] != self.context:
            # Another csctl, or another schema: every row is doubt.
            with self._transaction():
                self.db.execute("DROP TABLE IF EXISTS files")
                self.db.execute("DROP TABLE IF EXISTS refs")
                self.db.execute("DELETE FROM meta WHERE key != 'context'")
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('context', ?)", (self.context,))
        else:
            self.db.executescript(SCHEMA)  # (a no-op but for a table or index someone dropped)
        contexts = {f"{VERDICTS_CONTEXT}{kind}": value for kind, value in (verdict_contexts or {}).items()}
        if facts_context is not None:
            contexts[FACTS_CONTEXT] = facts_context
        if contexts:
            self._forget_parts_read_otherwise(contexts)

    def _transaction(self) -> Any:
        return _Transaction(self.db)

    def _forget_parts_read_otherwise(self, contexts: dict[str, str]) -> None:
        """Drop the parts of the rows (and the values `remembered`) read in other contexts than `contexts`
        (keyed as `meta` keeps them)."""

        def changed() -> list[str]:
            stored = dict(self.db.execute(
                f"SELECT key, value FROM meta WHERE key IN ({','.join('?' * len(contexts))})", list(contexts)))
            return [key for key, value in contexts.items() if stored.get(key) != value]

        if not changed():
            return
        with self._transaction():
            # Asked again under the write lock: another command under these settings may have dropped the
            # parts meanwhile and read rows again since, which dropping them once more would wipe.
            for key in (outdated := changed()):
                if key == FACTS_CONTEXT:
                    self.db.execute(f"UPDATE files SET {', '.join(f'{c} = ?' for c in FACT_COLUMNS)}, brief = NULL",
                                    NO_FACTS)
                else:
                    kind = key.removeprefix(VERDICTS_CONTEXT)
                    self.db.execute("DELETE FROM refs WHERE path IN (SELECT path FROM files WHERE kind = ?)", (kind,))
                    self.db.execute(f"UPDATE files SET {', '.join(f'{c} = NULL' for c in VERDICT_COLUMNS)} "
                                    "WHERE kind = ?", (kind,))
            if outdated:
                self.db.execute("DELETE FROM meta WHERE key LIKE 'remembered:%'")
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(key, contexts[key]) for key in outdated])

    # ----- freshness ------------------------------------------------------------------------

    def refresh(self, kinds: Collection[Kind] = (), *, judge: Judge | None = None, language: str = "",
                jobs: int = 1) -> None:
        """Bring the rows of `kinds` (default every kind) up to the files on disk: new and changed files
        are read, gone ones dropped. A question about one kind needs only that kind's folder fresh.

        The readers want each file's facts; `check` (with `judge`) its verdict, and not the facts: each
        command reads for what it asks, and a row keeps the other part while its file is unchanged.
        `jobs` processes share the reading when there is much of it."""
        chosen = [k for k in KIND_BY_FOLDER.values() if not kinds or k in kinds]
        among = f"kind IN ({','.join('?' * len(chosen))})"
        names = [k.name for k in chosen]
        # Git is asked about the folders of `kinds` alone; every folder when all are asked.
        view = worktree.look(self.records, [k.folder for k in chosen] if kinds else ()) if self.kept else None
        # (Git may have been asked early, while the command was imported: its answer is as old as that.)
        looked = view.asked_ns if view is not None else time.time_ns()
        before = self._worktree_state(chosen)
        suspects = self._suspects(chosen, view, before)
        if suspects is None:  # every file, by its stat
            known: dict[str, str] = dict(self.db.execute(f"SELECT path, stamp FROM files WHERE {among}", names))
            changed = _changed(self.records, chosen, known)
            gone = list(known)  # what `_changed` did not find
        else:  # only the files git or the last refresh have doubts about
            # (`+kind`: found by path, not by reading every row of the kinds.)
            known = dict(self.db.execute(
                f"SELECT path, stamp FROM files WHERE +{among} AND path IN (SELECT value FROM json_each(?))",
                [*names, json.dumps(sorted(suspects))]))
            changed, gone = _changed_among(self.records, suspects, known)
        # A verdict speaks the language it was judged in: in another, the file is judged again. (Each
        # condition asked apart, through an index: most days no row lacks anything, and a scan of every
        # row would make each command grow with the years of records.)
        if judge:
            lacking_where = [("checked IS NULL", []), ("checked < ?", [language]), ("checked > ?", [language])]
        else:
            lacking_where = [("NOT described", [])]
        lacking = {path: (kind, stamp) for where, parameters in lacking_where for path, kind, stamp in
                   self.db.execute(f"SELECT path, kind, stamp FROM files WHERE {among} AND {where}",
                                   [*names, *parameters])}
        for relative, _, _ in changed:
            lacking.pop(relative, None)
        for relative in gone:
            lacking.pop(relative, None)
        if lacking and suspects is not None:
            # Git holds as unchanged a file whose stamp moved with its content as it was (the ledger copied,
            # a file touched or checked out again), so its row keeps the old stamp: read for the part it
            # lacks, it would pass for a file changed while read, each time. Such a file is read as new.
            restamped, vanished = _changed_among(self.records, lacking, {p: s for p, (_, s) in lacking.items()})
            for relative, kind, stamp in restamped:
                del lacking[relative]
                changed.append((relative, kind, stamp))
            for relative in vanished:
                del lacking[relative]
                gone.append(relative)
        # Besides git's list, the files read now that changed about when git looked, or while they were read:
        # git may not have seen that change. (Not every file read: a first build would list them all.)
        doubtful = {relative for relative, _, stamp in changed
                    if not stamp or int(stamp.split()[1]) >= looked - RACY_NS}
        if gone:
            with self._transaction():
                self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
                self.db.executemany("DELETE FROM refs WHERE path = ?", [(p,) for p in gone])
        # (path, kind name, stamp, whether the row is new): the stamp of a changed file as listed, of an
        # unchanged one as its row holds it.
        work = [(relative, kind.name, stamp, True) for relative, kind, stamp in changed]
        work += [(relative, kind, stamp, False) for relative, (kind, stamp) in lacking.items()]

        def read(item: tuple[str, str, str, bool]) -> tuple[tuple[Any, ...], list[tuple[str, str, str]]]:
            relative, kind_name, stamp, _ = item  # a name, not the Kind: items are pickled to the workers
            kind = _KINDS[kind_name]
            path = self.records / relative  # made once: a Path costs ~10 µs of each file's ~100
            if judge is None:
                found: tuple[tuple[Any, ...], list[tuple[str, str, str]]] = (
                    _facts_columns(self.describe(kind, path)), [])
            else:
                found = _verdict_columns(relative, judge(kind, path), language)
            # A file that changed between its stat and its reading: what was read is not what was stamped.
            return (CHANGED_WHILE_READ, []) if stamp and stamp_of(path) != stamp else found

        label = msg("check.reading" if judge else "index.reading")
        batch: list[tuple[tuple[str, str, str, bool], tuple[tuple[Any, ...], list[tuple[str, str, str]]]]] = []
        # Written a batch at a time, each in a short transaction, as the workers read on: another command
        # that must write the index meanwhile waits for a batch, not for the whole read.
        for number, found in enumerate(map_in_processes(read, work, jobs, label, self.progress)):
            item = work[number]
            if found[0] == CHANGED_WHILE_READ:
                doubtful.add(item[0])
            batch.append((item, found))
            if len(batch) == WRITE_BATCH or number == len(work) - 1:
                with self._transaction():
                    self._write(batch, judge is not None)
                batch = []
        after = None if view is None else {kind.name: (view.head, frozenset(
            path for path in (*view.differing, *doubtful) if path.startswith(f"{kind.folder}/"))) for kind in chosen}
        if work or gone or after != before:
            with self._transaction():
                self._keep_worktree_state(before, after)

    def _write(self, batch: list[tuple[tuple[str, str, str, bool], tuple[tuple[Any, ...], list[tuple[str, str, str]]]]],
               judging: bool) -> None:
        """Rows for files read: a changed file's row starts again with the part this command read (the
        other part unknown); an unchanged one gains it, unless another command changed the row meanwhile."""
        columns, other_columns, other = ((VERDICT_COLUMNS, FACT_COLUMNS, NO_FACTS) if judging
                                         else (FACT_COLUMNS, VERDICT_COLUMNS, NO_VERDICT))
        insert = (f"INSERT OR REPLACE INTO files (path, kind, name, stamp, {', '.join(columns)}, "
                  f"{', '.join(other_columns)}) VALUES ({','.join('?' * (4 + len(columns) + len(other)))})")
        update = f"UPDATE files SET {', '.join(f'{c} = ?' for c in columns)} WHERE path = ? AND stamp = ?"
        new_rows: list[tuple[Any, ...]] = []
        named_again: list[tuple[str]] = []  # files whose names (refs) are written again
        names: list[tuple[str, str, str]] = []
        for (relative, kind_name, stamp, new), (part, refs) in batch:
            if part == CHANGED_WHILE_READ:
                # Read it again next time; meanwhile a report reads the file, not a brief of an older version.
                self.db.execute("UPDATE files SET stamp = '', brief = NULL WHERE path = ?", (relative,))
                continue
            if new:
                new_rows.append((relative, kind_name, relative[relative.rfind("/") + 1:-5], stamp, *part, *other))
            elif self.db.execute(update, (*part, relative, stamp)).rowcount == 0:
                continue
            # The records a verdict names go with it; a new row's old verdict goes, and its names with it.
            if new or judging:
                named_again.append((relative,))
            names.extend(refs)
        # In bulk: one statement per file would be a tenth of a cold check's time.
        self.db.executemany(insert, new_rows)
        self.db.executemany("DELETE FROM refs WHERE path = ?", named_again)
        self.db.executemany("INSERT INTO refs VALUES (?, ?, ?)", names)

    def remembered(self, key: str, compute: Callable[[], str]) -> str:
        """A value that depends on the settings and templates alone, computed once for them (kept until
        a context changes; a private index computes it each time)."""
        found = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"remembered:{key}",)).fetchone()
        if found is not None:
            value: str = found[0]
            return value
        value = compute()
        with self._transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"remembered:{key}", value))
        return value

    # ----- what git knows -------------------------------------------------------------------
    # Per kind, in `meta`: the HEAD of the last refresh, and the files that may then have differed from
    # it (git's list, and the files read then: one changed while being read is doubted once more).

    def _worktree_state(self, kinds: list[Kind]) -> dict[str, tuple[str, frozenset[str]]]:
        keys = [f"worktree:{kind.name}" for kind in kinds]
        found = self.db.execute(f"SELECT key, value FROM meta WHERE key IN ({','.join('?' * len(keys))})", keys)
        state = {}
        for key, value in found:
            kept = json.loads(value)
            state[key.split(":", 1)[1]] = (kept["head"], frozenset(kept["differing"]))
        return state

    def _keep_worktree_state(self, before: dict[str, tuple[str, frozenset[str]]],
                             after: dict[str, tuple[str, frozenset[str]]] | None) -> None:
        """Keep `after` (in the caller's transaction), unless another command's refresh changed the state
        since this one read it, or git could not say: then forget it, and the next refresh stats every
        file."""
        names = {*before, *(after or {})}
        if after is None or self._worktree_state([_KINDS[name] for name in names]) != before:
            self.db.executemany("DELETE FROM meta WHERE key = ?", [(f"worktree:{name}",) for name in names])
            return
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            (f"worktree:{name}", json.dumps({"head": head, "differing": sorted(differing)}))
            for name, (head, differing) in after.items()])

    def doubt(self, paths: Collection[str]) -> None:
        """Have the next refresh stat the files at `paths` (relative to `records/`) again: read after this
        refresh, their stamps were not their rows'. Changed since, or with a stamp that moved while git held
        them unchanged (a ledger copied with its index, a file touched): such a row would never keep a brief,
        and each report would read its file. (A kind git is not asked about is statted whole anyway.)"""
        folders = {path.split("/", 1)[0] for path in paths}
        with contextlib.suppress(sqlite3.Error), self._transaction():
            state = self._worktree_state([KIND_BY_FOLDER[folder] for folder in folders if folder in KIND_BY_FOLDER])
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                (f"worktree:{name}", json.dumps({"head": head, "differing": sorted(differing.union(
                    path for path in paths if path.startswith(f"{_KINDS[name].folder}/")))}))
                for name, (head, differing) in state.items()])

    def _suspects(self, kinds: list[Kind], view: worktree.Worktree | None,
                  state: dict[str, tuple[str, frozenset[str]]]) -> set[str] | None:
        """The files of `kinds` that may have changed since their rows were read, or None when only a stat
        of every file can tell: no git, a kind never refreshed with git, a HEAD git cannot compare."""
        if view is None or any(kind.name not in state for kind in kinds):
            return None
        suspects = set(view.differing)
        for head in {state[kind.name][0] for kind in kinds}:
            if head != view.head:
                between = worktree.changed_between(self.records, head, view.head)
                if between is None:
                    return None
                suspects |= between
        for kind in kinds:
            suspects |= state[kind.name][1]
        folders = {kind.folder for kind in kinds}
        return {path for path in suspects if path.endswith(".toml") and path.split("/", 1)[0] in folders
                and not any(part.startswith(".") for part in path.split("/"))}

    # ----- questions ------------------------------------------------------------------------

    def rows(self, where: str = "1", parameters: tuple[Any, ...] = ()) -> Iterator[Row]:
        query = f"SELECT path, kind, readable, due, first_at, last_at, finished, facts FROM files WHERE {where}"
        for path, kind, readable, due, first_at, last_at, finished, facts in self.db.execute(query,
                                                                                             _bindable(parameters)):
            yield Row(self.records / path, _KINDS[kind], bool(readable), due, first_at, last_at, bool(finished),
                      json.loads(facts))

    def paths(self, *conditions: tuple[str, tuple[Any, ...]]) -> list[Path]:
        """The files meeting any of `conditions` (each a WHERE clause and its parameters), in order."""
        return [self.records / path for path, _ in self._selected("NULL", conditions)]

    def briefs(self, *conditions: tuple[str, tuple[Any, ...]]) -> list[tuple[str, bool, str]]:
        """As `paths` (relative to `records/`), each file with whether its row keeps a brief (`brief_texts`
        fetches them, a chunk at a time: without their texts, this costs what `paths` costs) and the stamp
        it was described at.

        A brief is what a report or a listing counts of a file (`csctl.domain.briefs`): the index does not
        make it when it reads a file for its facts, since most files are never counted (`alerts`, after a
        change of settings, reads every file); a report that reads a file keeps its brief (`keep_briefs`)."""
        selected = self._selected("brief IS NOT NULL, stamp", conditions)
        return [(path, bool(kept), stamp) for path, kept, stamp in selected]

    def brief_texts(self, paths: list[str]) -> dict[str, tuple[str | None, str]]:
        """The brief each file at `paths` (relative to `records/`) keeps now, and its stamp."""
        found = self.db.execute("SELECT path, brief, stamp FROM files WHERE path IN (SELECT value FROM json_each(?))",
                                (to_json(paths),))
        return {path: (brief, stamp) for path, brief, stamp in found}

    def keep_briefs(self, briefs: list[tuple[str, str, str]]) -> None:
        """Keep each (path, stamp, brief) a report made from a file whose stamp, read after it, was the one
        its row holds: the brief of the version the row describes. Not for a row rewritten since, nor for
        a file whose ctime is within `RACY_NS` of now: a write in the same tick of the clock would leave
        the stamp as it was (its mtime may be set back, its ctime cannot). A brief the index cannot take
        (locked for long, a full disk) is only lost time: the report goes on."""
        settled_before = time.time_ns() - RACY_NS
        chosen = [(brief, path, stamp) for path, stamp, brief in briefs
                  if stamp and int(stamp.split()[2]) < settled_before]
        with contextlib.suppress(sqlite3.Error), self._transaction():
            self.db.executemany("UPDATE files SET brief = ? WHERE path = ? AND stamp = ? AND brief IS NULL", chosen)

    def _selected(self, columns: str, conditions: tuple[tuple[str, tuple[Any, ...]], ...]) -> list[tuple[Any, ...]]:
        """(path, *`columns`) of the rows meeting any of `conditions`, in the order the files are listed
        without an index (`Store.iter_paths`: by the text of their paths, as SQLite orders it too). The
        paths are a UNION of them, not an `OR`: each part can use its index where an `OR` would read every
        row; the columns are fetched by path after (in the UNION, each brief would be copied to sort out
        repeats). One statement: it sees one state of the index, as another command's refresh writes."""
        union = " UNION ".join(f"SELECT path FROM files WHERE {where}" for where, _ in conditions)
        return self.db.execute(f"SELECT path, {columns} FROM files WHERE path IN ({union}) ORDER BY path",
                               _bindable([value for _, parameters in conditions for value in parameters])).fetchall()

    def facts_of(self, kind: Kind) -> list[dict[str, Any]]:
        """The facts of every readable file of `kind` (a question about all of them: no paths, no rows)."""
        return [json.loads(facts) for facts, in self.db.execute(
            "SELECT facts FROM files WHERE kind = ? AND readable = 1", (kind.name,))]

    def naming(self, kind: Kind, name: str, value: str, *, with_unreadable: bool = False) -> list[Path]:
        """The readable files of `kind` whose facts keep `value` under `name` (and those that do not read,
        for a reader that stops at one), in order."""
        named = (f"kind = ? AND readable = 1 AND json_extract(facts, '$.{name}') = ?", (kind.name, value))
        return self.paths(named, *[("kind = ? AND readable = 0", (kind.name,))] if with_unreadable else [])

    def fact_lists(self, kind: Kind, name: str) -> list[list[Any]]:
        """The list each readable file of `kind` keeps under `name` in its facts, where it keeps one (SQLite
        picks them out: most rows of a kind keep none)."""
        where = f"$.{name}"
        return [json.loads(found) for found, in self.db.execute(
            "SELECT json_extract(facts, ?) FROM files WHERE kind = ? AND readable = 1 "
            "AND json_type(facts, ?) = 'array'", (where, kind.name, where))]

    # The questions of `check`, after a `refresh(judge=…)`; paths are relative to `records/`.

    def checked_count(self) -> int:
        count: int = self.db.execute("SELECT COUNT(*) FROM files WHERE checked IS NOT NULL").fetchone()[0]
        return count

    def checked_paths(self) -> list[str]:
        return [path for path, in self.db.execute("SELECT path FROM files WHERE checked IS NOT NULL")]

    def with_problems(self) -> list[tuple[str, str]]:
        """(path, problems) of each file with problems of its own."""
        return self.db.execute("SELECT path, problems FROM files WHERE checked IS NOT NULL AND problems IS NOT NULL"
                               ).fetchall()

    def naming_nothing(self, besides: Mapping[str, Collection[str] | None]) -> list[tuple[str, Kind]]:
        """Files that name a record no file is named after, or a name of a kind in `besides` (people: no
        files are named after them) that is not among those it gives (None: any name will do)."""
        # The kinds of records, not `NOT IN` the others: so SQLite walks the index `refs_named` past the people.
        named_kinds = sorted(set(_KINDS).difference(besides))
        query = ("SELECT DISTINCT r.path, f.kind FROM refs r JOIN files f ON f.path = r.path "
                 f"WHERE r.kind IN ({','.join('?' * len(named_kinds))}) AND f.checked IS NOT NULL AND NOT EXISTS "
                 "(SELECT 1 FROM files t WHERE t.kind = r.kind AND t.name = r.id)")
        parameters: list[str] = list(named_kinds)
        for kind, known in besides.items():
            unknown = [] if known is None else sorted(set(self._named_of_kind(kind)).difference(known))
            if unknown:
                query += (" UNION SELECT r.path, f.kind FROM refs r JOIN files f ON f.path = r.path WHERE r.kind = ? "
                          "AND r.id IN (SELECT value FROM json_each(?)) AND f.checked IS NOT NULL")
                parameters += [kind, json.dumps(unknown)]
        return [(path, _KINDS[kind]) for path, kind in self.db.execute(f"{query} ORDER BY 1", parameters)]

    def _named_of_kind(self, kind: str) -> list[str]:
        """Every name of `kind` some file names: a walk of the index `refs_named` from one name to the
        next (a few dozen people among hundreds of thousands of references)."""
        walk = ("WITH RECURSIVE named(id) AS (SELECT MIN(id) FROM refs WHERE kind = ?1 UNION ALL "
                "SELECT (SELECT MIN(id) FROM refs WHERE kind = ?1 AND id > named.id) FROM named "
                "WHERE named.id IS NOT NULL) SELECT id FROM named WHERE id IS NOT NULL")
        return [name for name, in self.db.execute(walk, (kind,))]

    def names(self, kind: str) -> set[str]:
        """The names of every file of `kind` (the IDs on file, whether the files read or not)."""
        return {name for name, in self.db.execute("SELECT name FROM files WHERE kind = ?", (kind,))}

    def linked(self) -> list[tuple[str, str, str]]:
        """(path, kind, links) of each file with links to others, by path (so that of two files declaring
        one ID, the same one counts, whatever order the rows were written in)."""
        return self.db.execute("SELECT path, kind, links FROM files WHERE checked IS NOT NULL AND links IS NOT NULL "
                               "ORDER BY path").fetchall()

    def declared(self, kind: str, ids: Collection[str]) -> dict[str, str]:
        """The file declaring each of `ids` (where several do, the last by path, as `linked` would have it)."""
        return dict(self.db.execute(
            "SELECT record_id, path FROM files WHERE kind = ? AND record_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY path", (kind, json.dumps(sorted(ids)))).fetchall())

    def claims(self) -> dict[tuple[str, str], list[tuple[str, bool]]]:
        """Per (kind, ID) claimed by more than one file: each file and whether it declares the ID (True) or
        is only named after it (False)."""
        keys = set(self.db.execute(
            "SELECT kind, record_id FROM files WHERE record_id IS NOT NULL GROUP BY kind, record_id "
            "HAVING COUNT(*) > 1").fetchall())
        for kind, record_id, name in self.db.execute(
                "SELECT kind, record_id, name FROM files WHERE checked IS NOT NULL AND record_id IS NOT name"):
            keys.add((kind, name))
            if record_id is not None:
                keys.add((kind, record_id))
        out: dict[tuple[str, str], list[tuple[str, bool]]] = {}
        for kind, record_id in keys:
            members = self.db.execute(
                "SELECT path, record_id IS ?1 FROM files WHERE kind = ?2 AND (record_id = ?1 OR name = ?1)",
                (record_id, kind)).fetchall()
            if len(members) > 1:
                out[(kind, record_id)] = [(path, bool(declares)) for path, declares in members]
        return out


def _open(cache: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(cache / INDEX_NAME, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(META_SCHEMA)
        db.execute("SELECT value FROM meta WHERE key = 'context'").fetchone()
    except sqlite3.DatabaseError:
        # A damaged index is only a cache: start it again.
        discard(cache)
        db = sqlite3.connect(cache / INDEX_NAME, timeout=30, isolation_level=None)
        db.execute(META_SCHEMA)
    return db


# What a worker returns for a file that changed while it was read (compared by value: it comes back
# pickled from a worker): nothing is written but a doubt.
CHANGED_WHILE_READ: tuple[Any, ...] = ("changed while read",)


def _bindable(values: Iterable[Any]) -> list[Any]:
    """Values for a selection, text that UTF-8 cannot carry (a lone surrogate from undecodable bytes on the
    command line) with `?` in its place. No record holds such text, so the reader's own filter admits none
    of the files the changed text selects: a selection may hold more than the reader takes, never less."""
    return [value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else value
            for value in values]


def stamp_of(path: Path) -> str:
    """A file's stamp as its row holds it ('': it cannot be read)."""
    try:
        stat = os.stat(path)
    except OSError:
        return ""
    return f"{stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns} {stat.st_ino}"


# The `meta` keys of the contexts the facts (with the briefs) and each kind's verdicts were read in.
FACTS_CONTEXT = "facts"
VERDICTS_CONTEXT = "verdicts:"
FACT_COLUMNS = ("described", "readable", "due", "first_at", "last_at", "finished", "facts")
NO_FACTS = (0, 0, None, None, None, 0, "{}")
VERDICT_COLUMNS = ("checked", "record_id", "problems", "links")
NO_VERDICT = (None, None, None, None)


def _facts_columns(facts: Facts | None) -> tuple[Any, ...]:
    if facts is None:
        return 1, 0, None, None, None, 0, "{}"
    return (1, 1, _epoch(facts.due), _epoch(facts.first), _epoch(facts.last), int(facts.finished),
            to_json(facts.extra))


def _verdict_columns(relative: str, verdict: Verdict | None,
                     language: str) -> tuple[tuple[Any, ...], list[tuple[str, str, str]]]:
    """The verdict's columns, and the rows of the records it names."""
    if verdict is None:
        return NO_VERDICT, []
    return ((language, verdict.record_id, verdict.problems, verdict.links),
            [(relative, target, value) for target, value in verdict.refs])


def discard(cache: Path) -> None:
    """Remove a damaged index (and sqlite's journal files); the next command builds it again."""
    for suffix in ("", "-wal", "-shm"):
        (cache / (INDEX_NAME + suffix)).unlink(missing_ok=True)


_KINDS = {kind.name: kind for kind in KIND_BY_FOLDER.values()}


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.db.execute("COMMIT" if error is None else "ROLLBACK")


def _changed_among(records: Path, suspects: Collection[str],
                   known: dict[str, str]) -> tuple[list[tuple[str, Kind, str]], list[str]]:
    """As `_changed`, for the `suspects` alone (paths relative to `records`): (the files whose stamp is not
    the one `known` holds, the rows of files gone)."""
    racy_from = time.time_ns() - RACY_NS
    stale: list[tuple[str, Kind, str]] = []
    gone: list[str] = []
    for relative in sorted(suspects):
        try:
            stat = os.stat(records / relative)
        except OSError:
            if os.path.lexists(records / relative):  # a link to nothing, as `_changed` takes it
                stale.append((relative, KIND_BY_FOLDER[relative.split("/", 1)[0]], ""))
            elif relative in known:
                gone.append(relative)
            continue
        if not S_ISREG(stat.st_mode):
            continue
        stamp = f"{stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns} {stat.st_ino}"
        if known.get(relative) != stamp:
            stale.append((relative, KIND_BY_FOLDER[relative.split("/", 1)[0]], stamp if stat.st_mtime_ns < racy_from
                          else ""))
    return stale, gone


def _changed(records: Path, kinds: Collection[Kind], known: dict[str, str]) -> list[tuple[str, Kind, str]]:
    """Each `*.toml` under the kinds' folders (temp files, which start with a dot, left out) whose stamp is
    not the one `known` holds for it: (its path relative to `records`, its kind, its stamp — '' when
    racy). Takes the files found out of `known`, leaving the rows of files gone.

    The loop every fresh answer pays for, once per file: one stat, one string, one lookup."""
    racy_from = time.time_ns() - RACY_NS
    stale: list[tuple[str, Kind, str]] = []
    missing = object()
    for kind in kinds:
        stack = [(str(records / kind.folder), f"{kind.folder}/")]
        while stack:
            folder, prefix = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{prefix}{name}/"))
                elif name.endswith(".toml"):
                    relative = prefix + name
                    try:
                        stat = entry.stat()
                    except OSError:  # a link to nothing: read it every time, and say it does not read
                        known.pop(relative, None)
                        stale.append((relative, kind, ""))
                        continue
                    stamp = f"{stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns} {stat.st_ino}"
                    if known.pop(relative, missing) != stamp:
                        stale.append((relative, kind, stamp if stat.st_mtime_ns < racy_from else ""))
    return stale
