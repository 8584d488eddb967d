"""Remarks on shop orders, and the refund and balance registers read from them (seed 001 备注规范).

A remark file (`records/remarks/YYYY/MM/<order>.toml`) holds every remark on
one shop order, in order, each with who wrote it, when, its shape (`kind`) and
its text. The text is the truth: it is what stands in the shop's back office.
Field values are not stored beside it — they are read back from the text with
the shape whenever needed (reading is cheap), so a hand edit or a merge can
never leave two versions of an amount that disagree; `check` says when a text
no longer fits its shape.

From the texts:
- **balance chains** — per buyer, each deduction leaves 还剩余额 = the previous
  remaining balance − the deduction (余额清零: remaining 0). The *_notified form
  (余额扣除…,已通知登记) repeating a deduction already remarked on the same order
  is the same deduction, not a new one;
- **the refund register** — a refund due after the trade (应退…退到支付宝/银行)
  is registered when a later 退款已登记 remark on the same order says so; a
  refund claimed during the trade (可申请…) goes through the shop and is only
  counted;
- **deductions awaiting registration** — registered by a later 余额已登记.
Refunds and deductions unregistered for longer than `[remarks]` allows are alerts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csctl.domain.auth import require
from csctl.domain.checks import CheckContext, Finding, Rule
from csctl.domain.privacy import mask, mask_phones
from csctl.domain.remark_shapes import Shape, Shapes, load_shapes, writer_mismatch
from csctl.errors import InvalidInput, RecordError
from csctl.i18n import enum_label, msg
from csctl.models.base import Event, Record, format_money
from csctl.models.config import AgentEntry, Duration, LedgerConfig
from csctl.models.kinds import REMARK, Kind
from csctl.models.records import Remark, RemarkFile
from csctl.storage.store import Store

if TYPE_CHECKING:
    from csctl.domain.alerts import Alert

# A shop's order number names the file: letters, digits and "-", nothing a path could misread.
ORDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")

# Shapes with a meaning beyond their text, by the names of the packaged templates/remarks.toml.
DEDUCTIONS = frozenset({"balance_deduct", "balance_clear", "balance_deduct_notified", "balance_clear_notified"})
NOTIFIED = frozenset({"balance_deduct_notified", "balance_clear_notified"})
REFUNDS = frozenset({"refund_during_trade", "refund_after_trade", "refund_after_trade_no_name"})
REFUNDS_TO_REGISTER = frozenset({"refund_after_trade", "refund_after_trade_no_name"})
REFUND_REGISTERED = "refund_registered"
BALANCE_REGISTERED = "balance_registered"
REGISTER_LINE = "refund_register"


def check_order(order: str) -> str:
    order = order.strip()
    if not ORDER.fullmatch(order):
        raise InvalidInput(msg("remark.bad_order", order=order))
    return order


def remark_date(config: LedgerConfig, when: dt.datetime) -> str:
    """The date that ends a remark, in the ledger's `[remarks] date_format` (…+小王/11.23)."""
    return when.astimezone(config.tz).strftime(config.remarks.date_format)


def roster_names(config: LedgerConfig) -> set[str]:
    """The names remarks are signed with (former staff included: their remarks stay)."""
    return {agent.name for agent in config.agents}


@dataclass(frozen=True)
class Added:
    order: str
    remark: Remark
    created: bool  # the order's file is new
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.remark.text


