"""Reading remittances in bulk: the filter of `remit list`, and which files a listing or a day's register
reads when the index can say (`csctl.domain.indexing`): a superset of those it shows, so that the answer
is the same without the index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csctl.domain.remittances import OPEN, day_bounds
from csctl.models.config import LedgerConfig
from csctl.models.kinds import REMITTANCE
from csctl.models.records import Remittance

if TYPE_CHECKING:
    from csctl.storage.index import Index

Condition = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class RemitFilter:
    statuses: frozenset[str] = frozenset()
    open_only: bool = False
    # field name -> the stored value it must have (buyer, agent, customer)
    equal: dict[str, str] = field(default_factory=dict)
    since: dt.date | None = None
    until: dt.date | None = None

    def admits(self, remit: Remittance, day: dt.date) -> bool:
        """Whether the listing shows `remit`, created on `day` in the ledger's zone."""
        return not (
            (self.statuses and remit.status.value not in self.statuses)
            or (self.open_only and remit.status not in OPEN)
            or any(getattr(remit, name) != value for name, value in self.equal.items())
            or (self.since and day < self.since)
            or (self.until and day > self.until)
        )

    def conditions(self, tz: dt.tzinfo) -> list[Condition] | None:
        """The condition of the files whose facts do not rule this filter out; None when it narrows
        nothing the facts hold (the open ones are selected apart: `chosen`)."""
        from csctl.domain.indexing import matching

        if not (self.statuses or self.equal or self.since or self.until):
            return None
        return [matching(REMITTANCE, tz, equal=self.equal, one_of={"status": set(self.statuses)} if self.statuses
                         else None, created_from=self.since, created_to=self.until)]


def of_day(day: dt.date, config: LedgerConfig) -> list[Condition]:
    """The conditions of the remittances a day's register may list: those that moved that day."""
    from csctl.domain.indexing import active

    return active(REMITTANCE, [day_bounds(day, config)])


def chosen(index: Index | None, *, open_only: bool = False, conditions: list[Condition] | None = None
           ) -> list[Path] | None:
    """The remittance files a reading needs, with the files that do not read (for it to say it left them
    out): the open ones, or those meeting any of `conditions`; None (every file) without an index or
    without either."""
    from csctl.domain import indexing

    if index is None:
        return None
    if open_only:
        return indexing.unfinished(index, REMITTANCE, with_unreadable=True)
    if conditions is not None:
        return indexing.chosen_and_unreadable(index, REMITTANCE, *conditions)
    return None
