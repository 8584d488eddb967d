"""Remittances (汇款流程, seed 001 第五篇 第二章节): bank-transfer orders from order to shipping.

The history is the truth, as for tickets: `replay` walks a remittance's events
through `MOVES` and derives the stored `status`, `payments`, `reference`,
`verified_by`, `waybill` and `not_duplicate_of`. Money is Decimal end to end;
a paid amount that differs from the order is kept as the buyer paid it and
flagged, never corrected. Four eyes on money: the supervisor who verifies that
the money arrived is never the person who registered the order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from csctl.domain.auth import require
from csctl.domain.checks import CheckContext, Finding, Rule, disagreements
from csctl.domain.clock import Moment
from csctl.domain.deadlines import Clockwork, add_limit, clockwork
from csctl.domain.privacy import revealed_fields
from csctl.domain.remarks import add_remark
from csctl.errors import Forbidden, IllegalTransition, InvalidInput, NotFound, RecordError
from csctl.i18n import enum_label, msg
from csctl.models.base import Event, Record, describe_error, format_money, parse_money
from csctl.models.config import AgentEntry, Duration, LedgerConfig
from csctl.models.kinds import CUSTOMER, REMITTANCE, REVIEW, Kind
from csctl.models.records import Item, Payment, RegisterReview, Remittance, RemittanceStatus
from csctl.storage.store import Store

ORDERED, PAID, VERIFIED, SHIPPED, CANCELLED = RemittanceStatus
# What puts a remittance in a day's register: an order or a move of its money or goods. A note, a
# reveal or a verdict on duplicates does not (the day's digest still covers every event, so an edit shows).
REGISTERED_MOVES = frozenset({"created", "paid", "verified", "shipped", "cancelled"})
OPEN = frozenset({ORDERED, PAID, VERIFIED})
ANY = frozenset(RemittanceStatus)
ZERO = Decimal("0.00")
# The remark shape (templates/remarks.toml) written on a shop trade closed for a bank transfer.
REMIT_ORDER_SHAPE = "remit_order"


class Move(NamedTuple):
    sources: frozenset[RemittanceStatus]  # the states the action may be taken from
    carries: tuple[str, ...] = ()  # the keys its event must hold


# The state machine, one row per action; where each leads is `_apply`.
MOVES: dict[str, Move] = {
    "created": Move(frozenset()),
    # A further notice while unverified: the buyer sent the rest of the money.
    "paid": Move(frozenset({ORDERED, PAID}), ("date", "method", "bank", "amount")),
    "verified": Move(frozenset({PAID}), ("reference",)),
    "shipped": Move(frozenset({VERIFIED}), ("waybill",)),
    "cancelled": Move(OPEN, ("reason",)),
    "noted": Move(ANY, ("text",)),
    "not_duplicate": Move(ANY, ("of",)),
    "revealed": Move(ANY, ("fields",)),
    "renamed": Move(ANY, ("old_id", "new_id")),
}


@dataclass
class Derived:
    """What a history adds up to."""

    status: RemittanceStatus = ORDERED
    payments: list[Payment] = field(default_factory=list)
    reference: str | None = None
    verified_by: str | None = None
    waybill: str | None = None
    not_duplicate_of: list[str] = field(default_factory=list)


def _illegal(remit_id: str, action: str, status: RemittanceStatus) -> IllegalTransition:
    return IllegalTransition(msg("remit.illegal", id=remit_id, action=msg(f"remit.action.{action}"),
                                 status=enum_label(status)))


def replay(remit_id: str, events: Iterable[Event]) -> Derived:
    """Walk the history; `IllegalTransition` names the first event that does not fit."""
    state = Derived()
    history = list(events)
    if not history or history[0].action != "created":
        raise IllegalTransition(msg("remit.first_event", id=remit_id), 0)
    registrar = history[0].by
    for index, event in enumerate(history[1:], start=1):
        move = MOVES.get(event.action)
        if move is None:
            raise IllegalTransition(msg("remit.unknown_action", id=remit_id, action=event.action), index)
        for key in move.carries:
            if key not in event.extras:
                raise IllegalTransition(msg("remit.event_lacks", index=index, name=key, action=event.action), index)
        if state.status not in move.sources:
            raise IllegalTransition(str(_illegal(remit_id, event.action, state.status)), index)
        try:
            _apply(state, event, registrar)
        except (IllegalTransition, ValueError) as err:
            raise IllegalTransition(f"events.{index}: {err}", index) from None
    return state


def _apply(state: Derived, event: Event, registrar: str) -> None:
    extra = event.extras
    if event.action == "paid":
        try:
            state.payments.append(Payment.model_validate({k: extra[k] for k in ("date", "method", "bank", "amount")}))
        except ValidationError as err:
            raise ValueError(describe_error(err)) from None
        state.status = PAID
    elif event.action == "verified":
        if event.by == registrar:
            raise ValueError(msg("remit.four_eyes_history", who=event.by))
        state.reference, state.verified_by, state.status = str(extra["reference"]), event.by, VERIFIED
    elif event.action == "shipped":
        state.waybill, state.status = str(extra["waybill"]), SHIPPED
    elif event.action == "cancelled":
        state.status = CANCELLED
    elif event.action == "not_duplicate":
        state.not_duplicate_of = sorted({*state.not_duplicate_of, str(extra["of"])})
    elif event.action == "renamed" and extra.get("field") == "not_duplicate_of":
        # The other order was renamed by `check --repair-duplicates`: the verdict follows it.
        state.not_duplicate_of = sorted(str(extra["new_id"]) if i == extra["old_id"] else i
                                        for i in state.not_duplicate_of)


def disagreement(remit: Remittance, state: Derived) -> Iterator[tuple[str, str]]:
    """Each stored field that is not what the history adds up to, with what `check` says of it."""
    return disagreements(remit, {
        "status": state.status, "payments": state.payments, "reference": state.reference,
        "verified_by": state.verified_by, "waybill": state.waybill, "not_duplicate_of": state.not_duplicate_of,
    }, _shown)


def advance(remit: Remittance, event: Event) -> Remittance:
    """The remittance with `event` appended and its derived fields replayed.

    Refused when the stored fields already disagree with the history (a hand edit): the move was
    judged on them (`verify` on the stored payments), and writing would quietly replace them.
    """
    if remit.events and event.at < remit.events[-1].at:
        raise InvalidInput(msg("ticket.at_before", at=event.at.isoformat(), last=remit.events[-1].at.isoformat()))
    differs = next(disagreement(remit, replay(remit.id, remit.events)), None)
    if differs is not None:
        raise IllegalTransition(f"{remit.id}: {differs[1]}")
    state = replay(remit.id, [*remit.events, event])
    return remit.with_event(
        event, status=state.status, payments=[p.model_dump() for p in state.payments], reference=state.reference,
        verified_by=state.verified_by, waybill=state.waybill, not_duplicate_of=state.not_duplicate_of,
    )


# ----- reading what a person typed ----------------------------------------------------------

def amount(text: str, field_name: str) -> Decimal:
    """A positive amount in yuan with at most two decimals: `288`, `288.5`, `288.00`; never rounded."""
    try:
        value = parse_money(text)
    except ValueError as err:
        raise InvalidInput(f"{field_name}: {err}") from None
    if value <= 0:
        raise InvalidInput(msg("remit.amount_positive", field=field_name, value=text))
    return value


def item(text: str) -> Item:
    """`CODE:SIZE:QTY` (货号:码数:数量), e.g. `LY2611-03:M:2`; full-width colons are accepted."""
    parts = [p.strip() for p in text.replace("：", ":").split(":")]
    if len(parts) != 3 or not all(parts):
        raise InvalidInput(msg("remit.item_shape", value=text))
    code, size, qty = parts
    if not qty.isascii() or not qty.isdigit() or int(qty) < 1:
        raise InvalidInput(msg("remit.item_qty", value=text, qty=qty))
    try:
        return Item(code=code, size=size, qty=int(qty))
    except ValidationError as err:
        raise InvalidInput(f"--item {text}: {describe_error(err)}") from None


def _text(value: str | None, field_name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(msg("ticket.empty", field=field_name))
    return value


def _event(actor: AgentEntry, action: str, when: Moment, **extra: Any) -> Event:
    values = {k: v for k, v in extra.items() if v not in (None, [], "")}
    return Event(at=when.at, by=actor.id, action=action, recorded_at=when.recorded, **values)


# ----- the moves --------------------------------------------------------------------------

@dataclass(frozen=True)
class Order:
    """What `remit new` registers (订单建立)."""

    buyer: str
    items: list[Item]
    address: str
    amount: Decimal
    shop_trade: str | None = None  # the shop trade already ordered (已拍下), to close
    customer: str | None = None
    note: str | None = None


def new_order(store: Store, actor: AgentEntry, when: Moment, order: Order) -> Remittance:
    require(actor, "remit.new")
    if order.customer and not store.exists(CUSTOMER, order.customer):
        raise NotFound(msg("ticket.unknown_customer", id=order.customer))
    fields: dict[str, Any] = {
        "buyer": _text(order.buyer, "--buyer"), "agent": actor.id, "address": _text(order.address, "--address"),
        "amount": order.amount, "shop_ordered": order.shop_trade is not None, "shop_trade": order.shop_trade,
        "customer": order.customer, "items": [i.model_dump() for i in order.items],
    }
    created = _event(actor, "created", when, note=order.note)

    def build(remit_id: str) -> Remittance:
        try:
            return Remittance.model_validate({"id": remit_id, "created": when.at, **fields,
                                              "events": [created.model_dump(exclude_none=True)]})
        except ValidationError as err:
            raise InvalidInput(describe_error(err)) from None

    with store.ledger.lock(exclusive=True, what="new remittance"):
        remit = build(store.allocate_id(REMITTANCE, when.at))  # every check passes before anything is written
        if order.shop_trade:
            # The shop trade is closed with the seed's remark: 银行汇款订单,待汇款,已通知登记+客服名+日期.
            add_remark(store, actor, when.at, order.shop_trade, REMIT_ORDER_SHAPE, {}, buyer=order.buyer,
                       recorded=when.recorded)
        while not store.file_new(REMITTANCE, remit):
            remit = build(store.allocate_id(REMITTANCE, when.at))
    return remit


def paid(remit: Remittance, actor: AgentEntry, when: Moment, *, date: dt.date, method: str, bank: str,
         value: Decimal, note: str | None) -> Remittance:
    """A payment notice (收到汇款), kept as the buyer paid it."""
    require(actor, "remit.paid")
    if date > when.at.date():
        raise InvalidInput(msg("remit.date_future", date=date.isoformat()))
    event = _event(actor, "paid", when, date=date, method=_text(method, "--method"), bank=_text(bank, "--bank"),
                   amount=value, note=note)
    return advance(remit, event)


def verify(remit: Remittance, actor: AgentEntry, when: Moment, *, reference: str,
           accept_difference: str | None) -> Remittance:
    """The supervisor confirms the money arrived (核实货款已到帐), naming the bank reference."""
    require(actor, "remit.verify")
    if remit.status is not PAID:
        raise _illegal(remit.id, "verified", remit.status)
    registrar = remit.events[0].by
    if actor.id in (registrar, remit.agent):
        raise Forbidden(msg("remit.four_eyes", id=remit.id, who=registrar))
    difference = paid_total(remit) - remit.amount
    if difference and not (accept_difference or "").strip():
        raise InvalidInput(msg("remit.verify_difference", id=remit.id, paid=format_money(paid_total(remit)),
                               amount=format_money(remit.amount)))
    event = _event(actor, "verified", when, reference=_text(reference, "--reference"),
                   difference=format_money(difference) if difference else None,
                   accepted=(accept_difference or "").strip() or None)
    return advance(remit, event)


def ship(remit: Remittance, actor: AgentEntry, when: Moment, waybill: str) -> Remittance:
    require(actor, "remit.ship")
    if remit.status is not VERIFIED:
        raise _illegal(remit.id, "shipped", remit.status)
    return advance(remit, _event(actor, "shipped", when, waybill=_text(waybill, "--waybill")))


def cancel(remit: Remittance, actor: AgentEntry, when: Moment, reason: str) -> Remittance:
    require(actor, "remit.cancel")
    if remit.status not in OPEN:
        raise _illegal(remit.id, "cancelled", remit.status)
    return advance(remit, _event(actor, "cancelled", when, reason=_text(reason, "--reason")))


def note(remit: Remittance, actor: AgentEntry, when: Moment, text: str) -> Remittance:
    require(actor, "remit.note")
    return advance(remit, _event(actor, "noted", when, text=_text(text, "TEXT")))


def not_duplicate(store: Store, remit: Remittance, actor: AgentEntry, when: Moment, other: str,
                  reason: str) -> Remittance:
    """A person's verdict that two orders are both wanted; the warning does not return."""
    require(actor, "remit.new")
    if other == remit.id:
        raise InvalidInput(msg("remit.self_duplicate", id=remit.id))
    if not store.exists(REMITTANCE, other):
        raise NotFound(msg("store.not_found", kind=msg("kind.remittance"), id=other))
    if other in remit.not_duplicate_of:
        raise IllegalTransition(msg("remit.verdict_given", id=remit.id, other=other))
    return advance(remit, _event(actor, "not_duplicate", when, of=other, reason=_text(reason, "--reason")))