def add_remark(store: Store, actor: AgentEntry, when: dt.datetime, order: str, shape_name: str,
               values: Mapping[str, object], buyer: str | None = None, *,
               recorded: dt.datetime | None = None) -> Added:
    """Render a remark signed by `actor` and dated `when`, and append it to the order's file.

    The file is created for a new order. A balance deduction needs the buyer (the chain is per
    buyer) and must continue the buyer's chain; everything is checked before anything is written.
    `recorded` is when it was typed, for a back-dated remark (`--at`).
    """
    require(actor, "remark.add")
    order = check_order(order)
    shapes = load_shapes(store.ledger)
    shape = shapes.find(shape_name)
    config = store.ledger.config
    text = shapes.render(shape, values, actor.name, remark_date(config, when))
    remark = Remark(at=when, by=actor.id, kind=shape.name, text=text)
    given_buyer = (buyer or "").strip() or None
    warnings = [msg("remark.writer_rule", shape=shape.name, writer=msg(f"remark.writer.{shape.writer}"),
                    who=actor.id, role=enum_label(actor.role))] if writer_mismatch(shape, actor.role.value) else []
    with store.ledger.lock(exclusive=True, what=f"remark {order}"):
        paths = store.files_named(REMARK, order)
        existing = store.load(REMARK, paths[0]) if paths else None
        assert existing is None or isinstance(existing, RemarkFile)
        if existing is not None and existing.buyer and given_buyer and existing.buyer != given_buyer:
            raise InvalidInput(msg("remark.other_buyer", order=order, buyer=existing.buyer, given=given_buyer))
        if existing is not None and existing.remarks and when < existing.remarks[-1].at:
            raise InvalidInput(msg("remark.at_before", at=when.isoformat(), last=existing.remarks[-1].at.isoformat()))
        file_buyer = (existing.buyer if existing is not None else None) or given_buyer
        if shape.name in DEDUCTIONS:
            if file_buyer is None:
                raise InvalidInput(msg("remark.buyer_needed", shape=shape.name))
            _continues_chain(store, shapes, file_buyer, order, remark, recorded or when)
        newly_named = given_buyer if existing is None or not existing.buyer else None
        event = Event(at=when, by=actor.id, action="remarked", recorded_at=recorded, kind=shape.name,
                      **({"buyer": newly_named} if newly_named and existing is not None else {}))
        if existing is None:
            store.create_named(REMARK, RemarkFile(id=order, created=when, buyer=given_buyer, remarks=[remark],
                                                  events=[event]))
        else:
            store.update(REMARK, order, lambda f: f.with_event(event, buyer=file_buyer,
                                                               remarks=[*f.remarks, remark]))
    return Added(order, remark, existing is None, warnings)


# ----- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stored:
    """One stored remark, where it is, and its values read back with its shape (None: it does not fit)."""

    order: str
    buyer: str | None
    index: int
    path: Path
    remark: Remark
    shape: Shape | None
    values: dict[str, Any] | None
    # When it was typed, from its `remarked` event (a back-dated remark says an earlier `at`); None: at `at`.
    # Only a balance chain orders by it; a report's brief of the file does not keep it, hence not compared.
    written: dt.datetime | None = field(default=None, compare=False)


# Field types whose values are personal data (csctl.domain.privacy), as the mask calls them.
PERSONAL_TYPES = {"phone": "phone", "address": "address", "account": "account"}


def personal_values(item: Stored) -> dict[str, str]:
    """The personal values a stored remark holds, by the mask's name for them ({} when none)."""
    if item.shape is None or item.values is None:
        return {}
    return {PERSONAL_TYPES[f.type]: str(item.values[f.name]) for f in item.shape.fields
            if f.type in PERSONAL_TYPES and item.values.get(f.name)}


def shown_text(item: Stored) -> str:
    """A remark's text with its phone numbers, addresses and accounts masked (and any mobile number
    in a text that fits no shape)."""
    text = item.remark.text
    for kind, value in personal_values(item).items():
        text = text.replace(value, mask(kind, value))
    return mask_phones(text)


