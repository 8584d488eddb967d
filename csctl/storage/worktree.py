"""What git already knows of the record files: which of them may differ from HEAD.

Why: every fresh answer of the index must know which files changed since it
read them. Statting 100k files from Python costs ~0.45 s (500k: ~2.5 s);
`git status` answers the same from git's own stat cache in C, on several
threads, in about half that. The index (`storage/index.py`) keeps the HEAD it
last saw and the files that differed from it then; a file that git says is
as HEAD has it, and that did not differ then either, is as the index read it.
Any doubt — no git, no commit yet, a HEAD that cannot be compared — and the
index stats every file itself.

When: a command that reads the index has git look as soon as it is named
(`look_early`, from the root command), so that git stats the files on another
core while Python imports the command (~0.15 s); its `look` then takes that
answer. The command holds the ledger lock shared from before git is asked
until git is done, so no csctl writes meanwhile, and it lets go of an early
look before it takes the lock to write. An answer taken later is as old as
the moment git was asked (`Worktree.asked_ns`), which the index goes by.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from csctl.storage.layout import CACHE, LOCK, RECORDS
from csctl.storage.lock import shared_if_free

if TYPE_CHECKING:
    from subprocess import Popen

# Seconds git may take to answer before the index does without it.
GIT_TIMEOUT = 60


# (NamedTuples, not dataclasses: the root command imports this module, and a dataclass costs ~0.7 ms to make.)
class Worktree(NamedTuple):
    head: str  # the commit HEAD names
    # Files under records/ (relative to it) that may differ from HEAD: changed, new, deleted, ignored.
    differing: frozenset[str]
    # When git was asked (time.time_ns()): a file changed since may be missing from `differing`.
    asked_ns: int


class _Asked(NamedTuple):
    """Git at work on the status of `folders` of `records` (empty: all of them), HEAD known."""

    records: Path
    folders: frozenset[str]
    asked_ns: int
    prefix: str  # where `records` is in the repository
    head: str
    status: Popen[bytes]
    # Asked early: a shared hold of the ledger lock (its file descriptor), kept until git is done, so that no
    # csctl writes while git looks. (A `git status` holds git's index lock: a writer's autocommit then fails.)
    held: int | None

    def covers(self, records: Path, folders: Collection[str]) -> bool:
        return records == self.records and (not self.folders or (bool(folders) and self.folders.issuperset(folders)))

    def answer(self) -> bytes | None:
        """What `git status` printed, once it is done; None when it failed or took too long (then git is left
        to finish: a signal could leave git's index lock behind, see `forget_early`)."""
        import subprocess

        try:
            out, _ = self.status.communicate(timeout=GIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if self.held is not None:
                os.close(self.held)
        return out if self.status.returncode == 0 else None


_early: _Asked | None = None


def _ask(records: Path, folders: Collection[str], held: int | None = None) -> _Asked | None:
    """Read HEAD, and start git on the status of `folders`; None when git cannot say (not a repository, no
    commit yet, no git)."""
    import subprocess  # here: only the index asks git, and only when it has one to keep

    asked_ns = time.time_ns()
    status = None
    try:
        found = subprocess.run(["git", "rev-parse", "--show-prefix", "HEAD"], cwd=records, capture_output=True,
                               timeout=GIT_TIMEOUT)
        lines = os.fsdecode(found.stdout).split("\n")
        if found.returncode == 0 and len(lines) > 1:
            # With its optional lock, as a plain `git status`: git writes back what it learnt of changed stat
            # data (after a copy, a touch), where without it every later status would hash every such file
            # again (40 s at 500k). It takes git's index lock for a moment, and skips it when another has it.
            status = subprocess.Popen(["git", "status", "--porcelain", "-z", "--untracked-files=all",
                                       "--ignored=traditional", "--no-renames", "--", *(sorted(folders) or ["."])],
                                      cwd=records, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        pass
    if status is None:
        if held is not None:
            os.close(held)
        return None
    return _Asked(records, frozenset(folders), asked_ns, lines[0], lines[1], status, held)


def look_early(root: Path, folders: Collection[str]) -> None:
    """Have git start the `look` this command will make at the ledger in `root` (of `folders` of its records,
    default all), holding the ledger lock shared until git is done; nothing when a writer holds it (the
    command asks git itself once it has the lock) or the ledger has no lock file yet."""
    global _early
    forget_early()
    held = shared_if_free(root / CACHE / LOCK)
    if held is not None:
        _early = _ask(root / RECORDS, folders, held)


def forget_early() -> None:
    """Wait for git's early look if no `look` took it (the command failed, is about to write, or asked about
    other folders), and let go of its hold of the ledger lock. Waited for, not stopped by a signal: a `git
    status` so stopped was seen to leave git's index lock behind, which fails every later git command that
    writes."""
    global _early
    if _early is not None:
        early, _early = _early, None
        early.answer()


def look(records: Path, folders: Collection[str] = ()) -> Worktree | None:
    """HEAD, and the files under `records` (in `folders` of it, default all) git does not hold as HEAD has
    them; None when git cannot say. Git stats only the files it is asked about: a command on remittances
    pays for the remittances' folder (0.08 s at 100k records), not for every record (0.22 s)."""
    global _early
    asked: _Asked | None
    if _early is not None and _early.covers(records, folders):
        asked, _early = _early, None
    else:
        forget_early()  # (one `git status` at a time: two would race for git's index lock)
        asked = _ask(records, folders)
    if asked is None:
        return None
    status = asked.answer()
    if status is None or not asked.head:
        return None
    differing = set()
    wanted = tuple(f"{folder}/" for folder in folders)
    for entry in os.fsdecode(status).split("\0"):
        path = entry[3:]  # "XY path": without renames, one path an entry
        if path.startswith(asked.prefix):
            relative = path[len(asked.prefix):]
            # (An early look may have covered more folders than this one asks about.)
            if not wanted or relative.startswith(wanted):
                differing.add(relative)
    return Worktree(asked.head, frozenset(differing), asked.asked_ns)


def changed_between(records: Path, old: str, new: str) -> set[str] | None:
    """The files under `records` (relative to it) that differ between two commits; None when git cannot
    compare them (a commit no longer there after a rebase and a gc, say)."""
    import subprocess

    try:
        done = subprocess.run(["git", "diff", "--name-only", "-z", "--no-renames", "--relative", old, new, "--", "."],
                              cwd=records, capture_output=True, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    return None if done.returncode != 0 else {path for path in os.fsdecode(done.stdout).split("\0") if path}
