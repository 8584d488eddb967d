"""`csctl remark …`, `csctl refund …`, `csctl balance …`: order remarks and the registers kept from them."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from csctl.cli.context import App, pass_app
from csctl.cli.options import at_option, format_option
from csctl.cli.render import Column, display, fields_text, rows_text, to_json
from csctl.domain import remarks as flow
from csctl.domain.clock import parse_moment
from csctl.domain.privacy import mask
from csctl.domain.remark_shapes import GROUPS, Shapes, load_shapes, shown_value, writer_mismatch
from csctl.errors import CsctlError, InvalidInput, RecordError
from csctl.i18n import enum_label, msg
from csctl.models.base import format_money
from csctl.models.kinds import REMARK


def _warn(lines: Iterable[str]) -> None:
    for line in lines:
        click.echo(f"csctl: {line}", err=True)


def _listed(app: App, *, order: str | None = None, buyer: str | None = None
            ) -> tuple[Shapes, list[flow.Stored], list[RecordError]]:
    """The shapes, the remarks (of `order` or `buyer` at least, when one is given) and the files that do
    not read, as the index's briefs or the files tell."""
    from csctl.domain import indexing

    with app.ledger.lock(exclusive=False, what="remarks"):
        return indexing.listed_remarks(app.store, app.index_of(REMARK), order=order, buyer=buyer)


def _skipped(broken: list[Any]) -> None:
    if broken:
        _warn([msg("remarks.skipped", count=len(broken), first=str(broken[0]))])


