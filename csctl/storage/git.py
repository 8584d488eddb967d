"""The few things csctl asks of git: the user's e-mail, and a repository for a new ledger."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    if shutil.which("git") is None:
        return None
    try:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10)
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
