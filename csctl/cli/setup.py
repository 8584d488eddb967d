"""Set-up commands: `init` and the roster (`agent add/list/edit`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from csctl.cli.context import App, pass_app
from csctl.cli.options import format_option
from csctl.cli.render import Column, rows_text
from csctl.i18n import msg
from csctl.models.config import Role

ROLES = click.Choice([r.value for r in Role])


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--admin", "admin_id", required=True, metavar="ID", help="Roster ID of the first admin.")
@click.option("--name", "admin_name", required=True, help="The admin's name as written in remarks.")
@click.option("--team", help="Team name shown in reports (default: the folder's name).")
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="IANA time zone of the ledger.")
@click.option("--locale", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--no-git", is_flag=True, help="Do not run `git init` in a folder outside git.")
def init(directory: Path, admin_id: str, admin_name: str, team: str | None, timezone: str,
         locale: str, no_git: bool) -> None:
    """Create a ledger in DIRECTORY (default: here) with its first admin."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from csctl.domain import clock
    from csctl.domain.setup import init_ledger

    try:
        year = clock.now(ZoneInfo(timezone)).year
    except (ZoneInfoNotFoundError, ValueError):
        year = None  # init names the bad --timezone itself
    root = init_ledger(directory, admin_id, admin_name, team, timezone, locale, git=not no_git, year=year)
    click.echo(msg("ledger.created", path=root), err=True)


@click.group()
def agent() -> None:
    """The team roster in csctl.toml: who may do what (SPEC §2)."""


AGENT_COLUMNS = [
    Column("id", "h.id"),
    Column("name", "h.name"),
    Column("role", "h.role"),
    Column("staff_no", "h.staff_no"),
    Column("email", "h.email"),
    Column("active", "h.active"),
]


@agent.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include people no longer active.")
@format_option
@pass_app
def agent_list(app: App, show_all: bool, style: str) -> None:
    """List the roster."""
    rows = [a.model_dump() | {"role": a.role} for a in app.ledger.config.agents if show_all or a.active]
    click.echo(rows_text(rows, AGENT_COLUMNS, style), nl=False)


@agent.command("add")
@click.argument("agent_id", metavar="ID")
@click.option("--name", required=True, help="Name written in remarks (客服名), e.g. 小王.")
@click.option("--role", required=True, type=ROLES)
@click.option("--staff-no", help="Staff number said on the phone (工号).")
@click.option("--email", help="E-mail that identifies this person through git config user.email.")
@pass_app
def agent_add(app: App, agent_id: str, name: str, role: str, staff_no: str | None,
              email: str | None) -> None:
    """Add a person to the roster; prints the ID."""
    from csctl.domain.roster import add_agent

    values: dict[str, Any] = {"id": agent_id, "name": name, "role": role}
    values |= {k: v for k, v in {"staff_no": staff_no, "email": email}.items() if v}
    entry = add_agent(app.ledger, app.actor, values)
    click.echo(entry.id)


@agent.command("edit")
@click.argument("agent_id", metavar="ID")
@click.option("--name")
@click.option("--role", type=ROLES)
@click.option("--staff-no", help='Staff number; "" removes it.')
@click.option("--email", help='E-mail; "" removes it.')
@click.option("--active/--inactive", default=None, help="Someone who left stays on file, inactive.")
@pass_app
def agent_edit(app: App, agent_id: str, name: str | None, role: str | None, staff_no: str | None,
               email: str | None, active: bool | None) -> None:
    """Change a person's name, role, staff number, e-mail or activity."""
    from csctl.domain.roster import edit_agent

    given = {"name": name, "role": role, "staff_no": staff_no, "email": email, "active": active}
    changes = {k: (v if v != "" else None) for k, v in given.items() if v is not None}
    if not changes:
        raise click.UsageError("nothing to change: give --name, --role, --staff-no, --email or --active/--inactive")
    entry = edit_agent(app.ledger, app.actor, agent_id, changes)
    click.echo(entry.id)
