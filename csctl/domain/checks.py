"""What a `check` rule receives and returns: shared by the integrity checks and each workflow's rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from csctl.i18n import msg
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


def disagreements(record: Record, replayed: Mapping[str, object],
                  shown: Callable[[object], str]) -> Iterator[tuple[str, str]]:
    """Each stored field of `record` that is not what its history adds up to (`replayed`, by field), with
    what `check` says of it. A ticket or a remittance that has one does not read: the history is the truth."""
    for name, value in replayed.items():
        stored = getattr(record, name)
        if stored != value:
            yield name, msg("check.ticket_field", field=name, stored=shown(stored), replayed=shown(value))
