"""The store: the only code that reads or writes record files.

Every change is a read-modify-write under the exclusive ledger lock: read the
record fresh, let the caller change it, check that history only grew, render
the canonical text, check that the text parses back to the same record, and
replace the file atomically. New records are created with `os.link`, so a new
file never lands on an existing one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from csctl.errors import CsctlError, InvalidInput, NotFound, RecordError
from csctl.i18n import msg
from csctl.models.base import Record
from csctl.models.kinds import KIND_BY_FOLDER, KIND_BY_PREFIX, Kind
from csctl.progress import Progress, quiet, shown
from csctl.storage import ids
from csctl.storage.atomic import create_exclusive, remove_durably, remove_stale_temps, write_atomic
from csctl.storage.ledger import Ledger
from csctl.storage.locate import schema_problems
from csctl.storage.toml_io import TomlSyntaxError, dump_record, parse_toml

R = TypeVar("R", bound=Record)
T = TypeVar("T")

_KEY_LINE = re.compile(r"^([A-Za-z0-9_-]+) = ", re.MULTILINE)


def parse_record(path: Path, text: str, kind: Kind) -> Record:
    """A record from its file text; `RecordError` with `path:line` when it is not one."""
    conflict = conflict_line(text)
    if conflict is not None:
        raise RecordError(path, conflict, msg("store.conflict"))
    try:
        data = parse_toml(text)
    except TomlSyntaxError as err:
        raise RecordError(path, err.line, err.message) from None
    try:
        return kind.model.model_validate(data)
    except ValidationError as err:
        (line, message), *more = schema_problems(text, err)
        raise RecordError(path, line, message, more) from None


def conflict_line(text: str) -> int | None:
    """Where a git conflict block starts: lines opening with `<<<<<<<`, then `=======`, then `>>>>>>>`.

    A block inside a multi-line string still parses as TOML, so a textual merge
    of two edits of one answer or description would pass for data without this.
    """
    if "<<<<<<<" not in text:
        return None
    start: int | None = None
    divided = False
    for number, line in enumerate(text.splitlines(), start=1):
        if start is None:
            if line.startswith("<<<<<<<"):
                start = number
        elif not divided:
            divided = line.rstrip() == "======="
        elif line.startswith(">>>>>>>"):
            return start
    return None


def filed_at(kind: Kind, record_id: str, created: dt.date | None = None) -> str:
    """Where a record is filed, relative to `records/`: `<folder>/[YYYY/MM/]<id>.toml` (a record with a
    generated ID by the month in its ID, a remark file by the month it was `created`)."""
    if not kind.dated:
        return f"{kind.folder}/{record_id}.toml"
    if kind.prefix:
        month = ids.id_month(record_id)
        if month is None:
            raise CsctlError(f"{record_id}: cannot tell the month folder of this record")
    elif created is not None:
        month = f"{created:%Y}/{created:%m}"
    else:
        raise CsctlError(f"{record_id}: cannot tell the month folder of this record")
    return f"{kind.folder}/{month}/{record_id}.toml"


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordError(path, None, f"not UTF-8 text (byte {err.start})") from None
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except OSError as err:
        raise RecordError(path, None, f"cannot read: {err.strerror}") from None


class Store:
    def __init__(self, ledger: Ledger, progress: Progress = quiet) -> None:
        self.ledger = ledger
        # How a read of many files shows that it is under way (a bar on a terminal; nothing elsewhere).
        self.progress = progress
        # Folders cleared of a killed writer's temp files by this command (once each is enough).
        self._swept: set[Path] = set()

    @property
    def written(self) -> list[Path]:
        """Paths this command wrote or removed (kept by the ledger, with csctl.toml's)."""
        return self.ledger.written

    # ----- where things are -------------------------------------------------
    def folder(self, kind: Kind) -> Path:
        return self.ledger.records / kind.folder

    def path_for(self, kind: Kind, record_id: str, created: dt.date | None = None) -> Path:
        """The one path a record may have: `<folder>/[YYYY/MM/]<id>.toml`."""
        return Path(f"{self.ledger.records}/{filed_at(kind, record_id, created)}")

    def kind_of(self, path: Path) -> Kind | None:
        try:
            parts = path.resolve().relative_to(self.ledger.records.resolve()).parts
        except ValueError:
            return None
        return KIND_BY_FOLDER.get(parts[0]) if parts else None

    def resolve_id(self, kind: Kind, text: str) -> str:
        """The canonical ID for what a user typed, or `NotFound`."""
        if kind.prefix is None:
            return text.strip()
        record_id = ids.normalize(text)
        if record_id is None or KIND_BY_PREFIX.get(record_id[0]) is not kind:
            raise NotFound(msg("store.not_an_id", text=text, kind=msg(f"kind.{kind.name}"),
                               example=f"{kind.prefix}-261123-0F3KQ"))
        return record_id

    def files_named(self, kind: Kind, record_id: str) -> list[Path]:
        """The files that may hold `record_id`: its one path, or for a remark file, any month's."""
        if kind.prefix is None:
            if "/" in record_id or record_id.startswith("."):
                return []  # an outside number is a name, never a way into another folder
            name = f"{record_id}.toml"
            return [month / name for month in sorted(self.folder(kind).glob("*/*")) if _is_file(month / name)]
        path = self.path_for(kind, record_id)
        return [path] if _is_file(path) else []

    def find(self, kind: Kind, record_id: str) -> Path:
        found = self.files_named(kind, record_id)
        if not found:
            raise NotFound(msg("store.not_found", kind=msg(f"kind.{kind.name}"), id=record_id))
        return found[0]

    def exists(self, kind: Kind, record_id: str) -> bool:
        try:
            self.find(kind, record_id)
        except NotFound:
            return False
        return True

    def iter_paths(self, kinds: Iterable[Kind] | None = None) -> Iterator[tuple[Kind, Path]]:
        """Every record file, kind by kind, in sorted order (by creation, for generated IDs)."""
        for kind in kinds or KIND_BY_FOLDER.values():
            folder = self.folder(kind)
            for path in sorted(_walk_toml(folder)):
                yield kind, Path(path)

    def toml_under(self, folder: Path) -> list[Path]:
        """The `*.toml` files under a folder (temp files, which start with a dot, left out)."""
        return [Path(p) for p in sorted(_walk_toml(folder))]

    def iter_strays(self) -> Iterator[Path]:
        """`*.toml` files under `records/` outside every kind's folder: not records."""
        try:
            entries = sorted(os.scandir(self.ledger.records), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name in KIND_BY_FOLDER:
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from (Path(p) for p in sorted(_walk_toml(Path(entry.path))))
            elif entry.name.endswith(".toml"):
                yield Path(entry.path)

    # ----- reading ----------------------------------------------------------
    def load(self, kind: Kind, path: Path) -> Record:
        return parse_record(path, read_text(path), kind)

    def read_all(self, model: type[R], kind: Kind, paths: Iterable[Path] | None = None,
                 accept: Callable[[R, Path], R] | None = None) -> tuple[list[R], list[RecordError]]:
        """Every record of `kind` (or those at `paths`) that reads and that `accept` takes (a history that
        replays, say), and what is wrong with the rest (`read_each`)."""

        def take(record: Record, path: Path) -> R:
            assert isinstance(record, model)
            return accept(record, path) if accept else record

        return self.read_each(kind, paths, take)

    def read_each(self, kind: Kind, paths: Iterable[Path] | None, take: Callable[[Record, Path], T]
                  ) -> tuple[list[T], list[RecordError]]:
        """What `take` makes of each record of `kind` (or at `paths`) that reads, and what is wrong with the
        rest (a file that does not read, or that `take` refuses with `RecordError`): one broken file must
        not blind a listing or the alerts cron relies on. Under the shared lock, so no half-done change is
        seen."""
        good: list[T] = []
        bad: list[RecordError] = []
        with self.reading(kind, paths) as each:
            for path in each:
                try:
                    good.append(take(self.load(kind, path), path))
                except RecordError as err:
                    bad.append(err)
        return good, bad

    @contextmanager
    def reading(self, kind: Kind, paths: Iterable[Path] | None = None) -> Iterator[Iterable[Path]]:
        """The files of `kind` (or `paths`) to read one by one, under the shared lock (no half-done change
        is seen), with a bar on a terminal when there are many: a report or a listing may read thousands."""
        with self.ledger.lock(exclusive=False, what=kind.folder):
            chosen = [p for _, p in self.iter_paths([kind])] if paths is None else list(paths)
            with shown(self.progress, chosen, msg("records.reading", kind=msg(f"kind.{kind.name}"))) as each:
                yield each

    def read(self, kind: Kind, record_id: str) -> Record:
        return self.load(kind, self.find(kind, record_id))

    # ----- writing ----------------------------------------------------------
    def create(self, kind: Kind, now: dt.datetime, build: Callable[[str], R]) -> R:
        """Allocate an ID (see `csctl.storage.ids`), build the record, file it."""
        with self.ledger.lock(exclusive=True, what=f"new {kind.name}"):
            while True:
                record = build(self.allocate_id(kind, now))
                if self.file_new(kind, record):
                    return record

    def allocate_id(self, kind: Kind, created: dt.datetime) -> str:
        """A fresh ID for a record created at `created`; the caller holds the exclusive lock."""
        assert kind.prefix is not None
        local = created.astimezone(self.ledger.config.tz)
        folder = self.folder(kind) / f"{local:%Y}" / f"{local:%m}" if kind.dated else self.folder(kind)
        head = f"{kind.prefix}-{local:%y%m%d}-"
        return ids.new_id(kind.prefix, local, [stem for stem in _stems(folder) if stem.startswith(head)])

    def file_new(self, kind: Kind, record: Record) -> bool:
        """Write a record at its path unless a file is there; the caller holds the lock."""
        path = self.path_for(kind, record.id, record.created.date())
        self._sweep(path.parent)
        if not create_exclusive(path, self._render(path, kind, record)):
            return False
        self.written.append(path)
        return True

    def withdraw_new(self, kind: Kind, record: Record) -> None:
        """Take back a record `file_new` just wrote, when a write that belongs with it failed; the caller
        still holds the lock it was filed under."""
        path = self.path_for(kind, record.id, record.created.date())
        self.written.remove(path)  # first: if the removal fails, autocommit must not commit the file alone
        remove_durably(path)

    def create_named(self, kind: Kind, record: R) -> R:
        """File a record named by an outside number (a shop order); refuses an existing one."""
        with self.ledger.lock(exclusive=True, what=f"new {kind.name}"):
            if self.exists(kind, record.id) or not self.file_new(kind, record):
                raise CsctlError(msg("store.exists", kind=msg(f"kind.{kind.name}"), id=record.id))
            return record

    def update(self, kind: Kind, record_id: str, change: Callable[[R], R]) -> R:
        """Read the record fresh under the lock, apply `change`, write the result atomically."""
        with self.ledger.lock(exclusive=True, what=f"{kind.name} {record_id}"):
            path = self.find(kind, record_id)
            old = self.load(kind, path)
            new = change(old)  # type: ignore[arg-type]
            self.replace(kind, path, old, new)
            return new

    def replace(self, kind: Kind, path: Path, old: Record, new: Record) -> None:
        """Write `new` over `old` at `path`; the caller holds the exclusive lock."""
        self.check_growth(path, old, new)
        text = self._render(path, kind, new)
        self._sweep(path.parent)
        write_atomic(path, text)
        self.written.append(path)

    @staticmethod
    def check_growth(path: Path, old: Record, new: Record) -> None:
        """History only grows, and never back in time."""
        if new.events[: len(old.events)] != old.events:
            raise CsctlError(msg("store.history_rewritten", path=path))
        if old.events and len(new.events) > len(old.events):
            last, first_new = old.events[-1].written_at, new.events[len(old.events)].written_at
            if first_new < last:
                raise CsctlError(msg("store.clock_behind", path=path, now=first_new.isoformat(),
                                     last=last.isoformat()))

    def rewrite(self, path: Path, kind: Kind, record: Record) -> None:
        """Write a record back in canonical form (`fmt`); the caller holds the exclusive lock."""
        self._sweep(path.parent)
        write_atomic(path, self._render(path, kind, record))
        self.written.append(path)

    def remove(self, path: Path) -> None:
        """Remove a record file (only `check --repair-duplicates` does, after re-filing it)."""
        remove_durably(path)
        self.written.append(path)

    def _sweep(self, folder: Path) -> None:
        """Clear a killed writer's temp files from a folder we are about to write in (under the lock)."""
        if folder not in self._swept:
            remove_stale_temps(folder)
            self._swept.add(folder)

    @staticmethod
    def _render(path: Path, kind: Kind, record: Record) -> bytes:
        text = dump_record(record)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as err:
            # Bytes a terminal could not decode reach us as lone surrogates (`$'\xff'` in a shell).
            keys = _KEY_LINE.findall(text, 0, err.start)
            raise InvalidInput(msg("store.not_utf8", field=keys[-1] if keys else kind.name)) from None
        # Never write what we could not read back as the same record.
        if parse_record(path, text, kind) != record:
            raise CsctlError(f"{path}: internal error: the record would not read back unchanged")
        return data


def _is_file(path: Path) -> bool:
    """`Path.is_file`, where a name no file can have (too long, holding a NUL) is simply no file."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _walk_toml(folder: Path) -> Iterator[str]:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_toml(Path(entry.path))
        elif entry.name.endswith(".toml"):
            yield entry.path


def _stems(folder: Path) -> list[str]:
    try:
        return [name[:-5] for name in os.listdir(folder) if name.endswith(".toml")]
    except FileNotFoundError:
        return []
