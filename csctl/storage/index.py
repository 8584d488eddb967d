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
`check` adds its *verdict* on the file by itself (`Verdict`), so that a check
of a ledger whose files have not changed reads rows, not files. Both are
computed by functions the caller passes in (the domain layer), so this module
knows nothing of tickets or money.

Trust: a file whose size, mtime_ns, ctime_ns or inode differ from its row, a row whose
file is gone, a different csctl version, settings or templates (`context`):
any doubt means the file is parsed again. The stdlib's sqlite3 keeps it in one
file with transactions, so a killed command leaves the old index or the new;
deleting `.csctl/` costs only time. sqlite3 over a hand-made format because
it needs no code of ours to stay consistent and answers range queries on
times with an index.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from csctl.i18n import msg
from csctl.models.kinds import KIND_BY_FOLDER, Kind
from csctl.parallel import map_in_processes
from csctl.progress import Progress, quiet

# Bump when the schema or the meaning of a fact changes: an older index is rebuilt.
INDEX_VERSION = 5
INDEX_NAME = "index.sqlite3"
# Files modified this recently are not trusted by their stat alone (see `Index._row`).
RACY_NS = 2_000_000_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,      -- relative to records/
    kind TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL,
    readable INTEGER NOT NULL,  -- 0: the file does not read as a record (check and alerts say why)
    due INTEGER,                -- epoch seconds: the earliest moment it may raise an alert
    first_at INTEGER, last_at INTEGER,  -- its history's first and last event (epoch seconds)
    finished INTEGER NOT NULL DEFAULT 0,  -- nothing more will happen to it unless someone acts
    facts TEXT NOT NULL DEFAULT '{}',
    checked INTEGER NOT NULL DEFAULT 0,  -- 1: check's verdict below is the file's as it is
    record_id TEXT, problems TEXT, refs TEXT, links TEXT  -- the verdict (see `Verdict`)
);
CREATE INDEX IF NOT EXISTS files_due ON files (due);
CREATE INDEX IF NOT EXISTS files_kind ON files (kind, last_at);
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
    """What `check` found in one file by itself, as text `check` wrote and alone reads back."""

    record_id: str | None  # None: the file does not read
    problems: str | None = None
    refs: str | None = None
    links: str | None = None


class Checked(NamedTuple):
    """A file's verdict, with where the file is (relative to `records/`) and its kind's name.
    (Tuples, not objects: a check of 100k unchanged files makes 100k of them.)"""

    path: str
    kind: str
    record_id: str | None
    problems: str | None
    refs: str | None
    links: str | None


@dataclass(frozen=True)
class Entry:
    """What the index keeps of one file: its facts (None: it does not read as a record for the
    readers) and, when `check` asked, its verdict."""

    facts: Facts | None
    verdict: Verdict | None = None


