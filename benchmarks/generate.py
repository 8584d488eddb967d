"""Write a realistic ledger of N records through csctl's own code, for the benchmarks.

    python benchmarks/generate.py --records N --out DIR [--seed S] [--until 2026-11-20] [--years 3]
                                  [--no-fsync] [--no-git]

Three years (`--years`) of a clothing shop's desk up to `--until` (18:00 that day), in the
proportions of a busy shop: tickets ~60%, remark files ~20%, remittances ~10%,
customers ~8%, knowledge entries and register reviews ~1% each; twelve people
on the roster, one of whom left after the first year. Every record is made by
the domain functions (`tickets.new_ticket`/`take`/`judge`/`note`/`transfer`/`wait`/
`resolve`/`callback`/`close`/`reopen`, `tickets.open_ticket` for follow-ups,
`remittances.new_order`/`paid`/`verify`/`ship`/`cancel`/`not_duplicate`,
`customers.add`/`edit`, `kb.add`/`submit`/`approve`/`retire`, the roster's
`add_agent`/`edit_agent`) and filed by the `Store`, which renders the canonical
TOML and checks that it reads back; nothing is written by hand. A record's
history is built in memory up to `--until` and filed once, so old work is
finished; the last day and a half also holds work left in every open state
(two of each, whatever N), as a desk's backlog does.

Where a domain function would scan the whole ledger for each new record, the
generator does that bookkeeping itself, in memory, and says so at the place:
remark files (each remark rendered with the ledger's shapes and signed as
`add_remark` does, whose check of a balance chain reads every remark file: the
chains are kept per buyer here), a customer's phone number (drawn unique here
instead of `add` reading every customer), and the daily register reviews (rows
and fingerprint from `register_rows` and `fingerprint` over the remittances of
that day, instead of `review` reading them all for each day). `csctl check`
on the output must be clean; `tests/test_generate.py` sees that it is.

The output is the same, byte for byte, for the same `--records`, `--seed`, `--years` and
`--until`: the random bits of IDs are drawn from the seed (as
`scripts/build_demo.py` does). `--no-fsync` makes `os.fsync` a no-op in this
process only: on this machine's disk the syncs make writing three times slower
(2,000 records: 13.5 s against 4.4 s) and a benchmark ledger gains nothing from
them. `--no-git` leaves the folder outside git; by default it is a git
repository with everything in one commit, as a clone is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import corpus

from csctl.domain import customers, kb, remittances, tickets
from csctl.domain import remarks as remark_domain
from csctl.domain.calendar import official_days
from csctl.domain.clock import Moment
from csctl.domain.remark_shapes import load_shapes
from csctl.domain.remarks import DEDUCTIONS, remark_date
from csctl.domain.roster import add_agent, edit_agent
from csctl.domain.setup import init_ledger
from csctl.errors import CsctlError
from csctl.models.base import Event
from csctl.models.config import AgentEntry, LedgerConfig
from csctl.models.kinds import KB, REMARK, REMITTANCE, REVIEW, TICKET
from csctl.models.records import (
    CallbackOutcome,
    Customer,
    Item,
    KbEntry,
    RegisterReview,
    Remark,
    RemarkFile,
    Remittance,
    RemittanceStatus,
    Ticket,
    TicketStatus,
)
from csctl.storage import ids
from csctl.storage.ledger import Ledger, edit_config
from csctl.storage.store import Store

DEFAULT_YEARS = 3
DAY_ENDS = dt.time(18, 0)
# The desk as it stands at the end: work caught in every open state, two of each, however small the
# ledger (in a big one such work is there anyway). Created 12–36 hours before the end and moving at
# FINALE_PACE times the usual speed, so each gets to its state before the end.
FINALE = {"ticket": ("new", "assigned", "transferred", "waiting", "resolved") * 2,
          "remittance": ("ordered", "paid", "verified") * 2}
FINALE_PACE = 0.05
# Shares of the record count; tickets take what the others leave (about 60%).
SHARES = {"remark": 0.20, "remittance": 0.10, "customer": 0.08, "kb": 0.01, "review": 0.01}
# One remark of a scripted order: (shape, the writer's role, values, minutes after the remark before).
Line = tuple[str, str, Mapping[str, object], tuple[float, float]]
GIT_ENV = {"GIT_AUTHOR_NAME": "csctl benchmark", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "csctl benchmark", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1"}


class Beyond(Exception):
    """A story reached `--until`: what would happen later has not happened yet."""


class Desk:
    """One shop's desk over some years; `run` files every record in the order it was created."""

    def __init__(self, root: Path, records: int, seed: int, until: dt.date, years: int = DEFAULT_YEARS) -> None:
        self.root = root
        self.years = years
        self.total = records
        self.rng = random.Random(f"csctl-bench-content-{seed}")
        # The random bits of every ID drawn from the seed: the same run gives the same files.
        ids.secrets = SimpleNamespace(randbelow=random.Random(f"csctl-bench-ids-{seed}").randrange)  # type: ignore[assignment,attr-defined]
        self.until_day = until
        # (The day after the same day `years` earlier; a 29 February goes back to the 28th.)
        self.first_day = dt.date(until.year - years, until.month, min(until.day, 28 if until.month == 2 else 31)
                                 ) + dt.timedelta(days=1)
        init_ledger(root, "liu", "刘工", team="丽衣网店客服部", git=False, year=until.year)
        self.ledger = Ledger(root)
        self.store = Store(self.ledger)
        self.tz = self.ledger.config.tz
        self.until = dt.datetime.combine(until, DAY_ENDS, self.tz)
        self.start = dt.datetime.combine(self.first_day, dt.time(8, 30), self.tz)
        self._fill_calendar()
        self._hire()
        self.shapes = load_shapes(self.ledger)
        # `add_remark` (which `new_order` calls for a shop trade) reads and validates templates/remarks.toml
        # each time, some 28 ms; the template does not change while this process runs.
        remark_domain.load_shapes = lambda ledger: self.shapes  # type: ignore[assignment]
        self.people = {a.id: a for a in self.config.agents}
        self.customers: list[Customer] = []
        self.kb_entries: list[tuple[KbEntry, dt.datetime | None, dt.datetime | None]] = []  # (entry, approved, retired)
        self.remits: list[Remittance] = []
        self.closed_complaints: list[tuple[dt.datetime, str]] = []  # (last event, id) of closed complaints
        self.orders: set[str] = set()
        self.phones: set[str] = set()
        self.balances: dict[str, tuple[Decimal, dt.datetime]] = {}  # buyer -> (remaining, last deduction)
        self.counts: dict[str, int] = defaultdict(int)
        self.pace = 1.0

    @property
    def config(self) -> LedgerConfig:
        return self.ledger.config

    # ----- set-up ---------------------------------------------------------------------------------
    def _fill_calendar(self) -> None:
        """The official days of every year the ledger spans (init writes this year's and the next)."""
        covered = {self.until_day.year, self.until_day.year + 1}
        past = [y for y in range(self.first_day.year, self.until_day.year + 2) if y not in covered]
        holidays, workdays, _ = official_days(past)
        # The coming year's days may not be published yet; New Year's Day is fixed by law.
        holidays.append(dt.date(self.until_day.year + 1, 1, 1))

        def add_days(config: LedgerConfig, document: Any) -> None:
            calendar = document["calendar"]
            for key, extra in (("holidays", holidays), ("workdays", workdays)):
                days = sorted({*config.calendar.model_dump()[key], *extra})
                calendar[key] = days
                calendar[key].multiline(True)

        edit_config(self.ledger, add_days)

    def _hire(self) -> None:
        admin = self.ledger.config.agent("liu")
        assert admin is not None
        for agent_id, name, role, staff_no in corpus.ROSTER:
            if agent_id == "liu":
                edit_agent(self.ledger, admin, "liu", {"staff_no": staff_no})
                continue
            add_agent(self.ledger, admin, {"id": agent_id, "name": name, "role": role, "staff_no": staff_no,
                                           "email": f"{agent_id}@liyi-shop.cn"})

    def _retire_leaver(self) -> None:
        admin = self.people["liu"]
        edit_agent(self.ledger, admin, corpus.LEAVER[0], {"active": False})

    # ----- who and when ---------------------------------------------------------------------------
    def staff(self, role: str, at: dt.datetime) -> AgentEntry:
        """Someone of `role` on duty at `at` (the leaver only before they left)."""
        left = self.start + dt.timedelta(days=corpus.LEAVER[1])
        choices = [a for a in self.people.values() if a.role.value == role and (a.id != corpus.LEAVER[0] or at < left)]
        return self.rng.choice(choices)

    def creation_times(self, count: int) -> list[dt.datetime]:
        """`count` moments over the years: busier as the shop grows, on weekdays, around 618 and 双11."""
        days = [self.first_day + dt.timedelta(days=n) for n in range((self.until_day - self.first_day).days + 1)]
        weights = []
        for index, day in enumerate(days):
            weight = 0.6 + 0.8 * index / len(days)
            weight *= 0.75 if day.weekday() >= 5 else 1.0
            if (day.month, day.day) in {(11, d) for d in range(11, 16)} or (day.month, day.day) in {
                    (6, d) for d in range(18, 21)}:
                weight *= 2.5
            weights.append(weight)
        picked = self.rng.choices(days, weights=weights, k=count)
        out = []
        for day in picked:
            minute = int(min(max(self.rng.gauss(13 * 60, 150), 8 * 60 + 30), 21 * 60 + 30))
            moment = dt.datetime.combine(day, dt.time(minute // 60, minute % 60, self.rng.randrange(60)), self.tz)
            out.append(min(moment, self.until - dt.timedelta(minutes=1)))
        return sorted(out)

    def later(self, at: dt.datetime, low_minutes: float, high_minutes: float) -> dt.datetime:
        """A moment a while after `at`; `Beyond` when that is after `--until`."""
        moment = at + dt.timedelta(minutes=self.rng.uniform(low_minutes, high_minutes) * self.pace)
        moment = moment.replace(microsecond=0)
        if moment > self.until:
            raise Beyond
        return moment

    def fill(self, template: str, **given: str) -> str:
        rng = self.rng
        region, _, _ = rng.choice(corpus.PLACES)
        size = rng.randrange(len(corpus.SIZES) - 1)
        values = {
            "product": rng.choice(corpus.PRODUCTS), "size": corpus.SIZES[size], "size2": corpus.SIZES[size + 1],
            "colour": rng.choice(corpus.COLOURS), "code": self.item_code(), "via": rng.choice(("旺旺", "电话", "微信")),
            "height": str(rng.randrange(150, 185)), "weight": str(rng.randrange(42, 80)), "region": region,
            "courier": rng.choice(corpus.COURIERS), "qty": str(rng.randrange(2, 10)), "name": self.person_name(),
            "days": str(rng.randrange(2, 6)), "defect": rng.choice(corpus.DEFECTS),
            "organisation": rng.choice(corpus.ORGANISATIONS), "promo": rng.choice(corpus.PROMOS), **given,
        }
        return template.format(**values)

    def person_name(self) -> str:
        return self.rng.choice(corpus.SURNAMES) + self.rng.choice(corpus.GIVEN)

    def item_code(self) -> str:
        return f"LY{self.rng.randrange(22, 27)}{self.rng.randrange(1, 13):02d}-{self.rng.randrange(1, 40):02d}"

    def address(self) -> tuple[str, str, str]:
        """(region, district, full address)."""
        region, districts, streets = self.rng.choice(corpus.PLACES)
        district = self.rng.choice(districts)
        full = (f"{corpus.PROVINCE[region]}{district}{self.rng.choice(streets)}{self.rng.randrange(1, 999)}号"
                f"{self.rng.randrange(1, 30)}栋{self.rng.randrange(1, 30)}0{self.rng.randrange(1, 6)}")
        return region, district, full

    def phone(self) -> str:
        while True:
            number = f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def order_number(self) -> str:
        while True:
            number = f"3{self.rng.randrange(10**15):015d}"
            if number not in self.orders:
                self.orders.add(number)
                return number

    # ----- the run --------------------------------------------------------------------------------
    def plan(self) -> list[tuple[dt.datetime, str, str | None]]:
        """(when, kind, the state it is to be left in or None) for every record but the reviews, in time order."""
        counts = {kind: round(self.total * share) for kind, share in SHARES.items()}
        counts["kb"] = max(counts["kb"], 4)  # every state at least once
        counts["review"] = max(counts["review"], 2)
        counts["ticket"] = self.total - sum(counts.values())
        # A third of remittance orders close a shop trade, whose remark file counts among the remark files.
        self.shop_trades = {i for i in range(counts["remittance"]) if self.rng.random() < 0.3}
        counts["remark"] = max(counts["remark"] - len(self.shop_trades), 0)
        if counts["ticket"] < 2 * len(FINALE["ticket"]) or counts["remittance"] < 2 * len(FINALE["remittance"]):
            raise SystemExit(f"--records {self.total} is too few for every kind of record in every state")
        self.review_count = counts.pop("review")
        finale = [(self.until - dt.timedelta(minutes=self.rng.uniform(12 * 60, 36 * 60)), kind, state)
                  for kind, states in FINALE.items() for state in states]
        for kind, states in FINALE.items():
            counts[kind] -= len(states)
        slots = [kind for kind, count in counts.items() for _ in range(count)]
        self.rng.shuffle(slots)
        # The knowledge base is written early on (agents search it first); customers come as they buy.
        slots.sort(key=lambda kind: kind != "kb")
        kb_slots = counts["kb"]
        times = self.creation_times(len(slots) - kb_slots)
        kb_times = sorted(self.start + dt.timedelta(days=self.rng.uniform(0, 120 if i < kb_slots // 2 + 2 else
                                                                           self.years * 360))
                          for i in range(kb_slots))
        planned = [(at, kind, None) for at, kind in zip([*kb_times, *times], slots, strict=True)]
        return sorted([*planned, *((at.replace(microsecond=0), kind, state) for at, kind, state in finale)],
                      key=lambda slot: slot[0])

    def run(self, progress: bool) -> dict[str, int]:
        plan = self.plan()
        remit_index = 0
        started = time.monotonic()
        with self.ledger.lock(exclusive=True, what="generate"):
            for done, (at, kind, state) in enumerate(plan, start=1):
                self.pace = 1.0 if state is None else FINALE_PACE
                if kind == "ticket":
                    self.ticket(at, TicketStatus(state) if state else None)
                elif kind == "remark":
                    self.remark_file(at)
                elif kind == "remittance":
                    self.remittance(at, remit_index in self.shop_trades, RemittanceStatus(state) if state else None)
                    remit_index += 1
                elif kind == "customer":
                    self.customer(at)
                else:
                    self.kb_entry(at)
                if progress and done % 2000 == 0:
                    rate = done / (time.monotonic() - started)
                    print(f"\r{done}/{len(plan)} records, {rate:.0f}/s", end="", file=sys.stderr, flush=True)
            self.reviews()
        self._retire_leaver()
        if progress:
            print(file=sys.stderr)
        return dict(self.counts)

    # ----- customers ------------------------------------------------------------------------------
    def customer(self, at: dt.datetime) -> None:
        rng = self.rng
        region, district, full = self.address()
        values: dict[str, Any] = {"name": self.person_name(), "phone": self.phone(), "region": region,
                                  "street": district, "address": full}
        if rng.random() < 0.15:
            values["organisation"] = rng.choice(corpus.ORGANISATIONS)
            values["email"] = f"buyer{rng.randrange(10**6)}@{rng.choice(('163.com', 'qq.com', 'example.cn'))}"
        if rng.random() < 0.4:
            values["wechat"] = f"wx_{rng.randrange(10**7)}"
        elif rng.random() < 0.3:
            values["qq"] = str(rng.randrange(10**8, 10**10))
        if rng.random() < 0.3:
            values["needs"] = self.fill(rng.choice(corpus.NEEDS))
        if rng.random() < 0.5:
            values["tags"] = sorted(set(rng.sample(corpus.TAGS, rng.randrange(1, 3))))
        actor = self.staff("agent", at)
        # The phone is drawn unique above; `same_phone_ok` spares `add` its scan of every customer for it.
        customer = customers.add(self.store, actor, at, values, same_phone_ok=True)
        self.counts["customer"] += 1
        if rng.random() < 0.15:
            try:
                when = self.later(at, 60 * 24 * 3, 60 * 24 * 300)
            except Beyond:
                pass
            else:
                _, _, moved = self.address()
                customer = customers.edit(self.store, self.staff("agent", when), when, customer.id,
                                          {"address": moved})
        self.customers.append(customer)

    def some_customer(self) -> Customer | None:
        """A customer on file (records are made in time order), one of the recent ones, or None."""
        if not self.customers or self.rng.random() < 0.45:
            return None
        return self.rng.choice(self.customers[-400:])

    # ----- knowledge base -------------------------------------------------------------------------
    def kb_entry(self, at: dt.datetime) -> None:
        rng = self.rng
        question, answer, steps, tags = rng.choice(corpus.KB)
        product = rng.choice(corpus.PRODUCTS)
        values: dict[str, Any] = {
            "question": question.format(product=product, promo=rng.choice(corpus.PROMOS)),
            "answer": answer, "steps": list(steps), "tags": list(tags),
        }
        if rng.random() < 0.4:
            values["cases"] = [f"{at:%Y-%m} {rng.choice(corpus.PLACES)[0]}买家:"
                               + self.fill(rng.choice(corpus.SOLUTIONS["other"]))]
        author = self.staff(rng.choice(("agent", "agent", "tech")), at)
        entry = kb.add(self.store, author, at, values)
        self.counts["kb"] += 1
        old: KbEntry = entry
        approved: dt.datetime | None = None
        retired: dt.datetime | None = None
        fate = len(self.kb_entries) % 10  # every state, in fixed shares
        try:
            if fate == 0:
                raise Beyond  # a draft
            when = self.later(at, 10, 600)
            entry = kb.submit(entry, author, when)
            if fate == 1:
                raise Beyond  # waiting for review
            when = self.later(when, 30, 2000)
            entry = kb.approve(entry, self.staff("supervisor", when), when)
            approved = when
            if fate == 2:
                when = self.later(when, 60 * 24 * 30, 60 * 24 * 200)
                entry = kb.retire(entry, self.staff("supervisor", when), when, "活动已结束,规则不再适用")
                retired = when
        except Beyond:
            pass
        if entry is not old:
            self.store.replace(KB, self.store.path_for(KB, entry.id), old, entry)
        self.kb_entries.append((entry, approved, retired))

    def citable(self, at: dt.datetime) -> list[str]:
        live = [e.id for e, approved, retired in self.kb_entries
                if approved is not None and approved <= at and (retired is None or retired > at)]
        return [self.rng.choice(live)] if live and self.rng.random() < 0.3 else []

    # ----- tickets --------------------------------------------------------------------------------
    def ticket(self, at: dt.datetime, target: TicketStatus | None) -> None:
        """A ticket from its creation to `--until`, or to `target` (a state to leave it in)."""
        rng = self.rng
        origin = self._origin(at) if rng.random() < 0.03 and target is None else None
        kind = "requirement" if origin else rng.choices(
            ("consultation", "complaint", "requirement", "business", "maintenance", "suggestion"),
            weights=(40, 25, 10, 8, 9, 8))[0]
        if target is TicketStatus.TRANSFERRED:
            kind = "complaint"  # judged valid: handed to a department
        subject, description = rng.choice(corpus.TICKETS[kind])
        given = {"product": rng.choice(corpus.PRODUCTS)}
        fields: dict[str, Any] = {
            "kind": kind, "channel": "outbound" if origin else rng.choices(
                ("phone", "online", "email", "visit", "field"), weights=(35, 50, 8, 4, 3))[0],
            "subject": self.fill(subject, **given), "description": self.fill(description, **given),
            "urgency": rng.choices(("low", "normal", "high", "urgent"), weights=(10, 65, 18, 7))[0],
        }
        customer = self.some_customer()
        if customer is not None:
            fields.update(customer=customer.id, region=customer.region)
        elif kind != "maintenance":
            fields.update(caller=self.person_name(), phone=self.phone(), region=rng.choice(corpus.PLACES)[0])
        if kind == "complaint":
            fields.update(cause=rng.choice(("快递员放门卫代收未告知", "质检遗漏", "仓库配货错误", "客服排班不足")),
                          wanted=rng.choice(("找回包裹或补发", "换一件新的", "尽快退款", "给个说法")))
            if rng.random() < 0.5:
                fields.update(occurred=f"{at:%Y-%m-%d} 签收", who=fields.get("caller") or "买家",
                              where=f"{fields.get('region', '杭州')}", what="包裹未收到",
                              why="快递放在门卫未通知", how="联系网点找回并送货上门")
        creator = self.staff("tech", at) if kind == "maintenance" and rng.random() < 0.3 else self.staff(
            rng.choice(("agent",) * 6 + ("supervisor",)), at)
        taken = creator.role.value == "agent" and rng.random() < 0.7 and target is not TicketStatus.NEW
        when = Moment(at)
        if origin is not None:
            # A follow-up is linked both ways by `open_ticket`, which also writes the origin.
            ticket = tickets.open_ticket(self.store, creator, when, fields, follows=origin, taken=taken)
            filed: Ticket | None = ticket
        else:
            ticket = tickets.new_ticket(self.store.allocate_id(TICKET, at), creator, when, fields)
            if taken:
                ticket = tickets.take(ticket, creator, when)
            filed = None
        ticket = self._story(ticket, at, target)
        path = self.store.path_for(TICKET, ticket.id)
        if filed is None:
            if not self.store.file_new(TICKET, ticket):
                raise CsctlError(f"{ticket.id}: filed twice")
        elif ticket is not filed:
            self.store.replace(TICKET, path, filed, ticket)
        self.counts["ticket"] += 1
        if ticket.kind.value == "complaint" and ticket.status is TicketStatus.CLOSED:
            self.closed_complaints.append((ticket.events[-1].at, ticket.id))

    def _origin(self, at: dt.datetime) -> str | None:
        """A closed complaint finished before `at`, to follow up on (each at most once)."""
        for index in range(len(self.closed_complaints) - 1, max(len(self.closed_complaints) - 50, -1), -1):
            finished, origin = self.closed_complaints[index]
            if finished < at:
                del self.closed_complaints[index]
                return origin
        return None

    def _story(self, ticket: Ticket, at: dt.datetime, target: TicketStatus | None) -> Ticket:
        """The ticket's life from its creation, up to `--until` or `target`: 5–15 events when it gets to the end."""
        rng = self.rng
        owner = self.people[ticket.assignee] if ticket.assignee else None
        complaint = ticket.kind.value == "complaint"
        notes = corpus.NOTES["complaint" if complaint else "other"]
        solutions = corpus.SOLUTIONS["complaint" if complaint else "other"]
        # A few are forgotten on the way (the overdue ones alerts exist for).
        stops_after = rng.randrange(1, 6) if rng.random() < 0.001 else 99
        steps = 0

        def step(low: float, high: float) -> Moment:
            """The moment of the next move; `Beyond` when the ticket is to stay where it is."""
            nonlocal steps, at
            steps += 1
            if steps > stops_after or ticket.status is target:
                raise Beyond
            at = self.later(at, low, high)
            return Moment(at)

        def note(t: Ticket, by: AgentEntry) -> Ticket:
            return tickets.note(t, by, step(5, 240), self.fill(rng.choice(notes)))

        try:
            if owner is None:
                supervisor = self.staff("supervisor", at)
                owner = self.staff("tech", at) if ticket.kind.value == "maintenance" else self.staff("agent", at)
                ticket = tickets.assign(ticket, supervisor, step(3, 90), self.config, owner.id)
            if complaint:
                if rng.random() < 0.12 and target is None:
                    ticket = note(ticket, owner)
                    when = step(5, 120)
                    ticket = tickets.judge(ticket, owner, when, valid=False, department=None,
                                           explanation=rng.choice(corpus.INVALID_EXPLANATIONS))
                    return tickets.callback(ticket, self.staff("agent", when.at), step(60, 1440), self.config,
                                            outcome=CallbackOutcome.ACCEPTED, satisfaction=rng.randrange(3, 6),
                                            note_text=rng.choice(corpus.CALLBACK_NOTES), retry_by=None)
                ticket = tickets.judge(ticket, owner, step(5, 60), valid=True,
                                       department=rng.choice(corpus.DEPARTMENTS), explanation=None)
            if ticket.kind.value == "maintenance" and owner.role.value != "tech" and rng.random() < 0.6:
                tech = self.people["zhao"]
                ticket = tickets.transfer(ticket, owner, step(5, 60), self.config, tech.id, corpus.TRANSFER_TECH)
                owner = tech
            for _ in range(rng.randrange(1, 4 if complaint else 5)):
                ticket = note(ticket, owner)
            if rng.random() < 0.15 or target is TicketStatus.WAITING:
                ticket = tickets.wait(ticket, owner, step(10, 300), rng.choice(corpus.WAIT_REASONS))
                ticket = tickets.resume(ticket, owner, step(60, 2880), "买家已回复,继续处理")
                ticket = note(ticket, owner)
            ticket = self._resolve(ticket, owner, step(30, 1800 if rng.random() < 0.9 else 6000), solutions)
            if complaint:
                ticket = self._callbacks(ticket, owner, step, solutions)
            else:
                ticket = tickets.close(ticket, owner, step(5, 600))
            if rng.random() < 0.03 and len(ticket.events) <= 11:  # at most 15 events in all
                ticket = tickets.reopen(ticket, owner, step(600, 4000), rng.choice(corpus.REOPEN_REASONS))
                ticket = note(ticket, owner)
                ticket = self._resolve(ticket, owner, step(60, 1440), solutions)
                ticket = tickets.close(ticket, owner, step(5, 300))
        except Beyond:
            pass
        return ticket

    def _resolve(self, ticket: Ticket, owner: AgentEntry, when: Moment, solutions: tuple[str, ...]) -> Ticket:
        solution = self.fill(self.rng.choice(solutions))
        return tickets.resolve(ticket, owner, when, solution, self.citable(when.at))

    def _callbacks(self, ticket: Ticket, owner: AgentEntry, step: Callable[[float, float], Moment],
                   solutions: tuple[str, ...]) -> Ticket:
        """A complaint is called back (回访): reached or not, satisfied or not, then closed."""
        rng = self.rng
        caller = self.staff("agent", ticket.events[-1].at)
        fate = rng.random()
        if fate < 0.12:
            ticket = tickets.callback(ticket, caller, step(60, 1440), self.config, outcome=CallbackOutcome.UNREACHABLE,
                                      satisfaction=None, note_text="电话无人接听", retry_by=None)
        elif fate < 0.22:
            ticket = tickets.callback(ticket, caller, step(60, 1440), self.config, outcome=CallbackOutcome.REJECTED,
                                      satisfaction=rng.randrange(1, 3), note_text="买家称仍未解决", retry_by=None)
            ticket = tickets.note(ticket, owner, step(10, 240), self.fill(rng.choice(corpus.NOTES["complaint"])))
            ticket = self._resolve(ticket, owner, step(60, 1440), solutions)
        ticket = tickets.callback(ticket, caller, step(60, 1440), self.config, outcome=CallbackOutcome.ACCEPTED,
                                  satisfaction=rng.choices((5, 4, 3), weights=(60, 30, 10))[0],
                                  note_text=rng.choice(corpus.CALLBACK_NOTES), retry_by=None)
        return tickets.close(ticket, owner, step(5, 300))

    # ----- remittances ----------------------------------------------------------------------------
    def remittance(self, at: dt.datetime, shop_trade: bool, target: RemittanceStatus | None) -> None:
        """An order from its registration to `--until`, or to `target` (a state to leave it in)."""
        rng = self.rng
        agent = self.staff("agent", at)
        twin = self._twin(at) if rng.random() < 0.03 and target is None else None
        if twin is not None:
            order = remittances.Order(buyer=twin.buyer, items=list(twin.items), address=twin.address,
                                      amount=twin.amount, customer=twin.customer,
                                      shop_trade=self.order_number() if shop_trade else None)
        else:
            customer = self.some_customer()
            items = [Item(code=self.item_code(), size=rng.choice(corpus.SIZES),
                          qty=rng.choices((1, 2, 3, 20), weights=(70, 20, 8, 2))[0])
                     for _ in range(rng.choices((1, 2, 3), weights=(70, 22, 8))[0])]
            amount = sum((Decimal(rng.randrange(99, 899)) * item.qty for item in items), Decimal("0.00"))
            buyer = f"tb_{customer.name if customer else self.person_name()}"
            address = customer.address if customer and customer.address else self.address()[2]
            order = remittances.Order(buyer=buyer, items=items, address=f"{address} {buyer[3:]} {self.phone()}",
                                      amount=amount.quantize(Decimal("0.01")),
                                      shop_trade=self.order_number() if shop_trade else None,
                                      customer=customer.id if customer else None)
        remit = remittances.new_order(self.store, agent, Moment(at), order)
        self.counts["remittance"] += 1
        if order.shop_trade:
            self.counts["remark"] += 1  # the remark closing the shop trade (remit_order)
        old = remit
        remit = self._remit_story(remit, agent, at, twin, target)
        if remit is not old:
            self.store.replace(REMITTANCE, self.store.path_for(REMITTANCE, remit.id), old, remit)
        self.remits.append(remit)

    def _twin(self, at: dt.datetime) -> Remittance | None:
        """An order taken a little earlier, which the buyer now orders again."""
        recent = [r for r in self.remits[-20:] if at - dt.timedelta(days=2) < r.created < at]
        return self.rng.choice(recent) if recent else None

    def _remit_story(self, remit: Remittance, agent: AgentEntry, at: dt.datetime, twin: Remittance | None,
                     target: RemittanceStatus | None) -> Remittance:
        """The order's life after its registration, up to `--until` or `target`."""
        rng = self.rng
        when = at

        def step(low: float, high: float) -> Moment:
            nonlocal when
            if remit.status is target:
                raise Beyond
            when = self.later(when, low, high)
            return Moment(when)

        try:
            if twin is not None:
                if rng.random() < 0.5:
                    return remittances.cancel(remit, agent, step(10, 300), "买家重复下单,与前一单相同,已取消")
                moment = step(10, 300)
                remit = remittances.not_duplicate(self.store, remit, self.staff("supervisor", moment.at), moment,
                                                  twin.id, "买家为家人再订一份,确认不是重复")
            if rng.random() < 0.07 and target is None:
                return remittances.cancel(remit, agent, step(60, 4000), rng.choice(("买家改为在店铺直接拍下付款",
                                                                                    "买家不要了")))
            moment = step(30, 3 * 1440)
            # A short payment, topped up or accepted at verification (not in the last weeks, where it would
            # still be waiting: `check` warns of a difference nobody accepted).
            short = rng.random() < 0.05 and when < self.until - dt.timedelta(days=20)
            first = remit.amount - Decimal(rng.randrange(5, 21)) if short else remit.amount
            bank = rng.choice(corpus.BANKS)
            remit = remittances.paid(remit, agent, moment, date=when.date(), method=rng.choice(corpus.PAY_METHODS),
                                     bank=bank, value=first, note="买家汇款少汇手续费,已标记待核实" if short else None)
            accept = None
            if short and rng.random() < 0.5:
                moment = step(60, 1440)
                remit = remittances.paid(remit, agent, moment, date=when.date(), method="手机银行", bank=bank,
                                         value=remit.amount - first, note="买家补汇差额")
            elif short:
                accept = "差额为银行手续费,由店铺承担"
            if rng.random() < 0.02 and not short and target is None:
                return remittances.cancel(remit, agent, step(30, 600), "买家要求退款,款项原路退回")
            # Verified within the three days, but now and then late (the stale notices alerts are for).
            moment = step(30, 2 * 1440 if rng.random() < 0.95 else 6 * 1440)
            reference = f"{rng.choice(corpus.BANK_SHORT)}流水 {when:%Y%m%d}-{rng.randrange(10**6):06d}"
            remit = remittances.verify(remit, self.staff("supervisor", when), moment, reference=reference,
                                       accept_difference=accept)
            moment = step(30, 1440)
            waybill = f"{rng.choice(('SF', 'ZT', 'YT', 'JD'))}{rng.randrange(10**12, 10**13)}"
            remit = remittances.ship(remit, self.staff(rng.choice(("assistant", "agent")), when), moment, waybill)
        except Beyond:
            pass
        return remit

    def reviews(self) -> None:
        """The supervisors' sign-off of each day's register, the morning after, from `reviews_from` on.

        `remittances.review` re-reads every remittance of the ledger for each day;
        here the same rows and fingerprint come from `register_rows` and
        `fingerprint` over the remittances that moved that day.
        """
        by_day: dict[dt.date, list[Remittance]] = defaultdict(list)
        for remit in self.remits:
            for day in {e.at.astimezone(self.tz).date() for e in remit.events}:
                by_day[day].append(remit)
        days = [d for d in sorted(by_day) if dt.datetime.combine(d + dt.timedelta(days=1), dt.time(10), self.tz)
                <= self.until]
        reviewed = days[-self.review_count:]
        if len(reviewed) < len(days):
            first = reviewed[0]

            def reviews_from(config: LedgerConfig, document: Any) -> None:
                document["remittances"]["reviews_from"] = first

            edit_config(self.ledger, reviews_from)
        for day in reviewed:
            at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(9, self.rng.randrange(60)), self.tz)
            supervisor = self.staff("supervisor", at)
            rows = remittances.register_rows(by_day[day], day, self.config)
            digest = remittances.fingerprint(rows)
            event = Event(at=at, by=supervisor.id, action="reviewed", fingerprint=digest, count=len(rows))
            self.store.create_named(REVIEW, RegisterReview.model_validate({
                "id": day.isoformat(), "created": at, "fingerprint": digest, "reviewed_by": supervisor.id,
                "entries": [{"id": r.id, "digest": r.digest} for r in rows],
                "events": [event.model_dump(exclude_none=True)]}))
            self.counts["review"] += 1

    # ----- remark files ---------------------------------------------------------------------------
    def remark_file(self, at: dt.datetime) -> None:
        """One shop order's remarks, in the sequences the rule book describes."""
        rng = self.rng
        buyer = f"tb_{self.person_name()}{rng.randrange(100, 999)}"
        buyer, script = self._remark_script(buyer, at)
        remarks: list[Remark] = []
        events: list[Event] = []
        for shape_name, writer_role, values, gap in script:
            if remarks:
                try:
                    at = self.later(at, *gap)
                except Beyond:
                    break
            writer = self.staff(writer_role, at)
            shape = self.shapes.find(shape_name)
            text = self.shapes.render(shape, values, writer.name, remark_date(self.config, at))
            remarks.append(Remark(at=at, by=writer.id, kind=shape.name, text=text))
            events.append(Event(at=at, by=writer.id, action="remarked", kind=shape.name))
        named = any(r.kind in DEDUCTIONS for r in remarks) or rng.random() < 0.5
        record = RemarkFile(id=self.order_number(), created=remarks[0].at, buyer=buyer if named else None,
                            remarks=remarks, events=events)
        self.store.create_named(REMARK, record)
        self.counts["remark"] += 1

    def _remark_script(self, buyer: str, at: dt.datetime) -> tuple[str, list[Line]]:
        """The buyer and the remarks of one order: (shape, writer's role, values, minutes after the one before)."""
        rng = self.rng
        assistant = rng.choice(("小张", "小马"))
        soon: tuple[float, float] = (5, 240)
        later_on: tuple[float, float] = (60, 1440)
        day: tuple[float, float] = (600, 2000)
        code, refund = self.item_code(), Decimal(rng.randrange(5, 60)).quantize(Decimal("0.01"))
        pick = rng.random()
        if pick < 0.12:
            # A balance deduction continues the buyer's chain (kept here per buyer: `add_remark` would read every
            # remark file of the ledger to check it), then is registered (余额已登记).
            buyer, script = self._deduction(at)
            if rng.random() < 0.2:  # the same deduction noted again for the register keeper (repeats, not chained)
                name, _, deducted, _ = script[0]
                repeat = "balance_clear_notified" if name == "balance_clear" else "balance_deduct_notified"
                script.append((repeat, "agent", deducted, soon))
            if rng.random() < 0.9:
                script.append(("balance_registered", "assistant", {}, later_on))
            return buyer, script
        if pick < 0.27:
            via = rng.choice(("支付宝", "银行"))
            account = (f"{rng.choice(('xt', 'ly', 'mm', 'qq'))}.{rng.randrange(10**5)}@163.com" if via == "支付宝" else
                       f"{rng.choice(corpus.BANK_SHORT)}6222 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)} "
                       f"{rng.randrange(100, 999)}")
            values: dict[str, object] = {"item": code, "kind": rng.choice(("折扣", "邮费")), "amount": refund,
                                         "via": via, "account": account}
            shape = "refund_after_trade_no_name"
            if rng.random() < 0.6:
                shape, values = "refund_after_trade", {**values, "holder": self.person_name()}
            refund_lines: list[Line] = [(shape, "agent", values, soon)]
            if rng.random() < 0.93:
                refund_lines.append(("refund_registered", "assistant", {}, (30, 20 * 60)))
            return buyer, refund_lines
        if pick < 0.32:
            return buyer, [("refund_during_trade", "agent", {"item": code, "kind": rng.choice(("折扣", "邮费")),
                                                      "amount": refund}, soon), ("printed", "assistant", {}, day)]
        if pick < 0.50:
            return buyer, [("printed", "assistant", {}, soon)]
        if pick < 0.58:
            prices: tuple[tuple[str, Mapping[str, object]], ...] = (
                ("price_plain", {}), ("price_review_bonus", {"amount": refund}),
                ("price_postage_overcharge", {"item": code, "amount": refund}),
                ("price_discount_overcharge", {"item": code, "amount": refund}),
                ("price_special", {"reason": "老顾客优惠", "amount": refund}))
            price = rng.choice(prices)
            return buyer, [(price[0], "agent", price[1], soon), ("printed", "assistant", {}, day)]
        if pick < 0.65:
            unprinted: tuple[tuple[str, Mapping[str, object]], ...] = (
                ("address_change_unprinted", {"address": self.address()[2]}),
                ("receiver_change_unprinted", {"receiver": self.person_name()}),
                ("phone_change_unprinted", {"phone": self.phone()}))
            change = rng.choice(unprinted)
            return buyer, [(change[0], "agent", change[1], soon), ("printed", "assistant", {}, day)]
        if pick < 0.73:
            fixed = rng.random() < 0.8
            return buyer, [("printed", "assistant", {}, soon),
                    ("address_change_printed", "agent", {"address": self.address()[2], "assistant": assistant},
                     later_on),
                    ("label_fixed", "assistant", {}, soon) if fixed else
                    ("label_not_found_return", "agent", {"reason": "快递已发"}, soon)]
        if pick < 0.80:
            cancels: tuple[list[Line], ...] = (
                [("cancel_unpaid", "agent", {"stocker": assistant}, soon)],
                [("cancel_paid", "agent", {"stocker": assistant}, soon)],
                [("printed", "assistant", {}, soon), ("cancel_printed", "agent", {"assistant": assistant}, later_on),
                 ("cancel_withdrawn", "assistant", {"stocker": assistant}, soon)],
            )
            return buyer, rng.choice(cancels)
        if pick < 0.87:
            new_code = self.item_code()
            changes: tuple[list[Line], ...] = (
                [("change_paid", "agent", {"old": code, "new": new_code}, soon), ("printed", "assistant", {}, day)],
                [("change_price_diff", "agent", {}, soon)],
                [("printed", "assistant", {}, soon),
                 ("change_printed", "agent", {"old": code, "new": new_code, "assistant": assistant}, later_on)],
            )
            return buyer, rng.choice(changes)
        if pick < 0.94:
            via = rng.choice(("旺旺", "电话"))
            return buyer, [(rng.choice(("stock_unpaid", "stock_paid", "stock_printed")), "agent", {"via": via}, soon)]
        return buyer, [("copied", "agent", {}, soon), ("printed", "assistant", {}, day)]

    def _deduction(self, at: dt.datetime) -> tuple[str, list[Line]]:
        """The next deduction on a buyer's balance (a buyer with one, or a new one): the chain must chain.

        Once a balance is used up the buyer's chain ends: a later deduction would
        have to start from zero.
        """
        open_chains = [b for b, (left, last) in self.balances.items() if left > 0 and last < at]
        if open_chains and self.rng.random() < 0.7:
            buyer = self.rng.choice(open_chains)
            left = self.balances[buyer][0]
        else:
            buyer = f"tb_{self.person_name()}{self.rng.randrange(1000, 9999)}"
            left = Decimal(self.rng.randrange(50, 400)).quantize(Decimal("0.01"))
        amount = min(left, Decimal(self.rng.randrange(10, 120)).quantize(Decimal("0.01")))
        self.balances[buyer] = (left - amount, at)
        if amount == left:
            return buyer, [("balance_clear", "agent", {"amount": amount}, (0, 0))]
        return buyer, [("balance_deduct", "agent", {"amount": amount, "balance": left - amount}, (0, 0))]


def commit_all(root: Path, until: dt.datetime) -> None:
    """Everything in one commit, dated at the end of the ledger (a fixed date: the same run, the same commit)."""
    stamp = until.isoformat()
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "Generated benchmark ledger"]):
        subprocess.run(["git", "-C", str(root), *args], env=env, check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, required=True, help="How many record files to write.")
    parser.add_argument("--out", type=Path, required=True, help="A folder that does not hold a ledger yet.")
    parser.add_argument("--seed", type=int, default=1, help="Same seed, same files (default 1).")
    parser.add_argument("--until", type=dt.date.fromisoformat, default=dt.date(2026, 11, 20),
                        help="The ledger's last day (default 2026-11-20).")
    parser.add_argument("--years", type=int, default=DEFAULT_YEARS,
                        help=f"How many years before it the ledger starts (default {DEFAULT_YEARS}): a third of "
                             "the records over one year is the same desk, as busy, with a third of its history.")
    parser.add_argument("--no-fsync", action="store_true", help="Skip fsync in this process (a benchmark ledger).")
    parser.add_argument("--no-git", action="store_true", help="Do not make the folder a git repository.")
    parser.add_argument("--quiet", action="store_true", help="No progress on stderr.")
    options = parser.parse_args(argv)
    if options.no_fsync:
        os.fsync = lambda fd: None
    started = time.monotonic()
    try:
        if options.years < 1:
            raise SystemExit("generate: --years must be 1 or more")
        desk = Desk(options.out, options.records, options.seed, options.until, options.years)
        counts = desk.run(progress=not options.quiet and sys.stderr.isatty())
    except CsctlError as err:
        raise SystemExit(f"generate: {err}") from None
    if not options.no_git:
        commit_all(options.out, desk.until)
    summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("ticket", "remark", "remittance", "customer", "kb",
                                                             "review"))
    print(f"{sum(counts.values())} records ({summary}) in {options.out}, {time.monotonic() - started:.1f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