def record_reveal(remit: Remittance, actor: AgentEntry, when: Moment) -> Remittance:
    fields = revealed_fields(actor, remit)
    return advance(remit, _event(actor, "revealed", when, fields=fields)) if fields else remit


def paid_total(remit: Remittance) -> Decimal:
    return sum((p.amount for p in remit.payments), ZERO)


def items_text(items: Iterable[Item]) -> str:
    return ", ".join(f"{i.code}:{i.size}:{i.qty}" for i in items)


# ----- reading many -----------------------------------------------------------------------

def _at_event(err: IllegalTransition) -> str:
    text = str(err)
    return text if text.startswith("events.") else f"events.{err.event_index or 0}: {text}"


def replayable(remit: Remittance, path: Path) -> Remittance:
    """The remittance, once its history is known to replay to its stored fields; `RecordError` if not.

    Every reader takes the stored status and payments (alerts, `show`, `verify`): one whose fields
    were edited away from the history does not read, as one whose history does not replay (`check`
    says which field), rather than be taken at its word on money.
    """
    try:
        state = replay(remit.id, remit.events)
    except IllegalTransition as err:
        raise RecordError(path, None, _at_event(err)) from None
    differs = next(disagreement(remit, state), None)
    if differs is not None:
        raise RecordError(path, None, differs[1])
    return remit


