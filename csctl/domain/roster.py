"""The team roster in `csctl.toml`: adding and editing people (SPEC §2).

A supervisor manages the accounts of the team (seed 004: 客服主管 — 客服人员账号分配、
权限调整); only an admin makes or changes admins and supervisors. Every
decision is taken on the roster as it is under the lock, so two edits at
once cannot, between them, lose a change or remove the last admin.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from csctl.domain.auth import require
from csctl.errors import CsctlError, InvalidInput, NotFound
from csctl.i18n import msg
from csctl.models.base import describe_error
from csctl.models.config import AgentEntry, LedgerConfig, Role
from csctl.storage.ledger import Ledger, edit_config

# Granting or changing these roles needs the `agent.grant` permission.
SENIOR = (Role.ADMIN, Role.SUPERVISOR)


def _entry(values: dict[str, Any]) -> AgentEntry:
    try:
        return AgentEntry.model_validate(values)
    except ValidationError as err:
        raise InvalidInput(describe_error(err)) from None


def _stored(entry: AgentEntry) -> dict[str, Any]:
    data = entry.model_dump(exclude_none=True, mode="json")
    if data.get("active") is True:
        del data["active"]
    return data


def _email_free(config: LedgerConfig, entry: AgentEntry) -> None:
    owner = config.agent_by_email(entry.email) if entry.email else None
    if owner is not None and owner.id != entry.id:
        raise CsctlError(msg("agent.email_taken", email=entry.email, who=owner.id))


def add_agent(ledger: Ledger, actor: AgentEntry, values: dict[str, Any]) -> AgentEntry:
    require(actor, "agent.add")
    entry = _entry(values)
    if entry.role in SENIOR:
        require(actor, "agent.grant")

    def append(config: LedgerConfig, document: Any) -> None:
        import tomlkit

        if config.agent(entry.id):
            raise CsctlError(msg("agent.exists", who=entry.id))
        _email_free(config, entry)
        agents = document.get("agents")
        if agents is None:
            agents = tomlkit.aot()
            document.append("agents", agents)
        if not isinstance(agents, tomlkit.items.AoT):
            # A roster typed as an array of inline tables (`agents = [ { id = "liu", … } ]`) stays one.
            person = tomlkit.inline_table()
            person.update(_stored(entry))
            agents.append(person)
            return
        if len(agents):
            agents[-1].add(tomlkit.nl())  # a blank line between people, as a person would type
        agents.append(tomlkit.item(_stored(entry)))

    edit_config(ledger, append)
    return entry


def edit_agent(ledger: Ledger, actor: AgentEntry, agent_id: str, changes: dict[str, Any]) -> AgentEntry:
    """Change only the given fields (`None` removes an optional one)."""
    require(actor, "agent.edit")
    result: list[AgentEntry] = []

    def rewrite(config: LedgerConfig, document: Any) -> None:
        current = config.agent(agent_id)
        if current is None:
            raise NotFound(msg("actor.unknown", who=agent_id))
        updated = _entry({**current.model_dump(), **changes})
        if current.role in SENIOR or updated.role in SENIOR:
            require(actor, "agent.grant")
        _email_free(config, updated)
        _keep_an_admin(config, updated)
        stored = _stored(updated)
        for table in document["agents"]:
            if table.get("id") == agent_id:
                for key in changes:
                    if key in stored:
                        table[key] = stored[key]
                    elif key in table:
                        del table[key]
        result.append(updated)

    edit_config(ledger, rewrite)
    return result[0]


def _keep_an_admin(config: LedgerConfig, updated: AgentEntry) -> None:
    admins = [a for a in config.agents if a.id != updated.id and a.role is Role.ADMIN and a.active]
    if not admins and not (updated.role is Role.ADMIN and updated.active):
        raise CsctlError(msg("agent.last_admin"))