def record_reveal(store: Store, actor: AgentEntry, when: dt.datetime, items: Iterable[Stored]) -> None:
    """Someone saw remarks whole: a `revealed` event on each order whose remarks hold personal data,
    naming the fields, never the values. Refused (exit 3) for a role that may not reveal."""
    require(actor, "customer.reveal")
    fields: dict[str, set[str]] = defaultdict(set)
    for item in items:
        fields[item.order].update(personal_values(item))
        if mask_phones(item.remark.text) != item.remark.text:
            fields[item.order].add("phone")
    for order, shown in sorted(fields.items()):
        if shown:
            store.update(REMARK, order, _append(Event(at=when, by=actor.id, action="revealed", fields=sorted(shown))))


def _append(event: Event) -> Callable[[RemarkFile], RemarkFile]:
    return lambda remark_file: remark_file.with_event(event)


def readable_remark_files(store: Store, paths: Iterable[Path] | None = None
                          ) -> tuple[list[tuple[RemarkFile, Path]], list[RecordError]]:
    """Every remark file (or those at `paths`) that reads, with its path, and what is wrong with the rest
    (a broken file must not blind the alerts)."""

    def with_path(record: Record, path: Path) -> tuple[RemarkFile, Path]:
        assert isinstance(record, RemarkFile)
        return record, path

    return store.read_each(REMARK, paths, with_path)


def stored_remarks(files: Iterable[tuple[RemarkFile, Path]], shapes: Shapes) -> list[Stored]:
    """Every remark of `files` with its values, oldest first."""
    out: list[Stored] = []
    for record, path in files:
        # The n-th `remarked` event is the n-th remark's (`rule_remark_history` checks they agree).
        typed = [event.written_at for event in record.events if event.action == "remarked"]
        for index, remark in enumerate(record.remarks):
            shape = shapes.get(remark.kind)
            values = shapes.match(shape, remark.text) if shape is not None else None
            written = typed[index] if index < len(typed) else None
            out.append(Stored(record.id, record.buyer, index, path, remark, shape, values, written))
    return sorted(out, key=lambda s: (s.remark.at, s.order, s.index))


@dataclass(frozen=True)
class RemarkFilter:
    order: str | None = None
    buyer: str | None = None
    agent: str | None = None
    kind: str | None = None
    group: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def admits(self, item: Stored, tz: dt.tzinfo) -> bool:
        day = item.remark.at.astimezone(tz).date()
        return ((self.order is None or item.order == self.order)
                and (self.buyer is None or item.buyer == self.buyer)
                and (self.agent is None or item.remark.by == self.agent)
                and (self.kind is None or item.remark.kind == self.kind)
                and (self.group is None or (item.shape is not None and item.shape.group == self.group))
                and (self.since is None or day >= self.since)
                and (self.until is None or day <= self.until))


def _registrations(items: list[Stored], marker: str) -> dict[tuple[str, int], Stored]:
    """For each remark, the first later `marker` remark on the same order (which registers it)."""
    by_order: dict[str, list[Stored]] = defaultdict(list)
    for item in items:
        by_order[item.order].append(item)
    found: dict[tuple[str, int], Stored] = {}
    for order, remarks in by_order.items():
        remarks.sort(key=lambda s: s.index)
        pending: list[Stored] = []
        for item in remarks:
            if item.remark.kind == marker and item.values is not None:
                for waiting in pending:
                    found[(order, waiting.index)] = item
                pending = []
            else:
                pending.append(item)
    return found