def readable_remittances(store: Store, paths: Iterable[Path] | None = None
                         ) -> tuple[list[Remittance], list[RecordError]]:
    """Every remittance (or those at `paths`) whose file reads and whose history replays, and what is
    wrong with the rest."""
    return store.read_all(Remittance, REMITTANCE, paths, replayable)


def verify_clock(config: LedgerConfig) -> Clockwork:
    """The clock the verification limit counts on (`[remittances] count`)."""
    return clockwork(config, config.remittances.count)


def verify_due(remit: Remittance, config: LedgerConfig, clock: Clockwork | None = None) -> dt.datetime | None:
    """When the first payment notice must be verified by (三天内未核实 goes back to the agent)."""
    notice = next((e for e in remit.events if e.action == "paid"), None)
    if notice is None:
        return None
    return add_limit(clock or verify_clock(config), notice.at, Duration.parse(config.remittances.verify_within))


def stale(remit: Remittance, config: LedgerConfig, now: dt.datetime, clock: Clockwork | None = None) -> bool:
    due = verify_due(remit, config, clock)
    return remit.status is PAID and due is not None and now >= due


class Duplicate(NamedTuple):
    first: str  # the older order
    second: str
    reason: str  # "items" or "amount"


def duplicates(remits: Iterable[Remittance], config: LedgerConfig) -> list[Duplicate]:
    """Pairs of open orders of one buyer that look like one order twice (seed: close the duplicate trade):
    the same items, or the same amount within `duplicate_window`. A verdict on either side silences a pair."""
    window = Duration.parse(config.remittances.duplicate_window)
    span = dt.timedelta(days=window.days, seconds=window.seconds)
    by_buyer: dict[str, list[Remittance]] = {}
    for remit in remits:
        if remit.status in OPEN:
            by_buyer.setdefault(remit.buyer.strip(), []).append(remit)
    found: list[Duplicate] = []
    for orders in by_buyer.values():
        orders.sort(key=lambda r: (r.created, r.id))
        for index, first in enumerate(orders):
            for second in orders[index + 1:]:
                if second.id in first.not_duplicate_of or first.id in second.not_duplicate_of:
                    continue
                if _same_items(first, second):
                    found.append(Duplicate(first.id, second.id, "items"))
                elif first.amount == second.amount and abs(second.created - first.created) <= span:
                    found.append(Duplicate(first.id, second.id, "amount"))
    return found


