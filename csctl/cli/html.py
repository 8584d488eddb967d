"""A report as one self-contained HTML page: tables and inline SVG charts, no script, no network.

A supervisor opens it from a mail or a shared folder; it must look right
offline, so the styles are inline and the charts are drawn as SVG here.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from csctl.cli.render import display
from csctl.i18n import language, msg
from csctl.reports.summary import Report, Section

STYLE = """
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f5f8; }
p.note { color: #555; font-size: .9em; }
svg text { font-size: 11px; fill: #333; }
svg rect.bar { fill: #3b7dd8; }
"""


def page(title: str, report: Report) -> str:
    parts = [f'<!DOCTYPE html>\n<html lang="{"zh-CN" if language() == "zh" else "en"}">',
             '<head><meta charset="utf-8">', f"<title>{escape(title)}</title>", f"<style>{STYLE}</style></head>",
             "<body>", f"<h1>{escape(title)}</h1>"]
    for section in report.sections():
        parts.append(f'<section id="{escape(section.key)}"><h2>{escape(msg(section.title))}</h2>')
        chart = _chart(section)
        if chart:
            parts.append(chart)
        parts.append(_table(section) if section.rows else f"<p>{escape(msg('r.none'))}</p>")
        if section.note:
            parts.append(f'<p class="note">{escape(section.note)}</p>')
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _table(section: Section) -> str:
    # The text bars of the terminal are drawn as a chart above the table here.
    columns = [(key, header) for key, header in section.columns if key != "bar"]
    head = "".join(f"<th>{escape(msg(header))}</th>" for _, header in columns)
    body = []
    for row in section.rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            number = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
            opening = '<td class="number">' if number else "<td>"
            cells.append(f"{opening}{escape(display(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _chart(section: Section) -> str:
    """A bar chart where a picture reads faster than numbers: tickets per day, and per kind."""
    if section.key == "volume":
        # Day of the month under each bar: a month's thirty labels fit where "11-16" would not.
        return _columns_chart([(row["date"][8:], int(row["opened"])) for row in section.rows])
    if section.key == "by_kind" and section.rows:
        return _bars_chart([(str(row["name"]), int(row["opened"])) for row in section.rows])
    return ""


def _columns_chart(points: list[tuple[str, int]]) -> str:
    width, height, left, bottom = max(320, 28 * len(points) + 40), 180, 30, 30
    top = max((n for _, n in points), default=0) or 1
    step = (width - left - 10) / max(1, len(points))
    bars: list[str] = []
    for index, (label, count) in enumerate(points):
        bar = (height - bottom - 10) * count / top
        x = left + index * step
        bars.append(f'<rect class="bar" x="{x + 2:.1f}" y="{height - bottom - bar:.1f}" width="{step - 4:.1f}" '
                    f'height="{bar:.1f}"><title>{escape(label)}: {count}</title></rect>')
        bars.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">'
                    f"{escape(label)}</text>")
        if count:
            bars.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom - bar - 3:.1f}" text-anchor="middle">'
                        f"{count}</text>")
    axis = f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#999"/>'
    return _svg(width, height, "".join(bars) + axis)


def _bars_chart(points: list[tuple[str, int]]) -> str:
    width, row, left = 420, 22, 110
    top = max((n for _, n in points), default=0) or 1
    bars: list[str] = []
    for index, (label, count) in enumerate(points):
        y = 6 + index * row
        length = (width - left - 40) * count / top
        bars.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        bars.append(f'<rect class="bar" x="{left}" y="{y + 2}" width="{length:.1f}" height="{row - 6}">'
                    f"<title>{escape(label)}: {count}</title></rect>")
        bars.append(f'<text x="{left + length + 4:.1f}" y="{y + 14}">{count}</text>')
    return _svg(width, 12 + row * len(points), "".join(bars))


def _svg(width: float, height: float, body: Any) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">{body}</svg>')
