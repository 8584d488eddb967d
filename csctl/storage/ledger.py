"""Finding a ledger and reading its settings."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from csctl.errors import CsctlError, RecordError
from csctl.i18n import msg
from csctl.models.config import LedgerConfig, LockSettings
from csctl.storage import worktree
from csctl.storage.atomic import create_exclusive, remove_stale_temps, write_atomic
from csctl.storage.layout import CACHE, CONFIG_NAME, LOCK, RECORDS, TEMPLATES, ledger_root
from csctl.storage.locate import schema_problems
from csctl.storage.lock import ledger_lock
from csctl.storage.toml_io import TomlSyntaxError, parse_toml

if TYPE_CHECKING:
    from tomlkit import TOMLDocument

LOCK_TIMEOUT_VARIABLE = "CSCTL_LOCK_TIMEOUT"

# What git leaves in its folder while it is stopped in the middle of an operation.
_UNFINISHED_GIT = (
    ("MERGE_HEAD", "merge"),
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
)


class Ledger:
    """A ledger folder: `csctl.toml`, `records/`, `templates/`, and the `.csctl/` cache."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # (depth, exclusive) of the lock this process holds: a change of two records
        # (a follow-up and its origin) takes it once, and the store's calls inside nest.
        self._held: tuple[int, bool] = (0, False)
        # Files this command wrote or removed, for autocommit.
        self.written: list[Path] = []

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @cached_property
    def records(self) -> Path:
        return self.root / RECORDS

    @property
    def templates(self) -> Path:
        return self.root / TEMPLATES

    @property
    def cache(self) -> Path:
        return self.root / CACHE

    @cached_property
    def config(self) -> LedgerConfig:
        return load_config(self.config_path)

    @contextmanager
    def lock(self, *, exclusive: bool, what: str, finishing_git: bool = False) -> Iterator[None]:
        """The ledger lock, shared or exclusive; taking it exclusively means a write is coming.

        So it is not taken exclusively while git is stopped in a merge or
        rebase: the records are half-merged then, and a write would be merged
        again (refused in one line; reading goes on). Except a write that
        finishes the merge (`finishing_git`): the repair of an ID both sides
        created, which the merge driver asks for.
        """
        depth, held_exclusive = self._held
        if depth:
            if exclusive and not held_exclusive:
                raise RuntimeError("cannot take the ledger lock exclusively inside a shared hold")
            self._held = (depth + 1, held_exclusive)
            try:
                yield
            finally:
                self._held = (depth, held_exclusive)
            return
        if exclusive and not finishing_git:
            self.refuse_during_git_operation()
        if exclusive:
            # A write is coming: what git was asked before it is not what this command must read after (its
            # own files would pass for unchanged), and the early look's shared hold would block this one.
            worktree.forget_early()
        with ledger_lock(self.cache / LOCK, exclusive=exclusive, timeout=self._lock_timeout(), what=what):
            self._held = (1, exclusive)
            try:
                yield
            finally:
                self._held = (0, False)

    def refuse_during_git_operation(self) -> None:
        """`CsctlError` while git is stopped in a merge, rebase, cherry-pick or revert of this ledger."""
        git_dir = _git_dir(self.root)
        if git_dir is None:
            return
        for name, operation in _UNFINISHED_GIT:
            if (git_dir / name).exists():
                raise CsctlError(msg("git.unfinished", what=operation, root=self.root))

    def _lock_timeout(self) -> float:
        given = os.environ.get(LOCK_TIMEOUT_VARIABLE)
        if given:
            try:
                seconds = float(given)
            except ValueError:
                seconds = math.nan
            if not 0 < seconds <= 3600:  # as [lock] timeout in csctl.toml; NaN fails too
                raise CsctlError(msg("lock.bad_timeout", value=given))
            return seconds
        try:
            return self.config.lock.timeout
        except RecordError:
            # `check` must still run (and report) when csctl.toml itself is broken.
            return LockSettings().timeout

    def template(self, name: str) -> dict[str, Any]:
        """A file of `templates/`, parsed; the packaged default when the ledger has none."""
        path = self.templates / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
        else:
            from importlib import resources

            text = (resources.files("csctl.data") / "templates" / name).read_text(encoding="utf-8")
        try:
            return parse_toml(text)
        except TomlSyntaxError as err:
            raise RecordError(path, err.line, err.message) from None

    def relative(self, path: Path) -> str:
        """A path as printed in messages: relative to the ledger when inside it."""
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


def _git_dir(root: Path) -> Path | None:
    """The git folder of the repository holding `root` (a worktree's own, for a linked worktree)."""
    for folder in (root, *root.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            try:
                text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                return None
            if not text.startswith("gitdir:"):
                return None
            return folder / text.removeprefix("gitdir:").strip()  # an absolute gitdir replaces folder
    return None


def load_config(path: Path) -> LedgerConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CsctlError(f"{path}: cannot read: {err.strerror}") from err
    try:
        data = parse_toml(text)
    except TomlSyntaxError as err:
        raise RecordError(path, err.line, err.message) from None
    try:
        return LedgerConfig.model_validate(data)
    except ValidationError as err:
        line, message = schema_problems(text, err)[0]
        raise RecordError(path, line, message) from None


def find_ledger(explicit: str | None, env: Mapping[str, str], cwd: Path) -> Ledger:
    """`--ledger`, else `CSCTL_LEDGER`, else the nearest parent holding `csctl.toml` (SPEC §1)."""
    return Ledger(ledger_root(explicit, env, cwd))


def edit_config(ledger: Ledger, change: Callable[[LedgerConfig, TOMLDocument], None]) -> LedgerConfig:
    """Change `csctl.toml` in place, keeping its comments and layout; validated before writing.

    Under the lock, `change` gets the settings as they are now (not as this
    process first read them) to decide on, and the tomlkit document to edit;
    the result must still be a valid configuration, or nothing is written.
    """
    import tomlkit  # only commands that edit the settings pay for it

    with ledger.lock(exclusive=True, what=CONFIG_NAME):
        current = load_config(ledger.config_path)
        document = tomlkit.parse(ledger.config_path.read_text(encoding="utf-8"))
        change(current, document)
        text = tomlkit.dumps(document)
        try:
            config = LedgerConfig.model_validate(parse_toml(text))
        except ValidationError as err:
            raise CsctlError(f"{CONFIG_NAME}: {schema_problems(text, err)[0][1]}") from None
        remove_stale_temps(ledger.root)
        write_atomic(ledger.config_path, text.encode("utf-8"))
        ledger.written.append(ledger.config_path)
    ledger.__dict__["config"] = config
    return config


def default_templates() -> list[tuple[str, bytes]]:
    """The templates shipped with csctl, that a new ledger starts from."""
    from importlib import resources

    folder = resources.files("csctl.data") / "templates"
    return sorted((entry.name, entry.read_bytes()) for entry in folder.iterdir() if entry.name.endswith(".toml"))


def write_new_ledger(root: Path, files: list[tuple[str, bytes]], config: bytes) -> bool:
    """Write a new ledger's files, `csctl.toml` last; False (and nothing left behind) if one appeared meanwhile.

    Files the folder already has are kept: a folder can be turned into a ledger.
    """
    root.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    try:
        for relative, data in files:
            path = root / relative
            if path.exists():
                continue
            write_atomic(path, data)
            created.append(path)
        # Written last and exclusively: two inits racing on one folder cannot both win.
        if create_exclusive(root / CONFIG_NAME, config):
            return True
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    for path in created:
        path.unlink(missing_ok=True)
    return False