# ----- refunds ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refund:
    order: str
    index: int
    path: Path
    buyer: str | None
    at: dt.datetime
    by: str
    agent: str  # the name the remark is signed with
    shape: str
    item: str
    kind: str  # 折扣 or 邮费
    amount: Decimal
    via: str | None  # 支付宝 or 银行; None: claimed in the shop during the trade
    account: str | None
    holder: str | None
    registered_at: dt.datetime | None = None
    registered_by: str | None = None

    @property
    def to_register(self) -> bool:
        return self.shape in REFUNDS_TO_REGISTER

    @property
    def registered(self) -> bool:
        return self.registered_at is not None

    def register_line(self, shapes: Shapes) -> str:
        """The line sent to the register keeper: 渠道:ID 账户 实名 金额(原因_客服) (seed 退款登记发送格式)."""
        if not self.to_register:
            return ""
        values: dict[str, object] = {"via": self.via, "buyer": self.buyer or self.order, "account": self.account,
                                     "holder": self.holder, "amount": self.amount, "reason": f"{self.item}{self.kind}"}
        shape = shapes.get(REGISTER_LINE)
        if shape is not None and self.holder:
            try:
                return shapes.render(shape, values, self.agent, "")
            except InvalidInput:
                pass  # a buyer ID holding a separator: written plainly below
        parts = [f"{self.via}:{self.buyer or self.order}", self.account or "", self.holder or "",
                 f"{format_money(self.amount)}元({self.item}{self.kind}_{self.agent})"]
        return " ".join(p for p in parts if p)


def refunds_from(items: list[Stored]) -> list[Refund]:
    registrations = _registrations(items, REFUND_REGISTERED)
    out: list[Refund] = []
    for item in items:
        if item.remark.kind not in REFUNDS or item.values is None:
            continue
        v = item.values
        registration = registrations.get((item.order, item.index)) if item.remark.kind in REFUNDS_TO_REGISTER else None
        out.append(Refund(
            order=item.order, index=item.index, path=item.path, buyer=item.buyer, at=item.remark.at,
            by=item.remark.by, agent=str(v.get("agent", "")), shape=item.remark.kind, item=str(v["item"]),
            kind=str(v["kind"]), amount=v["amount"], via=v.get("via"), account=v.get("account"),
            holder=v.get("holder"),
            registered_at=registration.remark.at if registration else None,
            registered_by=registration.remark.by if registration else None,
        ))
    return out


# ----- balance deductions ----------------------------------------------------------------------

@dataclass(frozen=True)
class Deduction:
    order: str
    index: int
    path: Path
    buyer: str | None
    at: dt.datetime
    by: str
    agent: str
    shape: str
    amount: Decimal
    remaining: Decimal
    # A *_notified remark repeating the deduction remarked at this index of the same order.
    repeats: int | None = None
    registered_at: dt.datetime | None = None
    registered_by: str | None = None
    written: dt.datetime | None = None  # as `Stored.written`

    @property
    def registered(self) -> bool:
        return self.registered_at is not None

    @property
    def where(self) -> str:
        return f"{self.order}#{self.index + 1}"

    @property
    def typed(self) -> dt.datetime:
        return self.written or self.at

    def chain_summary(self) -> list[str | int | None]:
        """What a chain needs of it, in plain JSON values (kept by `check` in the index)."""
        return [self.order, self.index, self.buyer, self.at.isoformat(), self.by, self.agent, self.shape,
                str(self.amount), str(self.remaining), self.typed.isoformat()]

    @classmethod
    def from_chain_summary(cls, summary: list[Any], path: Path) -> Deduction:
        order, index, buyer, at, by, agent, shape, amount, remaining, typed = summary
        return cls(order=order, index=index, path=path, buyer=buyer, at=dt.datetime.fromisoformat(at), by=by,
                   agent=agent, shape=shape, amount=Decimal(amount), remaining=Decimal(remaining),
                   written=dt.datetime.fromisoformat(typed))


def deductions_from(items: list[Stored]) -> list[Deduction]:
    registrations = _registrations(items, BALANCE_REGISTERED)
    out: list[Deduction] = []
    seen: dict[str, list[Deduction]] = defaultdict(list)
    for item in items:
        if item.remark.kind not in DEDUCTIONS or item.values is None:
            continue
        amount: Decimal = item.values["amount"]
        remaining: Decimal = item.values.get("balance", Decimal("0.00"))
        repeats = None
        if item.remark.kind in NOTIFIED:
            repeats = next((d.index for d in seen[item.order]
                            if d.repeats is None and (d.amount, d.remaining) == (amount, remaining)), None)
        registration = registrations.get((item.order, item.index))
        deduction = Deduction(
            order=item.order, index=item.index, path=item.path, buyer=item.buyer, at=item.remark.at,
            by=item.remark.by, agent=str(item.values.get("agent", "")), shape=item.remark.kind, amount=amount,
            remaining=remaining, repeats=repeats,
            registered_at=registration.remark.at if registration else None,
            registered_by=registration.remark.by if registration else None,
            written=item.written,
        )
        seen[item.order].append(deduction)
        out.append(deduction)
    return out