def _same_items(a: Remittance, b: Remittance) -> bool:
    def bag(r: Remittance) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()
        for i in r.items:
            counts[(i.code.upper(), i.size.upper())] += i.qty
        return counts

    return bag(a) == bag(b)


# ----- the daily register (《汇款销售记录表》) and its review ------------------------------------

@dataclass(frozen=True)
class RegisterRow:
    id: str
    created: dt.datetime
    buyer: str
    agent: str
    items: str
    amount: Decimal
    paid: Decimal
    status: RemittanceStatus  # as the day left it
    actions: list[str]  # what happened that day, in order
    # What the digest is worked out from, when first asked: a review signs digests, a report never reads them.
    remittance: Remittance = field(repr=False, compare=False)
    history: list[Event] = field(repr=False, compare=False)  # its events up to the period's end

    @cached_property
    def digest(self) -> str:
        """The remittance as the day left it."""
        return _digest(self.remittance, self.history)

    @property
    def difference(self) -> Decimal:
        return self.paid - self.amount if self.paid else ZERO


@dataclass(frozen=True)
class StateTotal:
    count: int
    amount: Decimal
    paid: Decimal


def day_bounds(day: dt.date, config: LedgerConfig) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), config.tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), config.tz)


def register_rows(remits: Iterable[Remittance], day: dt.date, config: LedgerConfig) -> list[RegisterRow]:
    """Every remittance created or moved on `day` (the ledger's time zone), as that day left it."""
    return activity_rows(remits, *day_bounds(day, config))


