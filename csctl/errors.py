"""Errors that reach the user, each carrying its exit code (SPEC §4), and problems found by checks.

Domain and storage code raise these; only the CLI turns them into one line on
stderr and an exit status. Checks never raise: they return `Problem`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CsctlError(Exception):
    """Bad usage or bad input: unknown ID, invalid value, malformed file (exit 2)."""

    exit_code = 2

    def __str__(self) -> str:
        # One line, even when it quotes a name or value typed with a line break in it.
        return super().__str__().replace("\r", "\\r").replace("\n", "\\n")


class NotFound(CsctlError):
    """An ID, agent or file that does not exist."""


class InvalidInput(CsctlError):
    """A value that does not fit its field."""


class IllegalTransition(CsctlError):
    """A state change the record's current state does not allow."""

    def __init__(self, message: str, event_index: int | None = None) -> None:
        super().__init__(message)
        # Which event of a replayed history does not fit, for `check`'s line number.
        self.event_index = event_index


class RecordError(CsctlError):
    """A record file that cannot be read: TOML syntax or schema (`path:line: message`)."""

    def __init__(self, path: Path | str, line: int | None, message: str,
                 more: list[tuple[int | None, str]] | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        # Every problem found, the first one included (`check` lists them all).
        self.all = [(line, message), *(more or [])]
        super().__init__(format_location(self.path, line, message))


class LockTimeout(CsctlError):
    """Another csctl command held the ledger lock longer than we were willing to wait."""


class Forbidden(CsctlError):
    """The acting person's role may not take this action (exit 3)."""

    exit_code = 3


def format_location(path: Path | str, line: int | None, message: str) -> str:
    return f"{path}:{line}: {message}" if line else f"{path}: {message}"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing `check` found wrong with a file; `warning`s do not change the exit code."""

    path: str
    line: int | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        text = format_location(self.path, self.line, self.message)
        return f"{text} (warning)" if self.warning else text
