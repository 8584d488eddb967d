"""What a `check` rule receives and returns: shared by the integrity checks and each workflow's rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from csctl.models.base import Record
from csctl.models.config import LedgerConfig
from csctl.models.kinds import AGENT, Kind
from csctl.storage.locate import Loc

if TYPE_CHECKING:
    from csctl.domain.phrases import Phrases


@dataclass
class CheckContext:
    """What rules may consult besides the record: the roster, the IDs on file, the phrases."""

    config: LedgerConfig | None
    known: dict[str, set[str]]
    phrases: Phrases | None

    def exists(self, kind: str, value: str) -> bool | None:
        """Whether `value` names an existing `kind`; None when that cannot be told."""
        if kind == AGENT:
            return None if self.config is None else self.config.agent(value) is not None
        return value in self.known[kind]


class Finding(NamedTuple):
    loc: Loc
    message: str
    warning: bool = False


Rule = Callable[[Record, Kind, CheckContext], Iterable[Finding]]


class LedgerRule(Protocol):
    """A rule across records: sees each record of its kind, then reports per file."""

    def see(self, record: Record, path: Path) -> None: ...

    def finish(self) -> Iterable[tuple[Path, Finding]]: ...