def state_at(remit: Remittance, end: dt.datetime) -> Derived | None:
    """The remittance as `end` found it (its history before then, replayed); None when nothing had happened
    yet. A merged history whose times run out of order is taken as it stands now."""
    before = [e for e in remit.events if e.at < end]
    if not before:
        return None
    try:
        return replay(remit.id, before)
    except IllegalTransition:
        return replay(remit.id, remit.events)


def activity_rows(remits: Iterable[Remittance], start: dt.datetime, end: dt.datetime) -> list[RegisterRow]:
    """Every remittance created or moved (`REGISTERED_MOVES`) in [start, end), as `end` found it."""
    rows = []
    for remit in remits:
        today = [e for e in remit.events if start <= e.at < end and e.action in REGISTERED_MOVES]
        if not today:
            continue
        until = [e for e in remit.events if e.at < end]
        state = state_at(remit, end)
        assert state is not None  # it moved within the period
        rows.append(RegisterRow(
            id=remit.id, created=remit.created, buyer=remit.buyer, agent=remit.agent, items=items_text(remit.items),
            amount=remit.amount, paid=sum((p.amount for p in state.payments), ZERO),
            status=state.status, actions=[e.action for e in today], remittance=remit, history=until,
        ))
    return sorted(rows, key=lambda r: (r.created, r.id))