@dataclass(frozen=True)
class Link:
    """One deduction on a buyer's chain, with what the previous one says it should leave."""

    deduction: Deduction
    previous: Deduction | None

    @property
    def expected(self) -> Decimal | None:
        return None if self.previous is None else self.previous.remaining - self.deduction.amount

    @property
    def broken(self) -> bool:
        return self.expected is not None and self.expected != self.deduction.remaining


# Past this many deductions at one moment, no order that keeps the chain is searched for (the search
# tries their orderings); seen only in a script's burst, never at a desk.
TIED_SEARCHED = 8


def chains(deductions: Iterable[Deduction]) -> dict[str, list[Link]]:
    """Per buyer, the deductions in the order they were made, each linked to the one before.

    The order is the time each says (`at`), then the time it was typed (two remarks back-dated to the
    same minute were still typed one after the other). Deductions that tie on both (typed in the same
    second, by a script) go in an order under which the chain holds, when there is one; else by order
    number and place in the file, so that a break is always reported at the same remark.
    """
    by_buyer: dict[str, list[Deduction]] = defaultdict(list)
    for deduction in deductions:
        if deduction.buyer is not None and deduction.repeats is None:
            by_buyer[deduction.buyer].append(deduction)
    out: dict[str, list[Link]] = {}
    for buyer, items in by_buyer.items():
        items.sort(key=lambda d: (d.at, d.typed, d.order, d.index))
        ordered: list[Deduction] = []
        start = 0
        while start < len(items):
            end = start + 1
            while end < len(items) and (items[end].at, items[end].typed) == (items[start].at, items[start].typed):
                end += 1
            tied = items[start:end]
            ordered.extend(_chaining(tied, ordered[-1] if ordered else None) or tied)
            start = end
        out[buyer] = [Link(d, ordered[i - 1] if i else None) for i, d in enumerate(ordered)]
    return out


def _chaining(tied: list[Deduction], previous: Deduction | None) -> list[Deduction] | None:
    """An order of deductions made at one moment (given in the stable order) under which each leaves the
    previous remaining balance minus itself, the first continuing `previous`; None when there is none.
    Remarks of one order keep their order in its file."""
    if len(tied) == 1 or len(tied) > TIED_SEARCHED:
        return None

    def extend(done: list[Deduction], left: list[Deduction]) -> list[Deduction] | None:
        if not left:
            return done
        last = done[-1] if done else previous
        for i, candidate in enumerate(left):
            if any(other.order == candidate.order and other.index < candidate.index for other in left):
                continue
            if last is not None and last.remaining - candidate.amount != candidate.remaining:
                continue
            found = extend([*done, candidate], left[:i] + left[i + 1:])
            if found is not None:
                return found
        return None

    return extend([], tied)


def _break_message(link: Link) -> str:
    previous = link.previous
    assert previous is not None
    assert link.expected is not None
    return msg("remark.chain_break", buyer=link.deduction.buyer, remaining=format_money(link.deduction.remaining),
               expected=format_money(link.expected), previous=format_money(previous.remaining),
               amount=format_money(link.deduction.amount), where=previous.where,
               day=previous.at.strftime("%Y-%m-%d %H:%M"))


