"""The clock: `CSCTL_NOW` when set (tests, replays, back-filling), else the system clock.

Read at call time, never at import, so one process can be driven through time.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import NamedTuple
from zoneinfo import ZoneInfo

from csctl.errors import InvalidInput
from csctl.models.base import STAMP_YEARS, outside_years


def parse_moment(text: str, tz: ZoneInfo, field: str) -> dt.datetime:
    """An ISO date or date-time; without an offset it is read in the ledger's time zone."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{field}: not an ISO date-time: {text!r} (e.g. 2026-11-23T09:30 or 2026-11-23T09:30+08:00)"
        ) from None
    if not STAMP_YEARS[0] <= value.year <= STAMP_YEARS[1]:
        # Named as typed: converted to the ledger's zone it may read otherwise (a year 1800 in Shanghai's
        # local mean time), and near a year 1 the conversion itself overflows.
        raise InvalidInput(f"{field}: {outside_years(text.strip())}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.replace(microsecond=0)


def now(tz: ZoneInfo) -> dt.datetime:
    """The current moment in the ledger's time zone, whole seconds."""
    fixed = os.environ.get("CSCTL_NOW")
    if fixed:
        return parse_moment(fixed, tz, "CSCTL_NOW").astimezone(tz)
    return dt.datetime.now(tz).replace(microsecond=0)


class Moment(NamedTuple):
    """When an action happened (`--at`) and, if that was earlier, when it was recorded."""

    at: dt.datetime
    recorded: dt.datetime | None = None


def when_done(at: str | None, tz: ZoneInfo) -> Moment:
    """The moment of an event: `--at` back-dates an action, never forward-dates it."""
    current = now(tz)
    if at is None:
        return Moment(current)
    moment = parse_moment(at, tz, "--at").astimezone(tz)
    if moment > current:
        raise InvalidInput(f"--at: {at} is in the future (now is {current.isoformat()})")
    return Moment(moment, current if moment != current else None)
