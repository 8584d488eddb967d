"""Personal data (个人信息) is shown masked unless revealed (seed 002 保密, seed 004 数据安全).

Phone numbers, accounts and addresses are masked in every output — tables,
JSON and CSV alike; a role allowed to (`customer.reveal`) may see them whole
with `--reveal`, and every reveal is written into the record's history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from csctl.domain.auth import require
from csctl.models.base import Event
from csctl.models.config import AgentEntry

# Fields holding personal contact data, on any record kind.
PERSONAL = ("phone", "street", "address", "qq", "wechat", "email", "account")
# Free text a customer's number gets typed into: a ticket's subject, description and 5W1H, and what an
# event says (a remittance's notes, a ticket's notes, reasons and solutions). Its phone numbers are masked.
FREE_TEXT = frozenset({"subject", "description", "occurred", "who", "where", "what", "why", "how", "cause",
                       "wanted", "needs", "text", "note", "reason", "solution", "explanation"})
# However short a value, this many of its characters stay hidden.
HIDDEN_AT_LEAST = 4


def mask(field: str, value: str) -> str:
    """`13857123456` → `138****3456`; `zhou.jg@example.cn` → `z***@example.cn`; an address keeps
    its first 6 characters (province and city; a phone among them masked first); anything else keeps at
    most its ends, never showing more than all but 4 of its characters."""
    if not value:
        return value
    if field == "email" and "@" in value:
        user, domain = value.split("@", 1)
        return f"{user[:1]}***@{domain}"
    if field == "address" and len(value) > 10:
        # A phone written first would show its first six digits: masked as a phone first.
        return mask_phones(value)[:6] + "****"
    text = re.sub(r"\D", "", value) if field == "phone" and len(re.sub(r"\D", "", value)) >= 7 else value
    shown = max(0, min(7, len(text) - HIDDEN_AT_LEAST))
    front, back = shown // 2, shown - shown // 2
    sign = "+" if field == "phone" and value.startswith("+") and text is not value else ""
    return f"{sign}{text[:front]}{'*' * (len(text) - shown)}{text[len(text) - back:] if back else ''}"


def _masked_value(key: str, value: object) -> object:
    if not isinstance(value, str):
        return value
    if key in PERSONAL:
        return mask(key, value)
    return mask_phones(value) if key in FREE_TEXT else value


def masked(data: Mapping[str, object]) -> dict[str, object]:
    """A record's (or an event's, or a listing row's) fields with the personal ones masked, and the phone
    numbers in its free text."""
    return {k: _masked_value(k, v) for k, v in data.items()}


def masked_events(events: Iterable[Event]) -> list[Event]:
    """A history as shown unrevealed: what each event says masked like the record's fields."""
    return [e.model_copy(update=masked(e.extras)) for e in events]


def revealed_fields(actor: AgentEntry, record: object, shown: tuple[str, ...] = PERSONAL) -> list[str]:
    """The personal fields of `record` that revealing would show whole (refused for a role that may not);
    `phone` too when its free text or its history quotes a phone number.

    The caller records them as a `revealed` event: who saw which fields, never their values.
    """
    require(actor, "customer.reveal")
    texts = [getattr(record, f, None) for f in FREE_TEXT]
    texts += [v for e in getattr(record, "events", ()) for k, v in e.extras.items() if k in FREE_TEXT]
    quoted = any(isinstance(t, str) and PHONE_IN_TEXT.search(t) for t in texts)
    return [f for f in shown if f in PERSONAL and (getattr(record, f, None) or (f == "phone" and quoted))]


# A mainland mobile number or a landline with its area code inside free text (a note or remark quoting the
# customer's phone), in ASCII or full-width digits as a Chinese IME types them (`\d` takes both).
PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:(?:[+＋]?[8８][6６][ -]?)?[1１][3-9３-９]\d(?:[ -]?\d){8}"
                           r"|[0０]\d{2,3}[ -]?\d{7,8})(?!\d)")


def mask_phones(text: str) -> str:
    """Free text with every phone number in it masked."""
    return PHONE_IN_TEXT.sub(lambda found: mask("phone", found.group(0)), text)