def totals(rows: Iterable[RegisterRow]) -> dict[RemittanceStatus, StateTotal]:
    """Per state as the day left it: how many, ordered and paid amounts, to the cent."""
    sums: dict[RemittanceStatus, StateTotal] = {}
    for row in rows:
        old = sums.get(row.status, StateTotal(0, ZERO, ZERO))
        sums[row.status] = StateTotal(old.count + 1, old.amount + row.amount, old.paid + row.paid)
    return {status: sums[status] for status in RemittanceStatus if status in sums}


def _digest(remit: Remittance, events: list[Event]) -> str:
    """The remittance as a day left it: its fields and its history up to then, never what came later."""
    data = remit.model_dump(mode="json", exclude={"events", "status", "payments", "reference", "verified_by",
                                                  "waybill", "not_duplicate_of"})
    data["events"] = [e.model_dump(mode="json", exclude_none=True) for e in events]
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def fingerprint(rows: Iterable[RegisterRow]) -> str:
    lines = "".join(f"{r.id} {r.digest}\n" for r in sorted(rows, key=lambda r: r.id))
    return hashlib.sha256(lines.encode()).hexdigest()


class ReviewState(NamedTuple):
    """Whether a day's register is signed off, and what changed since."""

    review: RegisterReview | None
    changed: list[str]  # IDs whose record differs from what was signed (added, edited or gone)

    @property
    def signed(self) -> bool:
        return self.review is not None and not self.changed


def review_state(store: Store, day: dt.date, rows: list[RegisterRow]) -> ReviewState:
    path = next(iter(store.files_named(REVIEW, day.isoformat())), None)
    if path is None:
        return ReviewState(None, [])
    review = store.load(REVIEW, path)
    assert isinstance(review, RegisterReview)
    return ReviewState(review, _changed(review, rows))


def readable_reviews(store: Store, paths: Iterable[Path] | None = None
                     ) -> tuple[dict[str, RegisterReview], list[RecordError]]:
    """Every day's review (or those at `paths`) by its day, and the review files that could not be read."""
    reviews, broken = store.read_all(RegisterReview, REVIEW, paths)
    return {review.id: review for review in reviews}, broken


def _changed(review: RegisterReview, rows: list[RegisterRow]) -> list[str]:
    return _changed_digests(review, {r.id: r.digest for r in rows})


def _changed_digests(review: RegisterReview, now: dict[str, str]) -> list[str]:
    signed = {e.id: e.digest for e in review.entries}
    return sorted(i for i in {*signed, *now} if signed.get(i) != now.get(i))


