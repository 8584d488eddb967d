"""The team roster in `csctl.toml`: adding and editing people (SPEC §2).

A supervisor manages the accounts of the team (seed 004: 客服主管 — 客服人员账号分配、
权限调整); only an admin makes or changes admins and supervisors.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from csctl.domain.auth import require
from csctl.errors import CsctlError, InvalidInput, NotFound
from csctl.i18n import msg
from csctl.models.config import AgentEntry, LedgerConfig, Role
from csctl.storage.ledger import Ledger, edit_config

SENIOR = (Role.ADMIN, Role.SUPERVISOR)


def _entry(values: dict[str, Any]) -> AgentEntry:
    try:
        return AgentEntry.model_validate(values)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{field}: {first['msg'].removeprefix('Value error, ')}") from None


def _stored(entry: AgentEntry) -> dict[str, Any]:
    data = entry.model_dump(exclude_none=True, mode="json")
    if data.get("active") is True:
        del data["active"]
    return data


def add_agent(ledger: Ledger, actor: AgentEntry, values: dict[str, Any]) -> AgentEntry:
    require(actor, "agent.add")
    entry = _entry(values)
    if entry.role in SENIOR:
        require(actor, "agent.grant")
    config = ledger.config
    if config.agent(entry.id):
        raise CsctlError(msg("agent.exists", who=entry.id))
    if entry.email and (owner := config.agent_by_email(entry.email)):
        raise CsctlError(msg("agent.email_taken", email=entry.email, who=owner.id))

    def append(document: Any) -> None:
        import tomlkit

        agents = document.get("agents")
        if agents is None:
            agents = tomlkit.aot()
            document.append("agents", agents)
        elif len(agents):
            agents[-1].add(tomlkit.nl())  # a blank line between people, as a person would type
        agents.append(tomlkit.item(_stored(entry)))

    edit_config(ledger, append)
    return entry


def edit_agent(
    ledger: Ledger, actor: AgentEntry, agent_id: str, changes: dict[str, Any]
) -> AgentEntry:
    require(actor, "agent.edit")
    config = ledger.config
    current = config.agent(agent_id)
    if current is None:
        raise NotFound(msg("actor.unknown", who=agent_id))
    updated = _entry({**current.model_dump(), **changes})
    if current.role in SENIOR or updated.role in SENIOR:
        require(actor, "agent.grant")
    if updated.email and (owner := config.agent_by_email(updated.email)) and owner.id != agent_id:
        raise CsctlError(msg("agent.email_taken", email=updated.email, who=owner.id))
    _keep_an_admin(config, updated)

    def rewrite(document: Any) -> None:
        for table in document["agents"]:
            if table.get("id") == agent_id:
                for key, value in _stored(updated).items():
                    if table.get(key) != value:
                        table[key] = value
                for key in list(table.keys()):
                    if key not in _stored(updated):
                        del table[key]

    edit_config(ledger, rewrite)
    return updated


def _keep_an_admin(config: LedgerConfig, updated: AgentEntry) -> None:
    admins = [
        a for a in config.agents
        if a.id != updated.id and a.role is Role.ADMIN and a.active
    ]
    if not admins and not (updated.role is Role.ADMIN and updated.active):
        raise CsctlError(msg("agent.last_admin"))
