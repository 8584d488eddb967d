"""What a `check` rule receives and returns: shared by the integrity checks and each workflow's rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from csctl.models.base import Record
from csctl.models.config import LedgerConfig
from csctl.models.kinds import Kind
from csctl.storage.locate import Loc

if TYPE_CHECKING:
    from csctl.domain.phrases import Phrases


@dataclass
class CheckContext:
    """What rules may consult besides the record: the roster and the phrases. Never other records, so
    that a file's verdict holds as long as the file, the settings and the templates do (references to
    other records are judged across the files, from the IDs each file names)."""

    config: LedgerConfig | None
    phrases: Phrases | None


class Finding(NamedTuple):
    loc: Loc
    message: str
    warning: bool = False


Rule = Callable[[Record, Kind, CheckContext], Iterable[Finding]]
