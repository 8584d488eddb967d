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
    """What rules may consult besides the record: the settings and the phrases. Never other records, nor
    the roster (but a remark file's rules, whose shapes read its names and roles), so that a file's verdict
    holds as long as the file, the settings but the roster, and the templates do (`indexing._verdict_contexts`):
    the records and people a file names are judged across the files, from the names each file's verdict
    notes."""

    config: LedgerConfig | None
    phrases: Phrases | None


class Finding(NamedTuple):
    loc: Loc
    message: str
    warning: bool = False


Rule = Callable[[Record, Kind, CheckContext], Iterable[Finding]]