def _chain_files(store: Store, buyer: str, order: str) -> list[Path] | None:
    """The files the buyer's chain runs through, from the index when there is one (else None: every file)."""
    from csctl.domain import indexing  # here, not above: indexing reads this module's facts

    return indexing.chosen_files(store, REMARK, lambda index: indexing.remark_files_of(index, buyer, order))


def _continues_chain(store: Store, shapes: Shapes, buyer: str, order: str, remark: Remark,
                     written: dt.datetime) -> None:
    """Refuse a deduction (typed at `written`) that would break the buyer's chain, before or after it."""
    files, _ = readable_remark_files(store, _chain_files(store, buyer, order))
    # The order's file counts as the buyer's even when this remark is the one naming the buyer.
    files = [(f.model_copy(update={"buyer": buyer}) if f.id == order else f, p)
             for f, p in files if f.buyer == buyer or f.id == order]
    index = next((len(f.remarks) for f, _ in files if f.id == order), 0)
    shape = shapes.get(remark.kind)
    new = Stored(order, buyer, index, Path(), remark, shape, shapes.match(shape, remark.text) if shape else None,
                 written)
    items = [*stored_remarks(files, shapes), new]
    for link in chains(deductions_from(items)).get(buyer, []):
        touches = (link.deduction.order, link.deduction.index) == (order, index) or (
            link.previous is not None and (link.previous.order, link.previous.index) == (order, index))
        if touches and link.broken:
            raise InvalidInput(_break_message(link))


def readable(store: Store, paths: Iterable[Path] | None = None) -> tuple[Shapes, list[Stored], list[RecordError]]:
    """The ledger's shapes, every stored remark (or those in the files at `paths`; oldest first) and the
    files that could not be read."""
    shapes = load_shapes(store.ledger)
    files, broken = readable_remark_files(store, paths)
    return shapes, stored_remarks(files, shapes), broken


def register(store: Store, actor: AgentEntry, when: dt.datetime, order: str, marker: str,
             *, recorded: dt.datetime | None = None) -> Added:
    """Write 退款已登记 / 余额已登记 on an order that has something unregistered (else exit 2)."""
    require(actor, "refund.register")
    order = check_order(order)
    with store.ledger.lock(exclusive=True, what=f"register {order}"):
        from csctl.domain import indexing

        # The order's remarks are those of the files declaring its ID: with the index, those files alone.
        files = indexing.chosen_files(store, REMARK, lambda index: index.naming(REMARK, "id", order))
        _shapes, items, _ = readable(store, files)
        on_order = [i for i in items if i.order == order]
        if not on_order:
            raise InvalidInput(msg("remark.no_order", order=order))
        if marker == REFUND_REGISTERED:
            waiting = any(r.to_register and not r.registered for r in refunds_from(on_order))
        else:
            waiting = any(d.repeats is None and not d.registered for d in deductions_from(on_order))
        if not waiting:
            raise InvalidInput(msg(f"remark.nothing_to_register.{marker}", order=order))
        return add_remark(store, actor, when, order, marker, {}, recorded=recorded)


# ----- alerts ----------------------------------------------------------------------------------

def register_limit(text: str) -> dt.timedelta:
    duration = Duration.parse(text)
    return dt.timedelta(days=duration.days, seconds=duration.seconds)


def remark_alerts(store: Store, now: dt.datetime, paths: Iterable[Path] | None = None) -> Iterator[Alert]:
    """Refunds and balance deductions left unregistered past `[remarks]`'s limits, for the agent who wrote
    them; an unreadable remark file is itself an alert (so that it never silences cron)."""
    from csctl.domain.alerts import Alert, unreadable

    settings = store.ledger.config.remarks
    _shapes, items, broken = readable(store, paths)
    refund_limit = register_limit(settings.refund_register_within)
    balance_limit = register_limit(settings.balance_register_within)
    for refund in refunds_from(items):
        if refund.to_register and not refund.registered and refund.at + refund_limit <= now:
            account = mask("account", refund.account or "")  # a cron mail goes to every role
            subject = f"{refund.item} {refund.kind} {format_money(refund.amount)} → {refund.via} {account}"
            yield Alert("refund.unregistered", refund.order, refund.by, refund.at + refund_limit, subject)
    for deduction in deductions_from(items):
        if deduction.repeats is None and not deduction.registered and deduction.at + balance_limit <= now:
            subject = msg("remark.deduction_subject", buyer=deduction.buyer or "-",
                          amount=format_money(deduction.amount), remaining=format_money(deduction.remaining))
            yield Alert("balance.unregistered", deduction.order, deduction.by, deduction.at + balance_limit, subject)
    yield from unreadable(store, broken, now)


