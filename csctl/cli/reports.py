"""`csctl report daily|weekly|monthly|agents`: the supervisor's morning summaries, for people and for cron."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import click

from csctl.cli.context import App, pass_app
from csctl.cli.render import FORMATS, Column, Sheet, display, emit, rows_text, spreadsheet_text, to_json, xlsx_bytes
from csctl.i18n import msg
from csctl.reports import periods
from csctl.reports.periods import Period
from csctl.reports.summary import REPORTED_KINDS, Report, Section, build, read_sources

REPORT_FORMATS = (*FORMATS, "xlsx", "html")


@click.group()
def report() -> None:
    """Summaries (报表): daily, weekly, monthly and the performance table (绩效考核表), SPEC §3."""


def _output_options(function: Callable[..., None]) -> Callable[..., None]:
    function = click.option("--output", metavar="FILE", help="Write to FILE (atomically) instead of standard output.")(
        function)
    return click.option(
        "--format", "style", type=click.Choice(REPORT_FORMATS), default="table", show_default=True,
        help="json is stable for scripts; xlsx has one sheet per section; html is one self-contained page.",
    )(function)


def _run(app: App, name: str, period: Period, style: str, output: str | None) -> None:
    compared = [period, period.previous()] if name in ("weekly", "monthly") else [period]
    with app.ledger.lock(exclusive=False, what="report"):
        sources = read_sources(app.store, app.index_of(*REPORTED_KINDS), compared)
    for kind_name, broken in sources.broken.items():
        app.skipped(kind_name, broken)
    result = build(name, period, sources, app.ledger.config)
    title = msg(f"r.title.{name}", label=period.label, team=app.ledger.config.team.name)
    if style == "json":
        emit(to_json(result.data()).encode(), output)
    elif style == "xlsx":
        emit(xlsx_bytes([Sheet(msg(s.title), s.rows, _columns(s)) for s in result.sections()]), output, binary=True)
    elif style == "html":
        from csctl.cli.html import page

        emit(page(title, result).encode(), output)
    elif style == "csv":
        emit(_csv(result).encode(), output)
    else:
        emit(_text(title, result, style).encode(), output)


def _columns(section: Section) -> list[Column]:
    return [Column(key, header) for key, header in section.columns]


def _text(title: str, result: Report, style: str) -> str:
    parts = [f"# {title}" if style == "markdown" else title, ""]
    for section in result.sections():
        heading = msg(section.title)
        parts.append(f"## {heading}" if style == "markdown" else f"{heading}")
        parts.append("")
        if section.rows:
            parts.append(rows_text(section.rows, _columns(section), style).rstrip("\n"))
        else:
            parts.append(msg("r.none"))
        if section.note:
            parts.append("")
            parts.append(section.note)
        parts.append("")
    return "\n".join(parts)


def _csv(result: Report) -> str:
    """Every section one after the other: its title, its header, its rows, a blank line (Excel opens it whole)."""
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads the file as UTF-8, Chinese included
    writer = csv.writer(out, lineterminator="\r\n")
    for section in result.sections():
        writer.writerow([msg(section.title)])
        writer.writerow([msg(header) for _, header in section.columns])
        writer.writerows([spreadsheet_text(display(row.get(key))) for key, _ in section.columns]
                         for row in section.rows)
        writer.writerow([])
    return out.getvalue()


@report.command("daily")
@click.option("--date", "day", metavar="DATE", help="The day (default yesterday, in the ledger's time zone).")
@_output_options
@pass_app
def report_daily(app: App, day: str | None, style: str, output: str | None) -> None:
    """The day's tickets, deadlines, callbacks, remittances, refunds and balances (by 10:00 the next day)."""
    _run(app, "daily", periods.day(day, app.now().date()), style, output)


@report.command("weekly")
@click.option("--week", metavar="YYYY-Www", help="The ISO week, e.g. 2026-W47 (default last week).")
@_output_options
@pass_app
def report_weekly(app: App, week: str | None, style: str, output: str | None) -> None:
    """The week, with the week before for comparison and the volume per day."""
    _run(app, "weekly", periods.week(week, app.now().date()), style, output)


@report.command("monthly")
@click.option("--month", metavar="YYYY-MM", help="The month, e.g. 2026-11 (default last month).")
@_output_options
@pass_app
def report_monthly(app: App, month: str | None, style: str, output: str | None) -> None:
    """The month, with the month before and the performance table (by the 5th)."""
    _run(app, "monthly", periods.month(month, app.now().date()), style, output)


@report.command("agents")
@click.option("--month", metavar="YYYY-MM", help="The month (default last month).")
@click.option("--from", "first", metavar="DATE", help="First day of a span (with --to).")
@click.option("--to", "last", metavar="DATE", help="Last day of a span (with --from).")
@_output_options
@pass_app
def report_agents(app: App, month: str | None, first: str | None, last: str | None, style: str,
                  output: str | None) -> None:
    """The performance table (绩效考核表): one row per person."""
    if (first is None) != (last is None):
        raise click.UsageError("give both --from and --to")
    if first is not None and month is not None:
        raise click.UsageError("give --month or --from/--to, not both")
    period = (periods.span(first, last) if first is not None and last is not None
              else periods.month(month, app.now().date()))
    _run(app, "agents", period, style, output)
