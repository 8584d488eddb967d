"""The five record kinds of SPEC §1, as their files hold them.

These are the shared shapes; each workflow (tickets, remittances, remarks,
customers, knowledge base) adds its rules in `csctl.domain`. Derived fields
(`status`, `assignee`) are stored for readers and reviewers of `git diff`, but
the events are the truth they are replayed from.
"""

# Annotations stay objects (no `from __future__ import annotations`): pydantic would have to
# compile and evaluate each string annotation at import: ~3 ms of every command, over the three modules.

import datetime as dt
from typing import Annotated

from pydantic import Field

from csctl.models.base import BLANK_PATTERN, LabeledEnum, Model, PositiveMoney, Record, Stamp, no_items

Text = Annotated[str, Field(min_length=1, pattern=BLANK_PATTERN)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 -]{4,19}$")]


class TicketKind(LabeledEnum):
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    REQUIREMENT = "requirement"
    MAINTENANCE = "maintenance"
    BUSINESS = "business"


class Channel(LabeledEnum):
    PHONE = "phone"
    ONLINE = "online"
    EMAIL = "email"
    VISIT = "visit"
    OUTBOUND = "outbound"
    FIELD = "field"


class Urgency(LabeledEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(LabeledEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    TRANSFERRED = "transferred"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Verdict(LabeledEnum):
    VALID = "valid"
    INVALID = "invalid"


class CallbackOutcome(LabeledEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"


class Ticket(Record):
    kind: TicketKind
    channel: Channel
    subject: Text
    description: str | None = None
    urgency: Urgency = Urgency.NORMAL
    status: TicketStatus = TicketStatus.NEW
    customer: str | None = None
    caller: str | None = None
    phone: Phone | None = None
    region: str | None = None
    assignee: str | None = None
    department: str | None = None
    verdict: Verdict | None = None
    follows: str | None = None
    followups: list[str] = Field(default_factory=no_items)
    kb: list[str] = Field(default_factory=no_items)
    # 5W1H of seed 001: when, who, where, what, why, how.
    occurred: str | None = None
    who: str | None = None
    where: str | None = None
    what: str | None = None
    why: str | None = None
    how: str | None = None
    # A complaint's real cause and the remedy the customer wants (seed 002 投诉受理).
    cause: str | None = None
    wanted: str | None = None


class RemittanceStatus(LabeledEnum):
    ORDERED = "ordered"
    PAID = "paid"
    VERIFIED = "verified"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class Item(Model):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]  # 货号
    size: Annotated[str, Field(min_length=1, pattern=r"^[^:\s]+$")]  # 码数
    qty: Annotated[int, Field(ge=1)]


class Payment(Model):
    """A payment notice (收到汇款): what the buyer says was sent; verification confirms it arrived."""

    date: dt.date
    method: Text
    bank: Text
    amount: PositiveMoney


class Remittance(Record):
    """A bank-transfer order (汇款订单). `status`, `payments`, `reference`, `verified_by` and `waybill`
    are replayed from the history."""

    buyer: Text
    agent: str
    address: Text
    amount: PositiveMoney
    status: RemittanceStatus = RemittanceStatus.ORDERED
    shop_ordered: bool = False
    # The shop's order number, as remark files are named (csctl.domain.remarks.ORDER).
    shop_trade: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")] | None = None
    customer: str | None = None
    reference: str | None = None
    verified_by: str | None = None
    waybill: str | None = None
    not_duplicate_of: list[str] = Field(default_factory=no_items)
    items: Annotated[list[Item], Field(min_length=1)]
    payments: list[Payment] = Field(default_factory=no_items)


class ReviewEntry(Model):
    id: str
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class RegisterReview(Record):
    """The supervisor's sign-off (审核) of one day's remittance register; `id` is the day, `2026-11-20`.

    `entries` holds a digest of each remittance as that day left it, so a later
    edit of a signed day shows which record changed.
    """

    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    reviewed_by: str
    entries: list[ReviewEntry] = Field(default_factory=no_items)


class Remark(Model):
    at: Stamp
    by: str
    kind: Text
    text: Text


class RemarkFile(Record):
    """Every remark on one shop order; the file is named by the order number."""

    buyer: str | None = None
    remarks: list[Remark] = Field(default_factory=no_items)


class Customer(Record):
    name: Text
    phone: Phone | None = None
    region: str | None = None
    street: str | None = None
    organisation: str | None = None
    address: str | None = None
    qq: str | None = None
    wechat: str | None = None
    email: str | None = None
    needs: str | None = None
    tags: list[str] = Field(default_factory=no_items)


class KbStatus(LabeledEnum):
    DRAFT = "draft"
    REVIEW = "review"
    PUBLISHED = "published"
    RETIRED = "retired"


class KbEntry(Record):
    question: Text
    answer: Text
    status: KbStatus = KbStatus.DRAFT
    author: str
    steps: list[str] = Field(default_factory=no_items)
    cases: list[str] = Field(default_factory=no_items)
    tags: list[str] = Field(default_factory=no_items)


__all__ = [
    "CallbackOutcome",
    "Channel",
    "Customer",
    "Item",
    "KbEntry",
    "KbStatus",
    "Payment",
    "RegisterReview",
    "Remark",
    "RemarkFile",
    "Remittance",
    "RemittanceStatus",
    "ReviewEntry",
    "Stamp",
    "Ticket",
    "TicketKind",
    "TicketStatus",
    "Urgency",
    "Verdict",
]