# ----- check -------------------------------------------------------------------------------

def rule_remark_history(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    """Each remark has its `remarked` event, in the same order, by the same person, at the same time."""
    assert isinstance(record, RemarkFile)
    events = [(i, e) for i, e in enumerate(record.events) if e.action == "remarked"]
    for index, remark in enumerate(record.remarks):
        if index >= len(events):
            yield Finding(("remarks", index), msg("remark.no_event", index=index))
            continue
        event_index, event = events[index]
        if (event.by, event.at, event.extras.get("kind")) != (remark.by, remark.at, remark.kind):
            yield Finding(("events", event_index), msg("remark.event_differs", index=index, event=event_index))
    for event_index, _ in events[len(record.remarks):]:
        yield Finding(("events", event_index), msg("remark.event_without_remark", event=event_index))


REMARK_RULES: tuple[Rule, ...] = (rule_remark_history,)


def remark_findings(record: RemarkFile, shapes: Shapes, config: LedgerConfig) -> Iterator[Finding]:
    """`check` of one remark file: each text against its shape, and the writer rule (a warning)."""
    names = roster_names(config)
    for index, remark in enumerate(record.remarks):
        loc = ("remarks", index, "text")
        shape = shapes.get(remark.kind)
        if shape is None:
            yield Finding(("remarks", index, "kind"), msg("remark.unknown_kind", index=index, kind=remark.kind))
            continue
        if shapes.match(shape, remark.text, names) is None:
            other = shapes.parse(remark.text, names)
            if other is not None:
                message = msg("remark.other_shape", index=index, kind=remark.kind, other=other.shape.name)
            else:
                # Another shape may come nearer than the one it was filed as (a price_special 扣除余额… is
                # a balance deduction that leaves out the balance): name that one.
                departure = shapes.departure_from(shape, remark.text, names)
                nearest = shapes.lint(remark.text, names)
                if nearest is not None and nearest.shape is not None and nearest.reach > departure.reach:
                    departure = nearest
                message = msg("remark.unfit", index=index, why=departure.describe())
            yield Finding(loc, message)
        writer = config.agent(remark.by)
        if writer is not None and writer_mismatch(shape, writer.role.value):
            yield Finding(("remarks", index, "by"), msg(
                "remark.writer_rule", shape=shape.name, writer=msg(f"remark.writer.{shape.writer}"),
                who=writer.id, role=enum_label(writer.role)), True)


def chain_deductions(record: RemarkFile, path: Path, shapes: Shapes) -> list[Deduction]:
    """The deductions of one remark file that stand on its buyer's chain (each file's are its own: a
    repeat and a registration are on the same order)."""
    if record.buyer is None or not any(remark.kind in DEDUCTIONS for remark in record.remarks):
        return []
    return [d for d in deductions_from(stored_remarks([(record, path)], shapes)) if d.repeats is None]


def chain_breaks(deductions: Iterable[Deduction]) -> Iterator[tuple[Path, Finding]]:
    """`check` across the remark files: each deduction where its buyer's chain breaks."""
    for links in chains(deductions).values():
        for link in links:
            if link.broken:
                yield link.deduction.path, Finding(("remarks", link.deduction.index, "text"), _break_message(link))
