"""Record IDs: short enough to read on the phone, sorted by creation, unique across clones.

Shape: `T-261123-0F3KQ` — the kind's letter, the creation date in the ledger's
time zone (YYMMDD), and five Crockford base-32 characters (no I, L, O, U; read
case-insensitively). Those five carry 25 bits: the upper 15 are the time of
day in steps of 86400/32768 ≈ 2.6 s, the lower 10 are random.

- Sorted by creation: the date and time of day come first; within one clone a
  new ID is also made larger than every ID already filed that day, so IDs made
  in the same 2.6 s step still sort in the order they were made.
- Unique without a central counter: two clones collide only if they create a
  record of the same kind in the same 2.6 s step and draw the same 10 random
  bits (1 in 1,024). `csctl check` finds such a pair after a merge and
  `csctl check --repair-duplicates` renames the younger one.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Iterable

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(CROCKFORD)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
TAIL_LENGTH = 5
RANDOM_BITS = 10
_STEPS_PER_DAY = 1 << (5 * TAIL_LENGTH - RANDOM_BITS)
_MAX_TAIL = (1 << (5 * TAIL_LENGTH)) - 1

ID_PATTERN = re.compile(r"([A-Z])-([0-9]{6})-([0-9A-HJKMNP-TV-Z]{5})")
_LOOSE = re.compile(r"\s*([A-Za-z])[-\s]?([0-9]{6})[-\s]?([0-9A-Za-z]{5})\s*", re.ASCII)


def encode(value: int) -> str:
    chars = []
    for _ in range(TAIL_LENGTH):
        value, digit = divmod(value, 32)
        chars.append(CROCKFORD[digit])
    return "".join(reversed(chars))


def decode(tail: str) -> int:
    value = 0
    for char in tail:
        value = value * 32 + _VALUE[char]
    return value


def normalize(text: str) -> str | None:
    """The canonical form of an ID typed or heard loosely (`t2611230f3kq`), or None."""
    # NFKC first: full-width letters and digits typed with a Chinese IME become ASCII.
    match = _LOOSE.fullmatch(unicodedata.normalize("NFKC", text))
    if not match:
        return None
    prefix, date, tail = match.groups()
    tail = tail.upper().translate(_READ_AS)
    if any(c not in _VALUE for c in tail):
        return None
    return f"{prefix.upper()}-{date}-{tail}"


def id_month(record_id: str) -> str | None:
    """`YYYY/MM`, the folder of a dated record, read straight off a well-formed ID."""
    match = ID_PATTERN.fullmatch(record_id)
    if not match or not "01" <= match.group(2)[2:4] <= "12":
        return None
    return f"20{match.group(2)[:2]}/{match.group(2)[2:4]}"


def new_id(prefix: str, local_now: dt.datetime, same_day: Iterable[str]) -> str:
    """A fresh ID for a record created at `local_now` (in the ledger's time zone).

    `same_day` are the IDs already filed with the same prefix and date.
    """
    seconds = local_now.hour * 3600 + local_now.minute * 60 + local_now.second
    step = seconds * _STEPS_PER_DAY // 86400
    value = (step << RANDOM_BITS) | secrets.randbelow(1 << RANDOM_BITS)
    day = local_now.strftime("%y%m%d")
    head = f"{prefix}-{day}-"
    latest = max(
        (decode(i[len(head):]) for i in same_day if i.startswith(head) and ID_PATTERN.fullmatch(i)), default=-1
    )
    if value <= latest < _MAX_TAIL:
        value = latest + 1
    # Past the day's last value (only a hand-made ID gets there) the random draw
    # stands; the caller retries when the file turns out to exist.
    return head + encode(value)
