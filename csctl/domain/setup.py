"""`csctl init`: a new ledger with the layout of SPEC §1 and its first admin."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import tomli_w
from pydantic import ValidationError

from csctl.domain.calendar import official_days
from csctl.errors import CsctlError
from csctl.i18n import msg
from csctl.models.base import describe_error
from csctl.models.config import AgentEntry, LedgerConfig, Role
from csctl.storage.git import ensure_repository
from csctl.storage.layout import CACHE, CONFIG_NAME, RECORDS, TEMPLATES
from csctl.storage.ledger import default_templates, write_new_ledger
from csctl.storage.locate import schema_problems
from csctl.storage.toml_io import parse_toml

GITATTRIBUTES = """\
# Records merge with csctl's driver (run `csctl git-setup` once per clone):
# histories are united by time, different fields both kept.
records/**/*.toml merge=csctl diff=csctl
*.toml text eol=lf
"""

GITIGNORE = f"""\
# csctl's derived cache and lock: rebuilt on demand, never committed.
{CACHE}/
"""


def _value(value: str) -> str:
    """A TOML string literal, escaped the way tomli-w writes it."""
    return tomli_w.dumps({"v": value}).split(" = ", 1)[1].rstrip("\n")


def _dates(days: list[dt.date]) -> str:
    if not days:
        return "[]"
    return "[\n" + "".join(f"    {day.isoformat()},\n" for day in days) + "]"


def config_text(team: str, timezone: str, locale: str, admin: AgentEntry, years: list[int]) -> str:
    holidays, workdays, uncovered = official_days(years)
    source = (f"China's official days for {', '.join(str(y) for y in years if y not in uncovered)}"
              " (from the chinesecalendar package)" if len(uncovered) < len(years) else "none found")
    missing = (f"\n# Not yet published when this ledger was made: {', '.join(map(str, uncovered))};"
               "\n# add them when they are (`csctl check` warns until then).") if uncovered else ""
    return f"""\
# csctl ledger settings, read by every csctl command and validated by `csctl check`.
# Edit by hand, or with `csctl agent add/edit` (which keep these comments).

[team]
name = {_value(team)}
# Times in records are written in this zone (IANA name).
timezone = {_value(timezone)}
# Language of labels and messages: zh or en (`--lang` overrides).
locale = {_value(locale)}

[calendar]
# Public holidays (no work) and make-up workdays (调休, a weekend day worked),
# used when deadlines are counted in working hours.
# Written at init: {source}.{missing}
holidays = {_dates(holidays)}
workdays = {_dates(workdays)}

[calendar.hours]
# Opening hours per weekday, "HH:MM-HH:MM", or "" for a day off
# (seed: Mon-Fri 08:30-17:00, Sat-Sun 08:30-16:00).
mon = "08:30-17:00"
tue = "08:30-17:00"
wed = "08:30-17:00"
thu = "08:30-17:00"
fri = "08:30-17:00"
sat = "08:30-16:00"
sun = "08:30-16:00"

[remarks]
# strftime format of the date that ends a remark: +小王/11.23
date_format = "%m.%d"
# A refund to pay back (应退…) or a balance deduction not registered (退款已登记 /
# 余额已登记) this long after its remark becomes an alert for the agent who wrote it.
refund_register_within = "1d"
balance_register_within = "1d"

[git]
# Commit each change with a message saying what was done, by whom, to which record.
autocommit = false

[lock]
# Seconds to wait while another csctl command (a person, a cron job) is writing.
timeout = 30

[tickets]
# Deadlines, counted in the calendar's working time ("working") or on the wall clock
# ("calendar"). Of the limits that apply to a ticket (kind.urgency, kind, urgency,
# default) the earliest deadline wins. 30m, 4h, 3d (working days), 1d4h. Seed: 最多不超过三日.
count = "working"
response = {{ default = "4h", complaint = "2h", high = "2h", urgent = "30m" }}
resolution = {{ default = "3d", complaint = "1d", high = "1d", urgent = "4h" }}
# A callback (回访) is due this long after a resolution, for these kinds; after an
# attempt that did not reach the customer, again after `callback_retry`.
callback = "1d"
callback_retry = "4h"
callback_kinds = ["complaint"]
# true: refuse forbidden words (templates/phrases.toml) instead of warning.
strict_language = false

[remittances]
# A payment notice not verified this long after it was registered becomes an alert for
# the agent who took the order (seed: 三天内未核实). Counted on the wall clock
# ("calendar") or in working days of the calendar ("working").
verify_within = "3d"
count = "calendar"
# Two open orders of one buyer for the same amount this close together are flagged
# as a possible duplicate (as are two open orders of one buyer for the same items).
duplicate_window = "3d"

# The team (SPEC §2). `name` is the name written in remarks (客服名), `staff_no`
# the number said on the phone (工号). role: admin, supervisor, agent,
# assistant, tech, viewer.
[[agents]]
id = {_value(admin.id)}
name = {_value(admin.name)}
role = "admin"
"""


def init_ledger(
    root: Path,
    admin_id: str,
    admin_name: str,
    team: str | None = None,
    timezone: str = "Asia/Shanghai",
    locale: str = "zh",
    git: bool = True,
    year: int | None = None,
) -> Path:
    """Write a new ledger into `root` (created if needed); refuse one that holds a ledger."""
    root = root.expanduser()
    if (root / CONFIG_NAME).exists():
        raise CsctlError(msg("ledger.exists", path=root))
    if root.exists() and not root.is_dir():
        raise CsctlError(f"{root}: not a folder")
    admin = _checked_admin(admin_id, admin_name)
    this_year = year or dt.date.today().year
    text = config_text(team or root.resolve().name, timezone, locale, admin, [this_year, this_year + 1])
    try:
        LedgerConfig.model_validate(parse_toml(text))
    except ValidationError as err:  # a bad --timezone or --team value
        message = schema_problems(text, err)[0][1]
        for field, option in (("team.timezone", "--timezone"), ("team.name", "--team")):
            message = message.replace(f"{field}:", f"{option}:")
        raise CsctlError(message) from None

    files = [
        (".gitattributes", GITATTRIBUTES.encode()),
        (".gitignore", GITIGNORE.encode()),
        (f"{RECORDS}/.gitkeep", b""),
        *((f"{TEMPLATES}/{name}", data) for name, data in default_templates()),
    ]
    if not write_new_ledger(root, files, text.encode("utf-8")):
        raise CsctlError(msg("ledger.exists", path=root))
    if git:
        ensure_repository(root)
    return root


def _checked_admin(admin_id: str, admin_name: str) -> AgentEntry:
    try:
        return AgentEntry(id=admin_id, name=admin_name, role=Role.ADMIN)
    except ValidationError as err:
        field, message = describe_error(err).split(": ", 1)
        raise CsctlError(f"{ {'id': '--admin', 'name': '--name'}.get(field, field)}: {message}") from None
