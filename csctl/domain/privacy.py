"""Personal data (个人信息) is shown masked unless revealed (seed 002 保密, seed 004 数据安全).

Phone numbers, accounts and addresses are masked in every output — tables,
JSON and CSV alike; a role allowed to (`customer.reveal`) may see them whole
with `--reveal`, and every reveal is written into the record's history.
"""

from __future__ import annotations

import re

# Fields holding personal contact data, on any record kind.
PERSONAL = ("phone", "address", "qq", "wechat", "email", "account")


def mask(field: str, value: str) -> str:
    """`13857123456` → `138****3456`; `zhou.jg@example.cn` → `z***@example.cn`;
    an address keeps its first 6 characters (province and city), an account its ends."""
    if not value:
        return value
    if field == "email" and "@" in value:
        user, domain = value.split("@", 1)
        return f"{user[:1]}***@{domain}"
    if field == "address":
        return value[:6] + "****"
    digits = re.sub(r"\D", "", value)
    if field == "phone" and len(digits) >= 7:
        return f"{'+' if value.startswith('+') else ''}{digits[:3]}****{digits[-4:]}"
    if len(value) <= 4:
        return "*" * len(value)
    return f"{value[:2]}***{value[-2:]}"


def masked(data: dict[str, object]) -> dict[str, object]:
    """A record's fields with the personal ones masked."""
    return {k: (mask(k, v) if k in PERSONAL and isinstance(v, str) else v) for k, v in data.items()}
