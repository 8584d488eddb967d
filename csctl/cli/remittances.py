"""`csctl remit …`: bank-transfer orders from order to shipping, the daily register and its review."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from csctl.cli.context import App, pass_app
from csctl.cli.options import at_option, format_option
from csctl.cli.render import (
    FORMATS,
    Column,
    Sheet,
    display,
    emit,
    fields_text,
    rows_text,
    timeline,
    to_json,
    xlsx_bytes,
)
from csctl.domain import remittances as flow
from csctl.domain.clock import parse_moment
from csctl.domain.privacy import masked, masked_events
from csctl.domain.remarks import check_order
from csctl.errors import InvalidInput
from csctl.i18n import enum_label, label, msg
from csctl.models.base import format_money
from csctl.models.kinds import CUSTOMER, REMITTANCE
from csctl.models.records import Remittance, RemittanceStatus

STATUSES = click.Choice([s.value for s in RemittanceStatus])


@click.group()
def remit() -> None:
    """Remittances (汇款流程): bank-transfer orders, payment notices, verification, shipping (SPEC §3)."""


def _day(text: str | None, app: App, option: str) -> dt.date:
    if text is None:
        return app.now().date()
    tz = app.ledger.config.tz
    return parse_moment(text, tz, option).astimezone(tz).date()


@remit.command("new")
@click.option("--buyer", required=True, help="The buyer's shop ID (买家ID).")
@click.option("--item", "items", multiple=True, required=True, metavar="CODE:SIZE:QTY",
              help="货号:码数:数量, e.g. LY2611-03:M:2 (repeatable).")
@click.option("--address", required=True, help="Shipping address, receiver and phone.")
@click.option("--amount", required=True, metavar="YUAN", help="What the buyer is to transfer, e.g. 288.00.")
@click.option("--shop-ordered", is_flag=True, help="The buyer already ordered it in the shop (已拍下).")
@click.option("--shop-trade", metavar="ORDER", help="That shop trade's number, to be closed and remarked.")
@click.option("--customer", "customer_id", metavar="ID", help="A customer on file.")
@click.option("--note", help="Anything the next person should know.")
@at_option
@pass_app
def remit_new(app: App, buyer: str, items: tuple[str, ...], address: str, amount: str, shop_ordered: bool,
              shop_trade: str | None, customer_id: str | None, note: str | None, at: str | None) -> None:
    """Register a bank-transfer order; prints its ID alone. Possible duplicates are named on stderr."""
    if shop_ordered and not shop_trade:
        raise InvalidInput(msg("remit.trade_needed"))
    order = flow.Order(
        buyer=buyer, items=[flow.item(text) for text in items], address=address,
        amount=flow.amount(amount, "--amount"), shop_trade=check_order(shop_trade) if shop_trade else None,
        customer=app.store.resolve_id(CUSTOMER, customer_id) if customer_id else None, note=note,
    )
    created = flow.new_order(app.store, app.actor, app.moment(at), order)
    click.echo(created.id)
    for pair in flow.duplicates(_remittances(app, open_only=True), app.ledger.config):
        if created.id in (pair.first, pair.second):
            other = pair.first if pair.second == created.id else pair.second
            click.echo("csctl: " + msg(f"remit.duplicate_{pair.reason}", id=created.id, other=other), err=True)


@remit.command("paid")
@click.argument("remit_id", metavar="ID")
@click.option("--date", "paid_on", required=True, metavar="DATE", help="The day the buyer transferred.")
@click.option("--method", required=True, help="网银转账, 柜台汇款, 电汇, ...")
@click.option("--bank", required=True, help="The buyer's bank.")
@click.option("--amount", required=True, metavar="YUAN", help="What the buyer says was sent.")
@click.option("--note")
@at_option
@pass_app
def remit_paid(app: App, remit_id: str, paid_on: str, method: str, bank: str, amount: str, note: str | None,
               at: str | None) -> None:
    """Register a payment notice (收到汇款); an amount that differs from the order is kept and flagged."""
    day = _day(paid_on, app, "--date")
    value = flow.amount(amount, "--amount")
    app.change(REMITTANCE, remit_id, at, lambda r, w: flow.paid(r, app.actor, w, date=day, method=method, bank=bank,
                                                      value=value, note=note))


@remit.command("verify")
@click.argument("remit_id", metavar="ID")
@click.option("--reference", required=True, help="The bank statement line or transfer reference (流水号).")
@click.option("--accept-difference", metavar="REASON", help="Verify although the paid amount differs, and why.")
@at_option
@pass_app
def remit_verify(app: App, remit_id: str, reference: str, accept_difference: str | None, at: str | None) -> None:
    """Confirm the money arrived (supervisor; never the person who registered the order)."""
    app.change(REMITTANCE, remit_id, at, lambda r, w: flow.verify(r, app.actor, w, reference=reference,
                                                        accept_difference=accept_difference))


@remit.command("ship")
@click.argument("remit_id", metavar="ID")
@click.option("--waybill", required=True, metavar="NO")
@at_option
@pass_app
def remit_ship(app: App, remit_id: str, waybill: str, at: str | None) -> None:
    """Ship a verified order (发货)."""
    app.change(REMITTANCE, remit_id, at, lambda r, w: flow.ship(r, app.actor, w, waybill))


@remit.command("cancel")
@click.argument("remit_id", metavar="ID")
@click.option("--reason", required=True)
@at_option
@pass_app
def remit_cancel(app: App, remit_id: str, reason: str, at: str | None) -> None:
    """Cancel an order that has not shipped."""
    app.change(REMITTANCE, remit_id, at, lambda r, w: flow.cancel(r, app.actor, w, reason))


@remit.command("note")
@click.argument("remit_id", metavar="ID")
@click.argument("text")
@at_option
@pass_app
def remit_note(app: App, remit_id: str, text: str, at: str | None) -> None:
    """Add a note to the history (the buyer was phoned, the bank was asked ...)."""
    app.change(REMITTANCE, remit_id, at, lambda r, w: flow.note(r, app.actor, w, text))


@remit.command("not-duplicate")
@click.argument("remit_id", metavar="ID")
@click.option("--of", "other_id", required=True, metavar="ID", help="The other order it was flagged with.")
@click.option("--reason", required=True, help="Why both orders are wanted.")
@at_option
@pass_app
def remit_not_duplicate(app: App, remit_id: str, other_id: str, reason: str, at: str | None) -> None:
    """Record that two flagged orders are both wanted, so the warning does not return."""
    other = app.store.resolve_id(REMITTANCE, other_id)
    app.change(REMITTANCE, remit_id, at, lambda r, w: flow.not_duplicate(app.store, r, app.actor, w, other, reason))


# ----- reading ----------------------------------------------------------------------------

def _remittances(app: App, *, open_only: bool = False, conditions: list[tuple[str, tuple[Any, ...]]] | None = None
                 ) -> list[Remittance]:
    """Every remittance, or only the open ones (duplicates are only ever among them), or those meeting any of
    `conditions` (`remit_views`); with the index, only those files are read (and those that do not read,
    for the listing to say it left them out)."""
    from csctl.domain import remit_views

    with app.ledger.lock(exclusive=False, what="remittances"):
        index = app.index_of(REMITTANCE) if open_only or conditions else None
        paths = remit_views.chosen(index, open_only=open_only, conditions=conditions)
        remits, broken = flow.readable_remittances(app.store, paths)
    app.skipped("remittance", broken)
    return [r for r in remits if r.status in flow.OPEN] if open_only else remits


LIST_COLUMNS = [
    Column("id", "h.id"),
    Column("created", "h.created"),
    Column("buyer", "h.buyer"),
    Column("agent", "h.agent"),
    Column("items", "h.items"),
    Column("amount", "h.amount"),
    Column("paid", "h.paid"),
    Column("status", "h.status"),
    Column("verify_due", "h.verify_due"),
    Column("stale", "h.stale", lambda late: msg("h.late") if late else ""),
]


def _row(app: App, remit: Remittance) -> dict[str, Any]:
    config = app.ledger.config
    due = flow.verify_due(remit, config) if remit.status is flow.PAID else None
    return {"id": remit.id, "created": remit.created, "buyer": remit.buyer, "agent": remit.agent,
            "items": flow.items_text(remit.items), "amount": remit.amount,
            "paid": flow.paid_total(remit) if remit.payments else None, "status": remit.status,
            "verify_due": due, "stale": flow.stale(remit, config, app.now())}


@remit.command("list")
@click.option("--status", "statuses", type=STATUSES, multiple=True, help="Repeatable; default all.")
@click.option("--open", "open_only", is_flag=True, help="Only orders not shipped or cancelled.")
@click.option("--buyer")
@click.option("--agent", help="Taken by this agent.")
@click.option("--customer", "customer_id", metavar="ID")
@click.option("--from", "since", metavar="DATE", help="Created on or after this date.")
@click.option("--to", "until", metavar="DATE", help="Created on or before this date.")
@format_option
@pass_app
def remit_list(app: App, statuses: tuple[str, ...], open_only: bool, buyer: str | None, agent: str | None,
               customer_id: str | None, since: str | None, until: str | None, style: str) -> None:
    """List remittances, oldest first."""
    from csctl.domain.remit_views import RemitFilter

    tz = app.ledger.config.tz
    given = {"buyer": buyer.strip() if buyer else None, "agent": app.roster_id(agent) if agent else None,
             "customer": app.store.resolve_id(CUSTOMER, customer_id) if customer_id else None}
    wanted = RemitFilter(
        statuses=frozenset(statuses), open_only=open_only, equal={k: v for k, v in given.items() if v is not None},
        since=parse_moment(since, tz, "--from").astimezone(tz).date() if since else None,
        until=parse_moment(until, tz, "--to").astimezone(tz).date() if until else None,
    )
    chosen = [_row(app, r) for r in _remittances(app, open_only=open_only, conditions=wanted.conditions(tz))
              if wanted.admits(r, r.created.astimezone(tz).date())]
    click.echo(rows_text(chosen, LIST_COLUMNS, style), nl=False)


@remit.command("pending")
@click.option("--stale", "stale_only", is_flag=True, help="Only notices unverified past the limit (三天未核实).")
@click.option("--agent", help="Taken by this agent.")
@format_option
@pass_app
def remit_pending(app: App, stale_only: bool, agent: str | None, style: str) -> None:
    """Open orders waiting on someone: payment, verification (with its deadline), shipping."""
    agent_id = app.roster_id(agent) if agent else None
    rows = [_row(app, r) for r in _remittances(app, open_only=True) if not agent_id or r.agent == agent_id]
    if stale_only:
        rows = [row for row in rows if row["stale"]]
    click.echo(rows_text(rows, LIST_COLUMNS, style), nl=False)


@remit.command("show")
@click.argument("remit_id", metavar="ID")
@click.option("--reveal", is_flag=True, help="Show the address whole; recorded in the remittance's history.")
@format_option
@pass_app
def remit_show(app: App, remit_id: str, reveal: bool, style: str) -> None:
    """Every field, the payments, possible duplicates and the history (the address masked unless revealed)."""
    record: Remittance = app.shown(REMITTANCE, remit_id, flow.replayable, flow.record_reveal if reveal else None)
    data: dict[str, Any] = record.model_dump(exclude={"events", "items", "payments"}, exclude_none=True)
    data = {k: v for k, v in data.items() if v != []}
    data = data if reveal else masked(data)
    events = record.events if reveal else masked_events(record.events)
    data["items"] = [i.model_dump() for i in record.items]
    data["payments"] = [p.model_dump() for p in record.payments]
    data["paid_total"] = flow.paid_total(record)
    data["verify_due"] = flow.verify_due(record, app.ledger.config) if record.status is flow.PAID else None
    data["duplicates"] = sorted({p.first if p.second == record.id else p.second
                                 for p in flow.duplicates(_remittances(app, open_only=True), app.ledger.config)
                                 if record.id in (p.first, p.second)})
    data["events"] = [e.model_dump(exclude_none=True) for e in events]
    if style == "json":
        click.echo(to_json(data), nl=False)
        return
    shown = {**data, "items": flow.items_text(record.items),
             "payments": "; ".join(f"{p.date} {p.method} {p.bank} {format_money(p.amount)}" for p in record.payments)}
    fields = [{"field": label(f"f.{k}", k), "value": display(v)} for k, v in shown.items()
              if k != "events" and v not in (None, [], "")]
    click.echo(fields_text(fields, style), nl=False)
    if style != "csv":
        click.echo("")
        click.echo(timeline(events, style))


# ----- the daily register ---------------------------------------------------------------------

REGISTER_COLUMNS = [
    Column("id", "h.id"),
    Column("buyer", "h.buyer"),
    Column("agent", "h.agent"),
    Column("items", "h.items"),
    Column("amount", "h.amount"),
    Column("paid", "h.paid"),
    Column("difference", "h.difference"),
    Column("status", "h.status"),
    Column("actions", "h.actions", lambda actions: ", ".join(label(f"event.{a}", a) for a in actions)),
]
TOTAL_COLUMNS = [
    Column("status", "h.status", lambda s: enum_label(s) if isinstance(s, RemittanceStatus) else s),
    Column("count", "h.count"),
    Column("amount", "h.amount"),
    Column("paid", "h.paid"),
]


@remit.command("register")
@click.option("--date", "day_text", metavar="DATE", help="The day (default today, ledger time zone).")
@click.option("--format", "style", type=click.Choice([*FORMATS, "xlsx"]), default="table", show_default=True,
              help="Output style; json is stable for scripts, xlsx has a sheet for the rows and one for the totals.")
@click.option("--output", metavar="FILE", help="Write to FILE (atomically) instead of standard output.")
@pass_app
def remit_register(app: App, day_text: str | None, style: str, output: str | None) -> None:
    """The daily register (《汇款销售记录表》): every remittance created or moved that day, totals per state,
    and whether a supervisor signed it off."""
    from csctl.domain.remit_views import of_day

    day = _day(day_text, app, "--date")
    # With the index, the remittances that may have moved that day: not every one.
    rows = flow.register_rows(_remittances(app, conditions=of_day(day, app.ledger.config)), day, app.ledger.config)
    sums = flow.totals(rows)
    state = flow.review_state(app.store, day, rows)
    table = [{"id": r.id, "buyer": r.buyer, "agent": r.agent, "items": r.items, "amount": r.amount,
              "paid": r.paid, "difference": r.difference or None, "status": r.status, "actions": r.actions}
             for r in rows]
    total_rows: list[dict[str, Any]] = [{"status": s, "count": t.count, "amount": t.amount, "paid": t.paid}
                                        for s, t in sums.items()]
    total_rows.append({"status": msg("remit.totals"), "count": len(rows),
                       "amount": sum((r.amount for r in rows), flow.ZERO),
                       "paid": sum((r.paid for r in rows), flow.ZERO)})
    if style == "json":
        review = None if state.review is None else {
            "reviewed_by": state.review.reviewed_by, "reviewed_at": state.review.events[-1].at,
            "fingerprint": state.review.fingerprint, "changed": state.changed, "signed": state.signed}
        data = {"date": day, "rows": table,
                "totals": {s.value: {"count": t.count, "amount": t.amount, "paid": t.paid} for s, t in sums.items()},
                "total": {k: v for k, v in total_rows[-1].items() if k != "status"}, "review": review}
        emit(to_json(data).encode(), output)
    elif style == "xlsx":
        emit(xlsx_bytes([Sheet(day.isoformat(), table, REGISTER_COLUMNS),
                          Sheet(msg("remit.totals"), total_rows, TOTAL_COLUMNS)]), output, binary=True)
    elif style == "csv":
        emit(rows_text(table, REGISTER_COLUMNS, style).encode(), output)
    else:
        if state.review is None:
            signed = msg("remit.not_reviewed")
        else:
            signed = msg("remit.reviewed_by", who=state.review.reviewed_by, at=display(state.review.events[-1].at))
            if state.changed:
                signed += "; " + msg("remit.review_changed", ids=", ".join(state.changed))
        text = "\n".join([msg("remit.register_title", date=day.isoformat()), "",
                          rows_text(table, REGISTER_COLUMNS, style), rows_text(total_rows, TOTAL_COLUMNS, style),
                          signed, ""])
        emit(text.encode(), output)


@remit.command("review")
@click.option("--date", "day_text", required=True, metavar="DATE", help="The day to sign off.")
@at_option
@pass_app
def remit_review(app: App, day_text: str, at: str | None) -> None:
    """Sign a day's register off (supervisor, 审核); a later edit of that day shows in the register and alerts."""
    review = flow.review(app.store, app.actor, app.moment(at), _day(day_text, app, "--date"))
    click.echo(review.id)
