"""`csctl alerts` (for cron) and `csctl phrases` (the team's scripts)."""

from __future__ import annotations

from itertools import groupby

import click

from csctl.cli.context import App, pass_app
from csctl.cli.options import format_option
from csctl.cli.render import Column, fields_text, rows_text
from csctl.i18n import enum_label, msg


@click.command()
@click.option("--agent", help="Only alerts addressed to this agent.")
@format_option
@pass_app
def alerts(app: App, agent: str | None, style: str) -> None:
    """Everything overdue now: exit 1 when there is any, 0 when none (for cron)."""
    from csctl.domain.alerts import all_alerts
    from csctl.domain.deadlines import clockwork

    now = app.now()
    wanted = app.ledger.config.agent(app.roster_id(agent)) if agent else None
    with app.ledger.lock(exclusive=False, what="alerts"):
        everything = all_alerts(app.store, clockwork(app.ledger.config), now, app.index)
    found = [a for a in everything if wanted is None or a.addressed_to(wanted)]
    rows = [{"alert": a.kind, "record": a.record, "agent": a.agent, "role": a.role, "due": a.due,
             "late_by": _hours(int(a.late_by(now).total_seconds())), "subject": a.subject,
             "responsible": a.agent or (msg("h.role_all", role=enum_label(a.role)) if a.role else msg("h.unassigned"))}
            for a in found]
    if not rows and style != "json":
        click.echo(msg("alerts.none"), err=True)
        raise SystemExit(0)
    rows.sort(key=lambda row: (row["agent"] is None, row["role"] is None, row["responsible"], row["due"]))
    columns = [Column("alert", "h.alert", lambda k: msg(f"alert.{k}")), Column("record", "h.record"),
               Column("due", "h.due"), Column("late_by", "h.late_by"), Column("subject", "h.subject")]
    if style == "json":
        # Scripts read `agent` and `role` apart, one list sorted by the person responsible.
        click.echo(rows_text(rows, [*columns[:2], Column("agent", "h.agent"), Column("role", "h.role"),
                                    *columns[2:]], style), nl=False)
    elif style == "csv":
        click.echo(rows_text(rows, [Column("responsible", "h.agent"), *columns], style), nl=False)
    else:
        # People read one block per person responsible, as each would be handed their list.
        blocks = []
        for person, group in groupby(rows, key=lambda row: row["responsible"]):
            mine = list(group)
            heading = f"{person} ({len(mine)})"
            blocks.append(("## " if style == "markdown" else "") + heading + "\n\n" + rows_text(mine, columns, style))
        click.echo("\n".join(blocks), nl=False)
    raise SystemExit(1 if rows else 0)


def _hours(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    text = f"{rest // 3600}:{rest % 3600 // 60:02d}"
    return f"{days}d {text}" if days else text


@click.command()
@click.option("--customer", help="How to address the customer (王先生).")
@format_option
@pass_app
def phrases(app: App, customer: str | None, style: str) -> None:
    """The team's scripts with your name and staff number filled in, and the forbidden words."""
    from csctl.domain.phrases import Phrases

    book = Phrases.from_template(app.ledger.template("phrases.toml"))
    filled = book.filled(app.ledger.config.team.name, app.actor, customer)
    rows = [{"field": name, "value": text} for name, text in filled.items()]
    rows.append({"field": "forbidden", "value": "、".join(book.forbidden)})
    click.echo(fields_text(rows, style), nl=False)
