"""The few things csctl asks of git: the user's e-mail, and a repository for a new ledger."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess


def _git(folder: Path, *args: str, env: Mapping[str, str] | None = None,
         timeout: float | None = 10) -> subprocess.CompletedProcess[str] | None:
    import subprocess  # here: most commands never run git, and subprocess costs each ~1.5 ms to import

    command, environment = ["git", *args], ({**os.environ, **env} if env else None)
    try:  # no git installed: FileNotFoundError
        if timeout is not None:
            return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout,
                                  env=environment)
        with subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=environment) as git:
            interrupted = False
            while True:
                # A Ctrl-C reaches git too (one process group), which stops and removes its index.lock by
                # itself; `subprocess.run` would kill it, and the lock would stay behind.
                try:
                    out, err = git.communicate()
                    break
                except KeyboardInterrupt:
                    interrupted = True
            if interrupted:
                raise KeyboardInterrupt
            return subprocess.CompletedProcess(command, git.returncode, out, err)
    except (OSError, subprocess.SubprocessError):
        return None


def user_email(folder: Path) -> str | None:
    """`git config user.email` as seen from `folder`, or None."""
    result = _git(folder, "config", "user.email")
    return (result.stdout.strip() or None) if result and result.returncode == 0 else None


def ensure_repository(folder: Path) -> None:
    """`git init` the folder unless it is already inside a work tree (or git is missing)."""
    inside = _git(folder, "rev-parse", "--is-inside-work-tree")
    if inside is not None and inside.returncode != 0:
        _git(folder, "init", "-q")


def commit_paths(folder: Path, paths: list[Path], message: str, env: Mapping[str, str]) -> str | None:
    """Commit exactly `paths` (new, changed or removed) with `message`, git and its hooks run with `env` added;
    the reason when it could not.

    Git is waited for however long it takes: a git killed in the middle leaves `.git/index.lock` behind, and
    every later commit fails on it until someone removes it by hand. (A pre-commit hook's csctl gives up on
    its own lock timeout.)
    """
    relative = sorted({str(p.relative_to(folder)) for p in paths})
    added = _git(folder, "add", "-A", "--", *relative, timeout=None)
    if added is None:
        return "git is not installed"
    if added.returncode != 0:
        return (added.stderr.strip().splitlines() or ["git add failed"])[-1]
    done = _git(folder, "commit", "-q", "--only", "-m", message, "--", *relative, env=env, timeout=None)
    if done is None:
        return "git failed to run"
    if done.returncode != 0:
        return ((done.stderr or done.stdout).strip().splitlines() or ["git commit failed"])[-1]
    return None
