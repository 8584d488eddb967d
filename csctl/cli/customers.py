"""`csctl customer …`: the customer archive, contacts masked unless revealed."""

from __future__ import annotations

from typing import Any, BinaryIO

import click

from csctl.cli.context import App, pass_app
from csctl.cli.options import format_option
from csctl.cli.render import Column, fields_text, rows_text, to_json
from csctl.domain import customers as archive
from csctl.domain.auth import require
from csctl.domain.privacy import masked
from csctl.errors import CsctlError
from csctl.i18n import label, msg
from csctl.models.kinds import CUSTOMER, REMITTANCE, TICKET
from csctl.models.records import Customer

reveal_option = click.option("--reveal", is_flag=True,
                             help="Show contacts whole (supervisor, agent); recorded in the customer's history.")


def _contact_options(function: Any) -> Any:
    for name, text in reversed([
        ("--phone", "Phone number."), ("--region", "Region (for reports by area)."), ("--street", "Street."),
        ("--organisation", "Company or organisation."), ("--address", "Postal address."), ("--qq", "QQ number."),
        ("--wechat", "WeChat ID."), ("--email", "E-mail."), ("--needs", "What the customer needs."),
    ]):
        function = click.option(name, help=text)(function)
    return function


@click.group()
def customer() -> None:
    """The customer archive (客户档案): contacts masked unless revealed (SPEC §3)."""


@customer.command("add")
@click.option("--name", required=True)
@_contact_options
@click.option("--tag", "tags", multiple=True, help="Repeatable.")
@click.option("--same-phone-ok", is_flag=True, help="Add even though another customer has this phone number.")
@pass_app
def customer_add(app: App, /, tags: tuple[str, ...], same_phone_ok: bool, **values: Any) -> None:
    """Add a customer; prints the ID alone. A phone number already on file is refused, naming whose."""
    created = archive.add(app.store, app.actor, app.now(), {**values, "tags": list(tags)},
                          same_phone_ok=same_phone_ok)
    click.echo(created.id)


@customer.command("edit")
@click.argument("customer_id", metavar="ID")
@click.option("--name")
@_contact_options
@click.option("--tag", "tags", multiple=True, help="Replaces the tags (repeatable); --tag '' clears them.")
@pass_app
def customer_edit(app: App, /, customer_id: str, tags: tuple[str, ...], **values: Any) -> None:
    """Change details ('' clears one); the history names the fields changed."""
    changes = {k: (v or None) for k, v in values.items() if v is not None}
    if tags:
        changes["tags"] = [t for t in tags if t]
    if not changes:
        raise click.UsageError("nothing to change: give a field to set")
    updated = archive.edit(app.store, app.actor, app.now(), app.store.resolve_id(CUSTOMER, customer_id), changes)
    click.echo(updated.id)


def _shown(app: App, customer: Customer, reveal: bool) -> dict[str, Any]:
    data = customer.model_dump(exclude={"events"}, exclude_none=True)
    data = {k: v for k, v in data.items() if v != []}
    return data if reveal else masked(data)


def _reveal_allowed(app: App, reveal: bool) -> None:
    if reveal:
        require(app.actor, "customer.reveal")


LIST_COLUMNS = [Column("id", "h.id"), Column("name", "h.name"), Column("phone", "h.phone"),
                Column("region", "h.region"), Column("organisation", "h.organisation")]


@customer.command("list")
@click.option("--name", help="Part of the name.")
@click.option("--phone", help="Digits of the phone number: any part with --reveal, else a part the mask shows.")
@click.option("--region", help="Part of the region (with --reveal, or of the street).")
@click.option("--search", "text", help="Any part of name, region, organisation, needs, tags.")
@reveal_option
@format_option
@pass_app
def customer_list(app: App, name: str | None, phone: str | None, region: str | None, text: str | None,
                  reveal: bool, style: str) -> None:
    """Find customers by name, phone, region or any text."""
    _reveal_allowed(app, reveal)
    found = archive.find(app.store, archive.Search(name, phone, region, text, revealing=reveal))
    if reveal:
        # The street a --region search looked into counts as seen, like the phone shown.
        shown = ("phone", "street") if region else ("phone",)
        found = [archive.record_reveal(app.store, app.actor, app.now(), c, shown=shown) for c in found]
    click.echo(rows_text([_shown(app, c, reveal) for c in found], LIST_COLUMNS, style), nl=False)


@customer.command("show")
@click.argument("customer_id", metavar="ID")
@reveal_option
@format_option
@pass_app
def customer_show(app: App, customer_id: str, reveal: bool, style: str) -> None:
    """Every detail, and the tickets and remittances that name the customer."""
    _reveal_allowed(app, reveal)
    found = app.store.read(CUSTOMER, app.store.resolve_id(CUSTOMER, customer_id))
    assert isinstance(found, Customer)
    if reveal:
        found = archive.record_reveal(app.store, app.actor, app.now(), found)
    with app.ledger.lock(exclusive=False, what="customer history"):
        tickets, remittances = archive.history(app.store, found.id, app.index_of(TICKET, REMITTANCE))
    data = _shown(app, found, reveal)
    data["tickets"] = [t.id for t in tickets]
    data["remittances"] = [r.id for r in remittances]
    if style == "json":
        data["events"] = [e.model_dump(exclude_none=True) for e in found.events]
        click.echo(to_json(data), nl=False)
        return
    rows = [{"field": label(f"f.{k}", k), "value": v} for k, v in data.items() if v not in ([], None)]
    click.echo(fields_text(rows, style), nl=False)


@customer.command("import")
@click.argument("source", metavar="FILE", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would happen; write nothing.")
@pass_app
def customer_import(app: App, source: BinaryIO, dry_run: bool) -> None:
    """Import customers from a CSV (UTF-8) or an Excel workbook (.xlsx, first sheet); headers in
    English or Chinese: name/姓名, phone/电话, region/地区, tags/标签, ….

    Every bad row is reported by line and field and nothing is written unless
    all rows are good; a customer already on file (same phone, or same name,
    organisation and region) is not added again.
    """
    require(app.actor, "customer.add")
    data = source.read()
    name = str(getattr(source, "name", "<stdin>"))  # a stream handed in by a program may have no name
    if name.lower().endswith(".xlsx"):
        sheet = archive.xlsx_rows(data)
    else:
        try:
            sheet = archive.csv_rows(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise CsctlError(f"{name}: {msg('import.not_utf8')}") from None
    rows, problems = archive.read_import(sheet, archive.find(app.store, archive.Search()))
    for problem in problems:
        click.echo(f"{name}:{problem.line}: {problem.message}")
    if problems:
        raise CsctlError(msg("import.failed", count=len({p.line for p in problems})))
    new = [r for r in rows if r.existing is None]
    summary = msg("import.summary", new=len(new), known=len(rows) - len(new))
    if dry_run:
        click.echo(f"{summary} {msg('import.dry_run')}", err=True)
        return
    for created in archive.import_rows(app.store, app.actor, app.now(), rows):
        click.echo(created.id)
    click.echo(summary, err=True)