def _field_values(pairs: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.replace("＝", "=").partition("=")
        if not sep or not name.strip():
            raise InvalidInput(msg("remark.field_value", arg=pair))
        if name.strip() in values:
            raise InvalidInput(msg("remark.field_twice", field=name.strip()))
        values[name.strip()] = value
    return values


def _date(app: App, text: str | None, option: str) -> Any:
    return parse_moment(text, app.ledger.config.tz, option).date() if text else None


# ----- remark --------------------------------------------------------------------------------

@click.group()
def remark() -> None:
    """Order remarks (备注): write them in their shape, list, parse and lint them (SPEC §5)."""


@remark.command("add")
@click.argument("order")
@click.argument("kind")
@click.argument("fields", nargs=-1, metavar="[FIELD=VALUE]...")
@click.option("--buyer", help="The buyer's shop ID (needed once per order for balance deductions).")
@at_option
@pass_app
def remark_add(app: App, order: str, kind: str, fields: tuple[str, ...], buyer: str | None, at: str | None) -> None:
    """Write a remark of shape KIND on ORDER, signed with your name and today's date; prints its text.

    The fields of each shape: `csctl remark kinds`. Example:
    csctl remark add 3291055820147733 balance_deduct amount=20 balance=30 --buyer tb_王丽
    """
    when, recorded = app.moment(at)
    added = flow.add_remark(app.store, app.actor, when, order, kind, _field_values(fields), buyer, recorded=recorded)
    click.echo(added.text)
    _warn(added.warnings)


LIST_COLUMNS = [
    Column("at", "h.at"), Column("order", "rh.order"), Column("buyer", "rh.buyer"), Column("by", "h.by"),
    Column("kind", "rh.shape"), Column("text", "rh.text"),
]


@remark.command("list")
@click.option("--order")
@click.option("--buyer")
@click.option("--agent", help="Written by this roster ID.")
@click.option("--kind", help="Of this shape (see `remark kinds`).")
@click.option("--group", type=click.Choice(GROUPS))
@click.option("--from", "since", metavar="DATE", help="Written on or after this date.")
@click.option("--to", "until", metavar="DATE", help="Written on or before this date.")
@click.option("--reveal", is_flag=True, help="Show phones, addresses and accounts whole; recorded on each order.")
@format_option
@pass_app
def remark_list(app: App, order: str | None, buyer: str | None, agent: str | None, kind: str | None,
                group: str | None, since: str | None, until: str | None, reveal: bool, style: str) -> None:
    """Remarks, oldest first, by order, buyer, agent, shape, group and date (personal data masked)."""
    shapes, items, broken = _listed(app, order=order.strip() if order else None, buyer=buyer)
    wanted = flow.RemarkFilter(
        order=order.strip() if order else None, buyer=buyer, agent=app.roster_id(agent) if agent else None,
        kind=shapes.find(kind).name if kind else None, group=group,
        since=_date(app, since, "--from"), until=_date(app, until, "--to"),
    )
    tz = app.ledger.config.tz
    chosen = [i for i in items if wanted.admits(i, tz)]
    if reveal:
        flow.record_reveal(app.store, app.actor, app.now(), chosen)
    rows = [{"at": i.remark.at, "order": i.order, "buyer": i.buyer, "by": i.remark.by, "kind": i.remark.kind,
             "text": i.remark.text if reveal else flow.shown_text(i)} for i in chosen]
    click.echo(rows_text(rows, LIST_COLUMNS, style), nl=False)
    _skipped(broken)


@remark.command("kinds")
@click.option("--group", type=click.Choice(GROUPS))
@format_option
@pass_app
def remark_kinds(app: App, group: str | None, style: str) -> None:
    """The remark shapes of this ledger (templates/remarks.toml), with their patterns."""
    shapes = load_shapes(app.ledger, examples=True)
    chosen = [s for s in shapes if group is None or s.group == group]
    if style == "json":
        click.echo(to_json([
            {"name": s.name, "title": s.title, "title_en": s.title_en, "group": s.group, "writer": s.writer,
             "state": s.state, "pattern": s.pattern, "example": s.example,
             "fields": [{"name": f.name, "type": f.type, **({"choices": list(f.choices)} if f.choices else {})}
                        for f in s.fields]}
            for s in chosen]), nl=False)
        return
    rows = [{"name": s.name, "title": s.shown_title(), "group": s.group, "writer": msg(f"remark.writer.{s.writer}"),
             "state": s.state, "pattern": s.pattern} for s in chosen]
    columns = [Column("name", "rh.shape"), Column("title", "rh.title"), Column("group", "rh.group"),
               Column("writer", "rh.writer"), Column("state", "rh.state"), Column("pattern", "rh.pattern")]
    click.echo(rows_text(rows, columns, style), nl=False)


def _roster(app: App) -> set[str]:
    return flow.roster_names(app.ledger.config)


@remark.command("parse")
@click.argument("text")
@click.option("--format", "style", type=click.Choice(["json", "table", "csv", "markdown"]), default="json",
              show_default=True, help="json (for scripts) or a field table.")
@pass_app
def remark_parse(app: App, text: str, style: str) -> None:
    """Name the shape TEXT fits and its field values (full-width punctuation and digits accepted).

    A text that fits no shape is exit 2, naming the nearest shape and where the text departs from it.
    """
    shapes = load_shapes(app.ledger)
    names = _roster(app)
    parsed = shapes.parse(text, names)
    if parsed is None:
        departure = shapes.lint(text, names)
        assert departure is not None
        raise InvalidInput(msg("remark.parse_unfit", text=text, why=departure.describe()))
    data = {**parsed.json(), "canonical": shapes.fix(text, names)}
    if style == "json":
        click.echo(to_json(data), nl=False)
        return
    rows = [{"field": "shape", "value": f"{parsed.shape.name} ({parsed.shape.shown_title()})"},
            *({"field": k, "value": shown_value(v)} for k, v in parsed.values.items()),
            {"field": "canonical", "value": data["canonical"]}]
    click.echo(fields_text(rows, style), nl=False)


def _read_lines(source: str) -> list[str]:
    """The lines of FILE, or of stdin for `-`: decoded from its bytes alike, whatever the locale's encoding."""
    try:
        if source == "-":
            if sys.stdin is None:  # started with stdin closed (`<&-`)
                raise CsctlError(msg("remark.cannot_read", path=source, why="stdin is closed"))
            data = sys.stdin.buffer.read()
        else:
            data = Path(source).read_bytes()
        return data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise CsctlError(msg("remark.cannot_read", path=source, why="not UTF-8 text")) from None
    except OSError as err:
        raise CsctlError(msg("remark.cannot_read", path=source, why=err.strerror or str(err))) from None


def _writer_problem(app: App, shapes: Shapes, text: str, names: set[str]) -> str | None:
    """The writer rule for a pasted remark: the name it is signed with, looked up on the roster."""
    parsed = shapes.parse(text, names)
    signer = parsed.values.get("agent") if parsed else None
    person = next((a for a in app.ledger.config.agents if a.name == signer), None) if signer else None
    if parsed is None or person is None or not writer_mismatch(parsed.shape, person.role.value):
        return None
    return msg("remark.writer_rule", shape=parsed.shape.name, writer=msg(f"remark.writer.{parsed.shape.writer}"),
               who=person.id, role=enum_label(person.role))


@remark.command("lint")
@click.argument("source", default="-", metavar="[FILE|-]")
@click.option("--fix", is_flag=True, help="Rewrite every remark that fits a shape in its canonical form "
                                          "(FILE in place; with - the fixed text goes to stdout).")
@pass_app
def remark_lint(app: App, source: str, fix: bool) -> None:
    """Check pasted remarks, one a line: `line N: …` for each that fits no shape; exit 1 if any.

    Each bad line names the nearest shape and how many characters fit before the text departs.
    A remark meant for the assistant signed by someone else is a warning (the exit code stays).
    """
    shapes = load_shapes(app.ledger)
    names = _roster(app)
    lines = _read_lines(source)
    report: list[str] = []
    bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        departure = shapes.lint(line, names)
        if departure is not None:
            bad += 1
            report.append(msg("remark.lint_line", line=number, text=line.strip(), why=departure.describe()))
        elif (problem := _writer_problem(app, shapes, line, names)) is not None:
            report.append(msg("remark.lint_writer", line=number, why=problem))
    if fix:
        fixed = [shapes.fix(line, names) if line.strip() else line for line in lines]
        if source == "-":
            click.echo("\n".join(fixed))
            _warn(report)
            raise SystemExit(1 if bad else 0)
        changed = sum(1 for old, new in zip(lines, fixed, strict=True) if old != new)
        if changed:
            from csctl.storage.atomic import write_atomic

            write_atomic(Path(source), ("\n".join(fixed) + "\n").encode("utf-8"))
        _warn([msg("remark.lint_fixed", count=changed)])
    for entry in report:
        click.echo(entry)
    raise SystemExit(1 if bad else 0)


# ----- refund --------------------------------------------------------------------------------

@click.group()
def refund() -> None:
    """The refund register (退款登记): refunds remarked on orders, and registering them."""


@refund.command("list")
@click.option("--unregistered", is_flag=True, help="Only refunds not yet registered.")
@click.option("--all", "everything", is_flag=True, help="Also refunds claimed in the shop during the trade.")
@click.option("--agent", help="Remarked by this roster ID.")
@click.option("--from", "since", metavar="DATE")
@click.option("--to", "until", metavar="DATE")
@click.option("--reveal", is_flag=True, help="Show the accounts whole (to pay them); recorded on each order.")
@format_option
@pass_app
def refund_list(app: App, unregistered: bool, everything: bool, agent: str | None, since: str | None,
                until: str | None, reveal: bool, style: str) -> None:
    """Refunds due to buyers, each with its register line (ID 账户 实名 金额(原因_客服))."""
    shapes, items, broken = _listed(app)
    who = app.roster_id(agent) if agent else None
    first, last = _date(app, since, "--from"), _date(app, until, "--to")
    tz = app.ledger.config.tz
    rows = []
    shown = set()
    for r in flow.refunds_from(items):
        day = r.at.astimezone(tz).date()
        if ((not everything and not r.to_register) or (unregistered and (r.registered or not r.to_register))
                or (who and r.by != who) or (first and day < first) or (last and day > last)):
            continue
        shown.add((r.order, r.index))
        line = r.register_line(shapes) if r.to_register else r.item + r.kind
        if r.account and not reveal:
            line = line.replace(r.account, mask("account", r.account))
        rows.append({"at": r.at, "order": r.order, "buyer": r.buyer, "by": r.by, "amount": r.amount,
                     "stage": "after_trade" if r.to_register else "during_trade",
                     "registered": r.registered if r.to_register else None, "registered_at": r.registered_at,
                     "line": line})
    if reveal:
        flow.record_reveal(app.store, app.actor, app.now(), [i for i in items if (i.order, i.index) in shown])
    if style == "json":
        columns = [Column(key, key) for key in ("at", "order", "buyer", "by", "stage", "amount", "registered",
                                                 "registered_at", "line")]
    else:
        stage = [Column("stage", "rh.stage", lambda s: msg(f"remark.stage.{s}"))] if everything else []
        columns = [Column("at", "h.at"), Column("order", "rh.order"), Column("by", "h.by"), *stage,
                   Column("amount", "rh.amount"), Column("registered", "rh.registered"),
                   Column("line", "rh.register_line")]
    click.echo(rows_text(rows, columns, style), nl=False)
    _skipped(broken)


@refund.command("register")
@click.argument("order")
@at_option
@pass_app
def refund_register(app: App, order: str, at: str | None) -> None:
    """Mark the refunds of ORDER registered: writes 退款已登记+客服/日期 and prints it."""
    when, recorded = app.moment(at)
    added = flow.register(app.store, app.actor, when, order, flow.REFUND_REGISTERED, recorded=recorded)
    click.echo(added.text)
    _warn(added.warnings)


# ----- balance -------------------------------------------------------------------------------

@click.group()
def balance() -> None:
    """Balance deductions (扣除余额): each buyer's chain, and registering deductions."""


CHAIN_COLUMNS = [
    Column("at", "h.at"), Column("remark", "rh.remark"), Column("by", "h.by"), Column("amount", "rh.amount"),
    Column("remaining", "rh.remaining"), Column("expected", "rh.expected"), Column("chain", "rh.chain"),
    Column("registered", "rh.registered"),
]


def _chain_state(link: flow.Link) -> str:
    if link.previous is None:
        return "first"
    return "broken" if link.broken else "ok"


@balance.command("show")
@click.argument("buyer")
@format_option
@pass_app
def balance_show(app: App, buyer: str, style: str) -> None:
    """BUYER's deductions in time order: each remaining balance against the previous one minus the deduction."""
    _, items, broken = _listed(app, buyer=buyer.strip())
    all_deductions = flow.deductions_from(items)
    links = flow.chains(all_deductions).get(buyer.strip(), [])
    repeats = [d for d in all_deductions if d.buyer == buyer.strip() and d.repeats is not None]
    if not links and style != "json":
        _warn([msg("remark.no_chain", buyer=buyer)])
        _skipped(broken)
        return
    rows = [{"at": link.deduction.at, "remark": link.deduction.where, "order": link.deduction.order,
             "index": link.deduction.index, "by": link.deduction.by, "shape": link.deduction.shape,
             "amount": link.deduction.amount, "remaining": link.deduction.remaining, "expected": link.expected,
             "chain": _chain_state(link), "registered": link.deduction.registered,
             "registered_at": link.deduction.registered_at} for link in links]
    if style == "json":
        click.echo(to_json({"buyer": buyer.strip(), "remaining": rows[-1]["remaining"] if rows else None,
                            "deductions": rows,
                            "repeats": [{"remark": d.where, "repeats": f"{d.order}#{d.repeats + 1}"}
                                        for d in repeats if d.repeats is not None]}), nl=False)
    else:
        states = {"first": msg("remark.chain_first"), "ok": msg("remark.chain_ok"),
                  "broken": msg("remark.chain_broken")}
        columns = [*CHAIN_COLUMNS[:6], Column("chain", "rh.chain", lambda s: states[s]), CHAIN_COLUMNS[7]]
        click.echo(rows_text(rows, columns, style), nl=False)
        if style != "csv" and links:
            click.echo(f"\n{msg('rh.buyer')} {buyer.strip()}: {msg('rh.remaining')} "
                       f"{format_money(links[-1].deduction.remaining)}")
    _skipped(broken)


@balance.command("list")
@click.option("--unregistered", is_flag=True, help="Only deductions not yet registered.")
@click.option("--buyer")
@click.option("--agent", help="Remarked by this roster ID.")
@click.option("--from", "since", metavar="DATE")
@click.option("--to", "until", metavar="DATE")
@format_option
@pass_app
def balance_list(app: App, unregistered: bool, buyer: str | None, agent: str | None, since: str | None,
                 until: str | None, style: str) -> None:
    """Every balance deduction, oldest first, with whether it is registered."""
    _, items, broken = _listed(app, buyer=buyer or None)  # (an empty --buyer filters nothing below)
    who = app.roster_id(agent) if agent else None
    first, last = _date(app, since, "--from"), _date(app, until, "--to")
    tz = app.ledger.config.tz
    rows = []
    for d in flow.deductions_from(items):
        day = d.at.astimezone(tz).date()
        if (d.repeats is not None or (unregistered and d.registered) or (buyer and d.buyer != buyer)
                or (who and d.by != who) or (first and day < first) or (last and day > last)):
            continue
        rows.append({"at": d.at, "remark": d.where, "buyer": d.buyer, "by": d.by, "amount": d.amount,
                     "remaining": d.remaining, "registered": d.registered, "registered_at": d.registered_at})
    columns = [Column("at", "h.at"), Column("remark", "rh.remark"), Column("buyer", "rh.buyer"), Column("by", "h.by"),
               Column("amount", "rh.amount"), Column("remaining", "rh.remaining"),
               Column("registered", "rh.registered", display)]
    if style == "json":
        columns.append(Column("registered_at", "rh.registered_at"))
    click.echo(rows_text(rows, columns, style), nl=False)
    _skipped(broken)


@balance.command("register")
@click.argument("order")
@at_option
@pass_app
def balance_register(app: App, order: str, at: str | None) -> None:
    """Mark the balance deductions of ORDER registered: writes 余额已登记+客服/日期 and prints it."""
    when, recorded = app.moment(at)
    added = flow.register(app.store, app.actor, when, order, flow.BALANCE_REGISTERED, recorded=recorded)
    click.echo(added.text)
    _warn(added.warnings)
