"""Where each record kind lives on disk and what it refers to (SPEC §1)."""

from __future__ import annotations

from dataclasses import dataclass, field

from csctl.models.base import Record
from csctl.models.records import Customer, KbEntry, RegisterReview, RemarkFile, Remittance, Ticket

AGENT = "agent"


# Compared and hashed by identity: each kind is one module-level object.
@dataclass(frozen=True, eq=False)
class Kind:
    name: str
    folder: str
    model: type[Record]
    # Generated IDs start with this letter; remark files are named by the shop's order number.
    prefix: str | None
    # Dated kinds are filed under YYYY/MM of their creation.
    dated: bool
    # Field name -> the kind its value (or each value of a list) must name.
    references: dict[str, str] = field(default_factory=dict)


TICKET = Kind(
    "ticket", "tickets", Ticket, "T", dated=True,
    references={"customer": "customer", "assignee": AGENT, "follows": "ticket",
                "followups": "ticket", "kb": "kb"},
)
REMITTANCE = Kind(
    "remittance", "remittances", Remittance, "R", dated=True,
    references={"agent": AGENT, "customer": "customer", "not_duplicate_of": "remittance"},
)
REMARK = Kind("remark", "remarks", RemarkFile, None, dated=True)
# Named by the day it signs off, `2026-11-20`.
REVIEW = Kind("review", "reviews", RegisterReview, None, dated=True, references={"reviewed_by": AGENT})
CUSTOMER = Kind("customer", "customers", Customer, "C", dated=False)
KB = Kind("kb", "kb", KbEntry, "K", dated=False, references={"author": AGENT})

KINDS: dict[str, Kind] = {k.name: k for k in (TICKET, REMITTANCE, REMARK, CUSTOMER, KB, REVIEW)}
KIND_BY_FOLDER: dict[str, Kind] = {k.folder: k for k in KINDS.values()}
KIND_BY_PREFIX: dict[str, Kind] = {k.prefix: k for k in KINDS.values() if k.prefix}