def review(store: Store, actor: AgentEntry, when: Moment, day: dt.date) -> RegisterReview:
    """The supervisor signs a day's register off (审核) over a fingerprint of that day's records;
    a day changed since its review is signed again, the history keeping both."""
    require(actor, "remit.review")
    if day > when.at.astimezone(store.ledger.config.tz).date():
        raise InvalidInput(msg("remit.review_future", date=day.isoformat()))
    with store.ledger.lock(exclusive=True, what=f"review {day}"):
        from csctl.domain import indexing, remit_views  # here, not above: they read this module

        moved_that_day = remit_views.of_day(day, store.ledger.config)
        files = indexing.chosen_files(store, REMITTANCE, lambda index: index.paths(*moved_that_day))
        rows = register_rows(readable_remittances(store, files)[0], day, store.ledger.config)
        if not rows:
            raise InvalidInput(msg("remit.review_empty", date=day.isoformat()))
        digest = fingerprint(rows)
        entries = [{"id": r.id, "digest": r.digest} for r in rows]
        event = _event(actor, "reviewed", when, fingerprint=digest, count=len(rows))
        state = review_state(store, day, rows)
        if state.review is None:
            return store.create_named(REVIEW, RegisterReview.model_validate({
                "id": day.isoformat(), "created": when.at, "fingerprint": digest, "reviewed_by": actor.id,
                "entries": entries, "events": [event.model_dump(exclude_none=True)]}))
        if state.signed:
            raise IllegalTransition(msg("remit.reviewed_already", date=day.isoformat(),
                                        who=state.review.reviewed_by))

        def sign_again(old: RegisterReview) -> RegisterReview:
            return old.with_event(event, fingerprint=digest, reviewed_by=actor.id, entries=entries)

        updated: RegisterReview = store.update(REVIEW, day.isoformat(), sign_again)
        return updated


def day_digests(remits: Iterable[Remittance], config: LedgerConfig) -> dict[dt.date, dict[str, str]]:
    """For each day with register activity, each active remittance's digest as that day left it."""
    out: dict[dt.date, dict[str, str]] = {}
    for remit in remits:
        for day, digest in remit_days(remit, config).items():
            out.setdefault(day, {})[remit.id] = digest
    return out


def remit_days(remit: Remittance, config: LedgerConfig) -> dict[dt.date, str]:
    """The days a remittance was created or moved on, with its digest as each of them left it."""
    days = sorted({e.at.astimezone(config.tz).date() for e in remit.events if e.action in REGISTERED_MOVES})
    out = {}
    for day in days:
        end = day_bounds(day, config)[1]
        out[day] = _digest(remit, [e for e in remit.events if e.at < end])
    return out


def unreviewed_days(config: LedgerConfig, digests: dict[dt.date, dict[str, str]],
                    reviews: dict[str, RegisterReview], today: dt.date) -> Iterator[tuple[dt.date, ReviewState]]:
    """Past days with register activity that are not signed off, or changed since they were."""
    first = config.remittances.reviews_from
    for day in sorted(digests):
        if day >= today or (first and day < first):
            continue
        review = reviews.get(day.isoformat())
        state = ReviewState(review, _changed_digests(review, digests[day]) if review is not None else [])
        if not state.signed:
            yield day, state


# ----- check ------------------------------------------------------------------------------

def rule_history(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    """The history is a legal sequence and the stored fields are what it adds up to."""
    assert isinstance(record, Remittance)
    try:
        state = replay(record.id, record.events)
    except IllegalTransition as err:
        yield Finding(("events", err.event_index or 0), _at_event(err))
        return
    for name, message in disagreement(record, state):
        yield Finding((name,), message)


def _shown(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, Payment):
        return f"{value.date} {format_money(value.amount)}"
    return "-" if value is None else str(getattr(value, "value", value))


def rule_amount(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    """A paid amount that differs from the order is flagged until a supervisor accepts it at verification."""
    assert isinstance(record, Remittance)
    if not record.payments:
        return
    accepted = any(e.action == "verified" and e.extras.get("accepted") for e in record.events)
    total = paid_total(record)
    if total != record.amount and not accepted:
        yield Finding(("payments",), msg("remit.amount_differs", id=record.id, paid=format_money(total),
                                         amount=format_money(record.amount)), True)


REMITTANCE_RULES: tuple[Rule, ...] = (rule_history, rule_amount)
