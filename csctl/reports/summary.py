"""A report: the figures of a period (and of the period before), ready for every output format.

`Report.data()` is the JSON form scripts read (documented in the README, keys
stable); `Report.sections()` are the tables people read, in the user's
language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from csctl.domain import indexing
from csctl.domain import remarks as remark_flow
from csctl.domain import remittances as remit_flow
from csctl.domain.briefs import TicketBrief, remark_items, ticket_briefs
from csctl.domain.remark_shapes import load_shapes
from csctl.domain.tickets import cited_entries
from csctl.errors import CsctlError, RecordError
from csctl.i18n import enum_label, msg
from csctl.models.config import LedgerConfig
from csctl.models.kinds import KB, REMARK, REMITTANCE, TICKET, Kind
from csctl.models.records import Channel, KbEntry, Remark, Remittance, TicketKind
from csctl.reports.figures import (
    ZERO,
    AgentRow,
    RemittanceFigures,
    Standings,
    TicketFigures,
    agent_rows,
    deadline_rule,
    remittance_figures,
    ticket_figures,
)
from csctl.reports.periods import Period
from csctl.storage import ids
from csctl.storage.index import Index
from csctl.storage.store import Store

SPARKS = "▁▂▃▄▅▆▇█"
# The kinds whose files the index selects for a report, and the knowledge entries whose questions it shows.
REPORTED_KINDS = (TICKET, REMITTANCE, REMARK, KB)


@dataclass
class Sources:
    """Every record a report reads, read once."""

    tickets: list[TicketBrief]
    remittances: list[Remittance]
    remarks: list[Remark]
    refunds: list[remark_flow.Refund]
    deductions: list[remark_flow.Deduction]
    kb_questions: dict[str, str]
    broken: dict[str, list[RecordError]]  # kind name -> files left out


def read_sources(store: Store, index: Index | None = None, periods: Iterable[Period] = ()) -> Sources:
    """The records the report of `periods` reads: every one, or with the index only those the periods'
    figures may count (`csctl.domain.indexing.active`: the same answer, fewer files), and of the tickets
    and remark files the briefs the index keeps (`csctl.domain.briefs`)."""
    tz = store.ledger.config.tz
    bounds = [period.bounds(tz) for period in periods]

    def chosen(kind: Kind) -> list[Path] | None:
        return None if index is None else index.paths(*indexing.active(kind, bounds))

    with store.ledger.lock(exclusive=False, what="report"):
        taken, broken = ticket_briefs(store, index, *indexing.active(TICKET, bounds))
        tickets = list(taken)
        remits, broken_remits = remit_flow.readable_remittances(store, chosen(REMITTANCE))
        remarks, broken_remarks = remark_items(store, load_shapes(store.ledger), index,
                                               *indexing.active(REMARK, bounds))
        # The questions of the knowledge entries a resolution cites: those files, not the whole base.
        cited = {kb for t in tickets for e in t.events for kb in cited_entries(e)}
        files = sorted({path for kb in cited if ids.ID_PATTERN.fullmatch(kb)
                        for path in store.files_named(KB, kb)})
        if index is not None:
            questions = indexing.kb_questions(index, [path.relative_to(store.ledger.records).as_posix()
                                                      for path in files])
        else:
            questions = {}
            for path in files:
                try:
                    entry = store.load(KB, path)
                except CsctlError:
                    continue  # `check` and `alerts` report it; a report only loses a question's text
                assert isinstance(entry, KbEntry)
                questions[entry.id] = entry.question
    return Sources(tickets, remits, [item.remark for item in remarks], remark_flow.refunds_from(remarks),
                   remark_flow.deductions_from(remarks), questions,
                   {"ticket": broken, "remittance": broken_remits, "remark": broken_remarks})


@dataclass(frozen=True)
class MoneyCount:
    count: int
    amount: Decimal


def _money_count(items: list[Any]) -> MoneyCount:
    return MoneyCount(len(items), sum((i.amount for i in items), ZERO))


@dataclass
class Summary:
    period: Period
    tickets: TicketFigures
    remittances: RemittanceFigures
    refunds_written: MoneyCount
    refunds_registered: MoneyCount
    refunds_pending: MoneyCount
    deductions_written: MoneyCount
    deductions_registered: MoneyCount
    deductions_pending: MoneyCount

    def overview(self) -> dict[str, Any]:
        """The headline figures, in the order a supervisor reads them."""
        t, r = self.tickets, self.remittances
        return {
            "tickets_opened": t.total.opened,
            "tickets_resolved": t.total.resolved,
            "tickets_closed": t.total.closed,
            "complaints_valid": t.complaints.get("valid", 0),
            "complaints_invalid": t.complaints.get("invalid", 0),
            "on_time_rate": t.on_time_rate,
            "on_time": t.on_time,
            "measured": t.measured,
            "late_tickets": len(t.late),
            "callbacks": t.callbacks,
            "callbacks_reached": t.callbacks_reached,
            "average_satisfaction": t.average_satisfaction,
            "kb_uses": sum(t.kb_uses.values()),
            "remittances_created": r.created,
            "remittances_created_amount": r.created_amount,
            "remittances_stale": len(r.stale),
            "refunds_written": self.refunds_written.count,
            "refunds_written_amount": self.refunds_written.amount,
            "refunds_registered": self.refunds_registered.count,
            "refunds_pending": self.refunds_pending.count,
            "refunds_pending_amount": self.refunds_pending.amount,
            "deductions_written": self.deductions_written.count,
            "deductions_written_amount": self.deductions_written.amount,
            "deductions_registered": self.deductions_registered.count,
            "deductions_pending": self.deductions_pending.count,
        }


def summarize(sources: Sources, period: Period, config: LedgerConfig, standings: Standings | None = None) -> Summary:
    start, end = period.bounds(config.tz)

    def within(moment: dt.datetime | None) -> bool:
        return moment is not None and start <= moment < end

    refunds = [r for r in sources.refunds if r.to_register]
    deductions = [d for d in sources.deductions if d.repeats is None]
    return Summary(
        period=period,
        tickets=ticket_figures(sources.tickets, period, config, standings),
        remittances=remittance_figures(sources.remittances, period, config),
        refunds_written=_money_count([r for r in sources.refunds if within(r.at)]),
        refunds_registered=_money_count([r for r in refunds if within(r.registered_at)]),
        refunds_pending=_money_count([r for r in refunds if r.at < end and not _registered_by(r.registered_at, end)]),
        deductions_written=_money_count([d for d in deductions if within(d.at)]),
        deductions_registered=_money_count([d for d in deductions if within(d.registered_at)]),
        deductions_pending=_money_count([d for d in deductions
                                         if d.at < end and not _registered_by(d.registered_at, end)]),
    )


def _registered_by(moment: dt.datetime | None, end: dt.datetime) -> bool:
    return moment is not None and moment < end


@dataclass
class Report:
    name: str  # daily, weekly, monthly, agents
    period: Period
    summary: Summary | None  # None for the agents table alone
    previous: Summary | None  # weekly and monthly: the period before
    agents: list[AgentRow] | None  # monthly and agents
    config: LedgerConfig
    kb_questions: dict[str, str]

    # ----- JSON ---------------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"report": self.name, "period": _period(self.period)}
        if self.summary is not None:
            out["overview"] = _rates_as_text(self.summary.overview())
            out["deadline_rule"] = deadline_rule(self.config)
            out["tickets"] = _ticket_data(self.summary.tickets)
            out["remittances"] = _remittance_data(self.summary.remittances)
            out["opened_per_day"] = {d.isoformat(): self.summary.tickets.opened_per_day.get(d, 0)
                                     for d in self.period.days()}
        if self.previous is not None:
            out["previous"] = {"period": _period(self.previous.period),
                               "overview": _rates_as_text(self.previous.overview())}
        if self.agents is not None:
            out["agents"] = [_rates_as_text(_agent_data(row)) for row in self.agents]
        return out

    # ----- tables -------------------------------------------------------------------------

    def sections(self) -> list[Section]:
        out: list[Section] = []
        if self.summary is not None:
            out.append(self._overview())
            t = self.summary.tickets
            if self.period.unit != "day":
                out.append(self._volume())
            for key, table in (("kind", t.by_kind), ("channel", t.by_channel), ("region", t.by_region),
                               ("agent", t.by_agent)):
                out.append(_flow_section(key, table))
            out.append(Section("late", "r.section.late",
                               [("id", "h.id"), ("kind", "h.kind"), ("assignee", "h.assignee"), ("due", "h.due"),
                                ("resolved_at", "r.resolved_at"), ("subject", "h.subject")],
                               [vars(late) for late in sorted(t.late, key=lambda x: (x.due, x.id))],
                               note=_rule_text(self.config)))
            out.append(_remittance_section(self.summary.remittances))
            out.append(Section("kb", "r.section.kb", [("id", "h.id"), ("uses", "h.uses"), ("question", "h.question")],
                               [{"id": k, "uses": n, "question": self.kb_questions.get(k, "")}
                                for k, n in sorted(t.kb_uses.items(), key=lambda kv: (-kv[1], kv[0]))]))
        if self.agents is not None:
            out.append(_agent_section(self.agents))
        return out

    def _overview(self) -> Section:
        assert self.summary is not None
        now = self.summary.overview()
        before = self.previous.overview() if self.previous is not None else None
        rows = []
        for key in OVERVIEW_SHOWN:
            row: dict[str, Any] = {"measure": msg(f"r.{key}"), "value": _shown(key, now[key], now)}
            if before is not None:
                row["previous"] = _shown(key, before[key], before)
                row["change"] = _change(now[key], before[key])
            rows.append(row)
        columns = [("measure", "r.measure"), ("value", "r.value")]
        if before is not None:
            columns += [("previous", "r.previous"), ("change", "r.change")]
        return Section("overview", "r.section.overview", columns, rows)

    def _volume(self) -> Section:
        assert self.summary is not None
        per_day = self.summary.tickets.opened_per_day
        counts = [per_day.get(d, 0) for d in self.period.days()]
        top = max(counts, default=0)
        rows = [{"date": d.isoformat(), "opened": n, "bar": "█" * round(20 * n / top) if top else ""}
                for d, n in zip(self.period.days(), counts, strict=True)]
        return Section("volume", "r.section.volume", [("date", "r.date"), ("opened", "r.tickets_opened"),
                                                      ("bar", "r.bar")], rows, note=sparkline(counts))


@dataclass
class Section:
    key: str
    title: str  # an i18n message key
    columns: list[tuple[str, str]]  # (row key, header message key)
    rows: list[dict[str, Any]]
    note: str = ""  # a line printed under the table (the deadline rule, a sparkline)


OVERVIEW_SHOWN = (
    "tickets_opened", "tickets_resolved", "tickets_closed", "complaints_valid", "complaints_invalid",
    "on_time_rate", "late_tickets", "callbacks", "callbacks_reached", "average_satisfaction", "kb_uses",
    "remittances_created", "remittances_created_amount", "remittances_stale", "refunds_written",
    "refunds_written_amount", "refunds_registered", "refunds_pending", "refunds_pending_amount",
    "deductions_written", "deductions_written_amount", "deductions_registered", "deductions_pending",
)


def sparkline(counts: list[int]) -> str:
    """One character per day, ▁ to █ scaled to the busiest day."""
    top = max(counts, default=0)
    return "".join(SPARKS[min(len(SPARKS) - 1, n * (len(SPARKS) - 1) // top)] if top else SPARKS[0] for n in counts)


def percent(rate: Decimal | None) -> str:
    return "-" if rate is None else f"{(rate * 100).quantize(Decimal('0.1'))}%"


def _shown(key: str, value: Any, row: dict[str, Any]) -> Any:
    if key == "on_time_rate":
        return f"{percent(value)} ({row['on_time']}/{row['measured']})"
    if value is None:
        return "-"
    return value


def _change(now: Any, before: Any) -> str:
    if not isinstance(now, (int, Decimal)) or not isinstance(before, (int, Decimal)) or isinstance(now, bool):
        return ""
    if isinstance(now, Decimal) and now <= 1 and before <= 1 and now.as_tuple().exponent == -4:
        points = (now - before) * 100
        return f"{points:+.1f} pt"
    difference = now - before
    return f"{difference:+}" if difference else "0"


def _rule_text(config: LedgerConfig) -> str:
    rule = deadline_rule(config)
    count = msg(f"r.count.{rule.pop('count')}")
    limits = ", ".join(f"{k} {v}" for k, v in rule.items())
    return msg("r.rule", count=count, limits=limits)


def _flow_section(key: str, table: dict[str, Any]) -> Section:
    rows = []
    for name, flow in sorted(table.items(), key=lambda kv: (-kv[1].opened, kv[0])):
        shown = enum_label(TicketKind(name)) if key == "kind" else (
            enum_label(Channel(name)) if key == "channel" else name)
        rows.append({"name": shown, "opened": flow.opened, "resolved": flow.resolved, "closed": flow.closed})
    return Section(f"by_{key}", f"r.section.by_{key}", [("name", f"r.{key}"), ("opened", "r.tickets_opened"),
                                                         ("resolved", "r.tickets_resolved"),
                                                         ("closed", "r.tickets_closed")], rows)


def _remittance_section(figures: RemittanceFigures) -> Section:
    rows: list[dict[str, Any]] = [{"status": enum_label(s), "count": t.count, "amount": t.amount, "paid": t.paid}
                                  for s, t in figures.by_state.items()]
    rows.append({"status": msg("remit.totals"), "count": sum(t.count for t in figures.by_state.values()),
                 "amount": sum((t.amount for t in figures.by_state.values()), ZERO),
                 "paid": sum((t.paid for t in figures.by_state.values()), ZERO)})
    note = msg("r.stale", ids=", ".join(figures.stale)) if figures.stale else ""
    return Section("remittances", "r.section.remittances", [("status", "h.status"), ("count", "h.count"),
                                                           ("amount", "h.amount"), ("paid", "h.paid")], rows, note)


AGENT_COLUMNS = [("agent", "h.agent"), ("name", "r.name"), ("handled", "r.handled"), ("on_time_rate", "r.on_time_rate"),
                 ("average_satisfaction", "r.average_satisfaction"), ("callbacks", "r.callbacks"),
                 ("reopen_rate", "r.reopen_rate"), ("kb_uses", "r.kb_uses"), ("remarks", "r.remarks"),
                 ("remittances", "r.remittances")]


def _agent_section(rows: list[AgentRow]) -> Section:
    shown = [{**_agent_data(row), "on_time_rate": percent(row.on_time_rate),
              "average_satisfaction": row.average_satisfaction if row.satisfaction else "-",
              "reopen_rate": percent(row.reopen_rate)} for row in rows]
    return Section("agents", "r.section.agents", AGENT_COLUMNS, shown)


def _agent_data(row: AgentRow) -> dict[str, Any]:
    return {"agent": row.agent, "name": row.name, "handled": row.handled, "on_time_rate": row.on_time_rate,
            "on_time": row.on_time, "measured": row.measured, "average_satisfaction": row.average_satisfaction,
            "callbacks": row.callbacks, "reopen_rate": row.reopen_rate, "reopened": row.reopened,
            "kb_uses": row.kb_uses, "remarks": row.remarks, "remittances": row.remittances}


RATES = ("on_time_rate", "reopen_rate")


def _rates_as_text(row: dict[str, Any]) -> dict[str, Any]:
    """Shares keep their four places in JSON ("0.8750"); money elsewhere is written with two."""
    return {k: (str(v) if k in RATES and v is not None else v) for k, v in row.items()}


def _period(period: Period) -> dict[str, Any]:
    return {"unit": period.unit, "first": period.first, "last": period.last, "label": period.label}


def _ticket_data(t: TicketFigures) -> dict[str, Any]:
    def flows(table: dict[str, Any]) -> dict[str, dict[str, int]]:
        return {k: vars(v) for k, v in sorted(table.items())}

    return {"by_kind": flows(t.by_kind), "by_channel": flows(t.by_channel), "by_region": flows(t.by_region),
            "by_agent": flows(t.by_agent), "complaints": {"valid": t.complaints.get("valid", 0),
                                                          "invalid": t.complaints.get("invalid", 0)},
            "late": [vars(late) for late in sorted(t.late, key=lambda x: (x.due, x.id))],
            "kb_uses": dict(sorted(t.kb_uses.items()))}


def _remittance_data(r: RemittanceFigures) -> dict[str, Any]:
    return {"by_state": {s.value: {"count": t.count, "amount": t.amount, "paid": t.paid}
                         for s, t in r.by_state.items()},
            "created": r.created, "created_amount": r.created_amount, "stale": r.stale}


def build(name: str, period: Period, sources: Sources, config: LedgerConfig) -> Report:
    with_summary = name != "agents"
    standings = Standings(config)  # the summary and the performance table judge the same deadlines
    summary = summarize(sources, period, config, standings) if with_summary else None
    previous = summarize(sources, period.previous(), config, standings) if name in ("weekly", "monthly") else None
    agents = (agent_rows(sources.tickets, sources.remittances, sources.remarks, period, config, standings)
              if name in ("monthly", "agents") else None)
    return Report(name, period, summary, previous, agents, config, sources.kb_questions)
