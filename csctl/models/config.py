"""`csctl.toml`: the team, its roster and roles, time rules, locale and formats (SPEC §1, §2)."""

# Annotations stay objects (no `from __future__ import annotations`): pydantic would have to
# compile and evaluate each string annotation at import: ~3 ms of every command, over the three modules.

import datetime as dt
import re
import zoneinfo
from functools import cached_property, lru_cache
from typing import Annotated, Literal, NamedTuple, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from csctl.models.base import AGENT_ID, LabeledEnum, Model, no_items


class Role(LabeledEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    ASSISTANT = "assistant"
    TECH = "tech"
    VIEWER = "viewer"


class AgentEntry(Model):
    """One person on the roster; `name` is the name written in remarks (客服名)."""

    id: Annotated[str, Field(pattern=rf"^{AGENT_ID.pattern}$")]
    name: Annotated[str, Field(min_length=1, max_length=32)]
    role: Role
    staff_no: str | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    active: bool = True


DEFAULT_TIMEZONE = "Asia/Shanghai"


class TeamSettings(Model):
    name: Annotated[str, Field(min_length=1)]
    timezone: str = DEFAULT_TIMEZONE
    locale: Literal["zh", "en"] = "zh"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from err
        return value


_HOURS = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
Hours = Annotated[str, Field(pattern=rf"^{_HOURS.pattern}$")]


# The fields of WorkingHours. Its validators read them by name: `model_dump` would build the
# model's serializer, in every command, just to list seven strings.
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WorkingHours(Model):
    """Opening hours per weekday as `HH:MM-HH:MM`, or "" for a day off (seed 001 在线客服)."""

    mon: Hours | Literal[""] = "08:30-17:00"
    tue: Hours | Literal[""] = "08:30-17:00"
    wed: Hours | Literal[""] = "08:30-17:00"
    thu: Hours | Literal[""] = "08:30-17:00"
    fri: Hours | Literal[""] = "08:30-17:00"
    sat: Hours | Literal[""] = "08:30-16:00"
    sun: Hours | Literal[""] = "08:30-16:00"

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        for day in DAYS:
            value: str = getattr(self, day)
            if not value:
                continue
            try:
                opens, closes = (dt.time.fromisoformat(part) for part in value.split("-"))
            except ValueError:
                raise ValueError(f"{day}: not a time range within one day: {value} (e.g. 08:30-17:00)") from None
            if opens >= closes:
                raise ValueError(f"{day}: the day must end after it starts: {value}")
        return self


class CalendarSettings(Model):
    """The working calendar: opening hours, public holidays, and make-up workdays (调休)."""

    hours: WorkingHours = Field(default_factory=WorkingHours)
    holidays: list[dt.date] = Field(default_factory=no_items)
    workdays: list[dt.date] = Field(default_factory=no_items)

    @model_validator(mode="after")
    def _some_working_day(self) -> Self:
        # Deadlines counted in working time would never arrive. Listed make-up workdays are not enough: they
        # run out (the settings pass today and fail every deadline command once the last one is past).
        if not any(getattr(self.hours, day) for day in DAYS):
            raise ValueError("hours: at least one weekday needs opening hours (make-up workdays run out)")
        return self


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
# The longest limit, about three years: a longer one is a typing error, and one long enough would end past
# the last date a clock can show (year 9999) in every deadline command.
LONGEST_LIMIT_DAYS = 1000


class Duration(NamedTuple):
    """A time limit: whole days plus seconds (`3d`, `4h`, `1d4h`, `30m`).

    Counted in working time, a day is a working day and an hour a working hour.
    """

    days: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Duration":
        return _parse_duration(text)


@lru_cache(maxsize=256)  # every deadline of every ticket in a report reads the same few limits
def _parse_duration(text: str) -> Duration:
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or not match:
        raise ValueError(f"not a duration: {text!r} (e.g. 30m, 4h, 3d, 1d4h)")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    if not (days or hours or minutes):
        raise ValueError(f"a limit must be longer than zero: {text!r}")
    if (days * 24 + hours) * 60 + minutes > LONGEST_LIMIT_DAYS * 24 * 60:
        raise ValueError(f"a limit of at most {LONGEST_LIMIT_DAYS}d: {text!r}")
    return Duration(days, hours * 3600 + minutes * 60)


def _duration_text(value: str) -> str:
    Duration.parse(value)
    return value


DurationText = Annotated[str, AfterValidator(_duration_text)]


# strftime directives a remark's date may use: csctl reads the date back out of remark text.
_DATE_DIRECTIVES = re.compile(r"%[YymdHM%]")


class RemarkSettings(Model):
    """Remarks on shop orders (seed 001 备注规范) and the registers kept from them."""

    # strftime format of the date that ends a remark (…+小王/11.23): %Y %y %m %d %H %M only.
    date_format: Annotated[str, Field(min_length=1)] = "%m.%d"
    # A refund due to a buyer (应退…) should be registered (退款已登记) within this long, wall-clock time.
    refund_register_within: DurationText = "1d"
    # A balance deduction (扣除余额…) should be registered (余额已登记) within this long.
    balance_register_within: DurationText = "1d"

    @field_validator("date_format")
    @classmethod
    def _readable_date(cls, value: str) -> str:
        rest = _DATE_DIRECTIVES.sub("", value)
        if "%" in rest:
            raise ValueError(f"{value!r}: use only %Y %y %m %d %H %M (remarks are read back by csctl)")
        if "%d" not in value or "\n" in value:
            raise ValueError(f"{value!r}: a remark's date needs the day (%d) on one line, e.g. %m.%d")
        return value
TICKET_KINDS = ("consultation", "complaint", "suggestion", "requirement", "maintenance", "business")
URGENCIES = ("low", "normal", "high", "urgent")


def _limit_table(table: dict[str, str]) -> dict[str, str]:
    for key in table:
        parts = key.split(".")
        known = (
            key == "default"
            or (len(parts) == 1 and (key in TICKET_KINDS or key in URGENCIES))
            or (len(parts) == 2 and parts[0] in TICKET_KINDS and parts[1] in URGENCIES)
        )
        if not known:
            raise ValueError(
                f"{key!r}: use default, a kind ({', '.join(TICKET_KINDS)}), an urgency "
                f"({', '.join(URGENCIES)}) or kind.urgency"
            )
    if "default" not in table:
        raise ValueError("a `default` limit is required")
    return table


LimitTable = Annotated[dict[str, DurationText], AfterValidator(_limit_table)]


class TicketSettings(Model):
    """Ticket deadlines (seed 001: 最多不超过三日; complaints faster) and language rules."""

    # "working": limits count the calendar's opening hours; "calendar": the wall clock.
    count: Literal["working", "calendar"] = "working"
    response: LimitTable = Field(
        default_factory=lambda: {"default": "4h", "complaint": "2h", "high": "2h", "urgent": "30m"}
    )
    resolution: LimitTable = Field(
        default_factory=lambda: {"default": "3d", "complaint": "1d", "high": "1d", "urgent": "4h"}
    )
    callback: DurationText = "1d"
    callback_retry: DurationText = "4h"
    callback_kinds: list[Literal[TICKET_KINDS]] = Field(default_factory=lambda: ["complaint"])  # type: ignore[valid-type]
    strict_language: bool = False

    def limits(self, table: str, kind: str, urgency: str) -> list[Duration]:
        """The limits that apply (kind.urgency, kind, urgency, default); the earliest deadline wins."""
        limits: dict[str, str] = getattr(self, table)
        keys = (f"{kind}.{urgency}", kind, urgency, "default")
        return [Duration.parse(limits[k]) for k in keys if k in limits]


class RemittanceSettings(Model):
    """Bank-transfer orders (seed 001 汇款流程): how long a payment notice may wait for verification."""

    # 付款通知三天内未核实: back to the agent who took the order.
    verify_within: DurationText = "3d"
    # "calendar": days on the wall clock; "working": working days of the calendar.
    count: Literal["working", "calendar"] = "calendar"
    # Two open orders of one buyer for the same amount this close together look like one order twice.
    duplicate_window: DurationText = "3d"
    # Register days before this date predate the daily review (a ledger started mid-year).
    reviews_from: dt.date | None = None


class GitSettings(Model):
    autocommit: bool = False


class LockSettings(Model):
    # Seconds a command waits for another csctl command to finish writing.
    timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0


class LedgerConfig(Model):
    team: TeamSettings
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    remarks: RemarkSettings = Field(default_factory=RemarkSettings)
    git: GitSettings = Field(default_factory=GitSettings)
    lock: LockSettings = Field(default_factory=LockSettings)
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    remittances: RemittanceSettings = Field(default_factory=RemittanceSettings)
    agents: list[AgentEntry] = Field(default_factory=no_items)

    @model_validator(mode="after")
    def _unique_roster(self) -> Self:
        ids: set[str] = set()
        emails: dict[str, str] = {}
        for index, agent in enumerate(self.agents):
            if agent.id in ids:
                raise ValueError(f"agents.{index}.id: {agent.id} is listed twice")
            ids.add(agent.id)
            if agent.email:
                email = agent.email.lower()
                if email in emails:
                    raise ValueError(
                        f"agents.{index}.email: {agent.email} is also {emails[email]}'s"
                    )
                emails[email] = agent.id
        return self

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.team.timezone)

    @cached_property
    def _by_id(self) -> dict[str, AgentEntry]:
        return {a.id: a for a in self.agents}

    def agent(self, agent_id: str) -> AgentEntry | None:
        return self._by_id.get(agent_id)

    def agent_by_email(self, email: str) -> AgentEntry | None:
        wanted = email.strip().lower()
        return next((a for a in self.agents if a.email and a.email.lower() == wanted), None)
