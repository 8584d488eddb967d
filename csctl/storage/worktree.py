"""What git already knows of the record files: which of them may differ from HEAD.

Why: every fresh answer of the index must know which files changed since it
read them. Statting 100k files from Python costs ~0.45 s (500k: ~2.5 s);
`git status` answers the same from git's own stat cache in C, on several
threads, in about half that. The index (`storage/index.py`) keeps the HEAD it
last saw and the files that differed from it then; a file that git says is
as HEAD has it, and that did not differ then either, is as the index read it.
Any doubt — no git, no commit yet, a HEAD that cannot be compared — and the
index stats every file itself.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Worktree:
    head: str  # the commit HEAD names
    # Files under records/ (relative to it) that may differ from HEAD: changed, new, deleted, ignored.
    differing: frozenset[str]


def _git(folder: Path, *args: str) -> bytes | None:
    import subprocess  # here: only the index asks git, and only when it has one to keep

    try:
        # With its optional lock, as a plain `git status`: git writes back what it learnt of changed stat
        # data (after a copy, a touch), where without it every later status would hash every such file
        # again (40 s at 500k). It takes git's index lock for a moment, and skips it when another has it.
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def look(records: Path, folders: Collection[str] = ()) -> Worktree | None:
    """HEAD, and the files under `records` (in `folders` of it, default all) git does not hold as HEAD has
    them; None when git cannot say. Git stats only the files it is asked about: a command on remittances
    pays for the remittances' folder (0.08 s at 100k records), not for every record (0.22 s)."""
    found = _git(records, "rev-parse", "--show-prefix", "HEAD")
    if found is None:
        return None  # not a repository, or no commit yet
    prefix, head = os.fsdecode(found).split("\n")[:2]
    status = _git(records, "status", "--porcelain", "-z", "--untracked-files=all", "--ignored=traditional",
                  "--no-renames", "--", *(sorted(folders) or ["."]))
    if status is None or not head:
        return None
    differing = set()
    for entry in os.fsdecode(status).split("\0"):
        path = entry[3:]  # "XY path": without renames, one path an entry
        if path.startswith(prefix):
            differing.add(path[len(prefix):])
    return Worktree(head, frozenset(differing))


def changed_between(records: Path, old: str, new: str) -> set[str] | None:
    """The files under `records` (relative to it) that differ between two commits; None when git cannot
    compare them (a commit no longer there after a rebase and a gc, say)."""
    found = _git(records, "diff", "--name-only", "-z", "--no-renames", "--relative", old, new, "--", ".")
    return None if found is None else {path for path in os.fsdecode(found).split("\0") if path}
