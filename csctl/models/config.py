"""`csctl.toml`: the team, its roster and roles, time rules, locale and formats (SPEC §1, §2)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from functools import cached_property
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from csctl.models.base import AGENT_ID, LabeledEnum, Model


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


class TeamSettings(Model):
    name: Annotated[str, Field(min_length=1)]
    timezone: str = "Asia/Shanghai"
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
        for day, value in self.model_dump().items():
            match = _HOURS.fullmatch(value)
            if match and match.group(1, 2) >= match.group(3, 4):
                raise ValueError(f"{day}: the day must end after it starts: {value}")
        return self


class CalendarSettings(Model):
    """The working calendar: opening hours, public holidays, and make-up workdays (调休)."""

    hours: WorkingHours = Field(default_factory=WorkingHours)
    holidays: list[dt.date] = Field(default_factory=list)
    workdays: list[dt.date] = Field(default_factory=list)


class RemarkSettings(Model):
    # strftime format of the date that ends a remark (…+小王/11.23).
    date_format: Annotated[str, Field(min_length=1)] = "%m.%d"


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
    agents: list[AgentEntry] = Field(default_factory=list)

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