# (kind, path) -> the entry for the file at `path`; the domain layer reads the file.
Derive = Callable[[Kind, Path], Entry]


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
    """The index of one ledger's `records/`, opened for one command."""

    def __init__(self, records: Path, cache: Path, context: str, derive: Derive,
                 progress: Progress = quiet) -> None:
        self.records = records
        self.progress = progress
        self.file = cache / INDEX_NAME
        self.context = f"{INDEX_VERSION}:{context}"
        self.derive = derive
        cache.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.file, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError:
            # A damaged index is only a cache: start it again.
            discard(cache)
            self.db = sqlite3.connect(self.file, timeout=30, isolation_level=None)
            self.db.executescript(SCHEMA)
        stored = self.db.execute("SELECT value FROM meta WHERE key = 'context'").fetchone()
        if stored is None or stored[0] != self.context:
            # Another csctl, other settings or templates, or another schema: every row is doubt.
            with self._transaction():
                self.db.execute("DROP TABLE IF EXISTS files")
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('context', ?)", (self.context,))

    def _transaction(self) -> Any:
        return _Transaction(self.db)

    # ----- freshness ------------------------------------------------------------------------

    def refresh(self, kinds: Collection[Kind] = (), *, checking: Derive | None = None, jobs: int = 1) -> None:
        """Bring the rows of `kinds` (default every kind) up to the files on disk: new and changed files
        are read, gone ones dropped. A question about one kind needs only that kind's folder fresh.

        `checking` derives entries with `check`'s verdict: rows without one are read again too. `jobs`
        processes share the reading when there is much of it."""
        chosen = [k for k in KIND_BY_FOLDER.values() if not kinds or k in kinds]
        names = [k.name for k in chosen]
        # One string per stat key, compared as sqlite returns it: a dict built in C, no tuple per row.
        known: dict[str, str] = dict(self.db.execute(
            "SELECT path, size || ' ' || mtime_ns || ' ' || ctime_ns || ' ' || ino FROM files "
            f"WHERE kind IN ({','.join('?' * len(names))})" + (" AND checked = 1" if checking else ""), names))
        seen: set[str] = set()
        stale: list[tuple[str, Kind, os.stat_result]] = []
        for relative, kind, stat in _scan(self.records, chosen):
            seen.add(relative)
            if known.get(relative) != f"{stat.st_size} {stat.st_mtime_ns} {stat.st_ctime_ns} {stat.st_ino}":
                stale.append((relative, kind, stat))
        gone = [(p,) for p in known.keys() - seen]
        if checking:
            # Rows a reader refreshed without a verdict are not in `known`, but they are not gone.
            gone = [(p,) for p, in self.db.execute(
                f"SELECT path FROM files WHERE kind IN ({','.join('?' * len(names))})", names) if p not in seen]
        if not stale and not gone:
            return
        derive = checking or self.derive
        rows = map_in_processes(lambda item: _row(self.records, *item, derive), stale, jobs, msg("index.reading"),
                                self.progress)
        with self._transaction():
            self.db.executemany("DELETE FROM files WHERE path = ?", gone)
            self.db.executemany(f"INSERT OR REPLACE INTO files VALUES ({','.join('?' * 17)})", rows)

    # ----- questions ------------------------------------------------------------------------

    def rows(self, where: str = "1", parameters: tuple[Any, ...] = ()) -> Iterator[Row]:
        query = f"SELECT path, kind, readable, due, first_at, last_at, finished, facts FROM files WHERE {where}"
        for path, kind, readable, due, first_at, last_at, finished, facts in self.db.execute(query, parameters):
            yield Row(self.records / path, _KINDS[kind], bool(readable), due, first_at, last_at, bool(finished),
                      json.loads(facts))

    def verdicts(self) -> list[Checked]:
        """Every file's verdict, after a `refresh(checking=…)`."""
        query = "SELECT path, kind, record_id, problems, refs, links FROM files WHERE checked = 1"
        return list(map(Checked._make, self.db.execute(query)))


def _row(records: Path, relative: str, kind: Kind, stat: os.stat_result, derive: Derive) -> tuple[Any, ...]:
    # "Racy" as git says: a file changed within the clock's granularity of being read may change
    # again without its stat key changing; such a row is kept but read again next time (size -1).
    size = stat.st_size if stat.st_mtime_ns < time.time_ns() - RACY_NS else -1
    entry = derive(kind, records / relative)
    facts, verdict = entry.facts, entry.verdict
    head = (relative, kind.name, size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    if facts is None:
        described: tuple[Any, ...] = (0, None, None, None, 0, "{}")
    else:
        described = (1, _epoch(facts.due), _epoch(facts.first), _epoch(facts.last), int(facts.finished),
                     json.dumps(facts.extra, ensure_ascii=False, separators=(",", ":")))
    if verdict is None:
        return (*head, *described, 0, None, None, None, None)
    return (*head, *described, 1, verdict.record_id, verdict.problems, verdict.refs, verdict.links)


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


def _scan(records: Path, kinds: Collection[Kind]) -> Iterator[tuple[str, Kind, os.stat_result]]:
    """Every `*.toml` under each kind's folder (path relative to `records`), with its stat (temp files,
    which start with a dot, left out)."""
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
                if name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{prefix}{name}/"))
                elif name.endswith(".toml"):
                    yield prefix + name, kind, entry.stat()
