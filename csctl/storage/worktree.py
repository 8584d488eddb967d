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
answer. An answer taken later is as old as the moment git was asked
(`Worktree.asked_ns`), which the index goes by.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

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
    """Git at work on a `look`: HEAD and the status of `folders` of `records` (empty: all of them)."""

    records: Path
    folders: frozenset[str]
    asked_ns: int
    head: Popen[bytes]
    status: Popen[bytes]

    def covers(self, records: Path, folders: Collection[str]) -> bool:
        return records == self.records and (not self.folders or (bool(folders) and self.folders.issuperset(folders)))

    def finish(self) -> None:
        """Let git finish, its answer unused. Not stopped by a signal: a `git status` so stopped was seen to
        leave its optional index lock behind, which fails every later git command that writes."""
        for process in (self.head, self.status):
            process.communicate()


_early: _Asked | None = None


def _ask(records: Path, folders: Collection[str]) -> _Asked | None:
    """Start git on HEAD and on the status of `folders` (both at once); None when git cannot be started."""
    import subprocess  # here: only the index asks git, and only when it has one to keep

    def start(*args: str) -> Popen[bytes]:
        return subprocess.Popen(["git", *args], cwd=records, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    asked_ns = time.time_ns()
    try:
        head = start("rev-parse", "--show-prefix", "HEAD")
    except OSError:
        return None
    try:
        # With its optional lock, as a plain `git status`: git writes back what it learnt of changed stat
        # data (after a copy, a touch), where without it every later status would hash every such file
        # again (40 s at 500k). It takes git's index lock for a moment, and skips it when another has it.
        status = start("status", "--porcelain", "-z", "--untracked-files=all", "--ignored=traditional",
                       "--no-renames", "--", *(sorted(folders) or ["."]))
    except OSError:
        head.communicate()
        return None
    return _Asked(records, frozenset(folders), asked_ns, head, status)


def look_early(records: Path, folders: Collection[str] = ()) -> None:
    """Have git start the `look` this command will make (of `folders`, default all)."""
    global _early
    forget_early()
    _early = _ask(records, folders)


def forget_early() -> None:
    """Wait for git's early look if no `look` took it (the command failed, wrote, or asked about other
    folders): a command leaves no git behind, which could hold git's index lock as a script runs git next."""
    global _early
    if _early is not None:
        _early.finish()
        _early = None


def look(records: Path, folders: Collection[str] = ()) -> Worktree | None:
    """HEAD, and the files under `records` (in `folders` of it, default all) git does not hold as HEAD has
    them; None when git cannot say. Git stats only the files it is asked about: a command on remittances
    pays for the remittances' folder (0.08 s at 100k records), not for every record (0.22 s)."""
    global _early
    asked, _early = (_early, None) if _early is not None and _early.covers(records, folders) else (None, _early)
    asked = asked or _ask(records, folders)
    if asked is None:
        return None
    found, status = _answer(asked.head), _answer(asked.status)
    if found is None:
        return None  # not a repository, or no commit yet
    prefix, head = os.fsdecode(found).split("\n")[:2]
    if status is None or not head:
        return None
    differing = set()
    wanted = tuple(f"{folder}/" for folder in folders)
    for entry in os.fsdecode(status).split("\0"):
        path = entry[3:]  # "XY path": without renames, one path an entry
        if path.startswith(prefix):
            relative = path[len(prefix):]
            # (An early look may have covered more folders than this one asks about.)
            if not wanted or relative.startswith(wanted):
                differing.add(relative)
    return Worktree(head, frozenset(differing), asked.asked_ns)


def _answer(process: Popen[bytes]) -> bytes | None:
    """What git printed, once it is done; None when it failed or took too long."""
    import subprocess

    try:
        out, _ = process.communicate(timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None  # (left to finish: a signal could leave git's index lock behind, see `_Asked.finish`)
    return out if process.returncode == 0 else None


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
