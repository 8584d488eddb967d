"""Reports against records built for each test: day boundaries in the ledger's time zone, deadlines
met and missed, empty periods, money to the cent, the performance table, every format (issue 7).

The fixture ledger is in Asia/Shanghai (+08:00); here its deadlines count on the wall clock
(`[tickets] count = "calendar"`: resolution 3d by default, 1d for a complaint) so that each
expected figure can be worked out by hand.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke
from tests.desk import Desk as BaseDesk


def at(day: str, clock: str = "10:00") -> str:
    return f"2026-{day}T{clock}:00+08:00"


class Desk(BaseDesk):
    def ticket(self, when: str, kind: str = "consultation", who: str = "wang", subject: str = "询问物流",
               *extra: str) -> str:
        out = self.ok("ticket", "new", "--kind", kind, "--channel", "phone", "--subject", subject, *extra,
                      who=who, now=when)
        return out.strip()

    def act(self, record: str, command: str, *args: str, who: str = "wang", now: str) -> None:
        self.ok("ticket", command, record, *args, who=who, now=now)

    def report(self, *args: str, now: str = at("11-23", "09:00")) -> dict[str, Any]:
        data: dict[str, Any] = self.json("report", *args, now=now)
        return data


@pytest.fixture
def desk(invoke: Invoke, ledger: Path, more_agents: None) -> Desk:
    desk = Desk(invoke, ledger)
    desk.edit_config("count", '"calendar"', "tickets")
    return desk


def overview(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = data["overview"]
    return result


# ----- counting in the ledger's time zone ------------------------------------------------------

def test_a_ticket_counts_on_its_day_in_the_ledgers_time_zone(desk: Desk) -> None:
    late_evening = desk.ticket(at("11-20", "23:59"))
    desk.ticket(at("11-21", "00:00"))
    desk.ticket("2026-11-20T16:30:00+00:00")  # 00:30 on the 21st in Shanghai
    day = desk.report("daily", "--date", "2026-11-20")
    assert overview(day)["tickets_opened"] == 1
    assert day["tickets"]["by_agent"] == {"wang": {"opened": 1, "resolved": 0, "closed": 0}}
    assert overview(desk.report("daily", "--date", "2026-11-21"))["tickets_opened"] == 2
    assert late_evening.startswith("T-261120-")


def test_the_default_periods_are_yesterday_last_week_and_last_month(desk: Desk) -> None:
    now = at("11-23", "09:00")  # a Monday
    assert desk.report("daily", now=now)["period"] == {"unit": "day", "first": "2026-11-22", "last": "2026-11-22",
                                                       "label": "2026-11-22"}
    assert desk.report("weekly", now=now)["period"]["label"] == "2026-W47"
    assert desk.report("weekly", now=now)["period"]["first"] == "2026-11-16"
    assert desk.report("monthly", now=now)["period"] == {"unit": "month", "first": "2026-10-01",
                                                         "last": "2026-10-31", "label": "2026-10"}
    assert desk.report("monthly", now=at("01-05"))["period"]["label"] == "2025-12"


@pytest.mark.parametrize(("args", "says"), [
    (("daily", "--date", "2026-13-01"), "--date"), (("weekly", "--week", "2026-W54"), "--week"),
    (("monthly", "--month", "2026/11"), "--month"), (("agents", "--from", "2026-11-10", "--to", "2026-11-01"), "--to"),
])
def test_bad_periods_are_refused(desk: Desk, args: tuple[str, ...], says: str) -> None:
    desk.refused("report", *args, says=says)


# ----- deadlines and the on-time rate ---------------------------------------------------------

def test_the_on_time_rate_counts_resolved_and_missing_resolutions_in_the_period(desk: Desk) -> None:
    on_time = desk.ticket(at("11-16"))  # due 11-19 10:00, resolved 11-18
    desk.act(on_time, "take", now=at("11-16", "10:05"))
    desk.act(on_time, "resolve", "--solution", "已补发", now=at("11-18"))
    late = desk.ticket(at("11-16"), "complaint", "wang", "投诉发错货")  # due 11-17 10:00, resolved 11-18 12:00
    desk.act(late, "take", now=at("11-16", "10:05"))
    desk.act(late, "resolve", "--solution", "已换货", now=at("11-18", "12:00"))
    desk.act(late, "callback", "--accepted", "--satisfaction", "2", now=at("11-19"))
    missing = desk.ticket(at("11-15"), who="mei")  # due 11-18 10:00, never resolved
    desk.act(missing, "take", who="mei", now=at("11-15", "10:05"))
    earlier = desk.ticket(at("11-01"))  # resolved long before the week: not measured
    desk.act(earlier, "take", now=at("11-01", "10:01"))
    desk.act(earlier, "resolve", "--solution", "已答复", now=at("11-02"))

    week = desk.report("weekly", "--week", "2026-W47")
    figures = overview(week)
    assert (figures["on_time"], figures["measured"], figures["on_time_rate"]) == (1, 3, "0.3333")
    assert [(x["id"], x["resolved_at"]) for x in week["tickets"]["late"]] == [
        (late, at("11-18", "12:00")), (missing, None)]
    assert week["deadline_rule"] == {"count": "calendar", "default": "3d", "complaint": "1d", "high": "1d",
                                     "urgent": "4h"}
    assert (figures["callbacks"], figures["callbacks_reached"], figures["average_satisfaction"]) == (1, 1, "2.00")
    assert (figures["tickets_opened"], figures["tickets_resolved"]) == (2, 2)
    # The same tickets judged from the day the late one was resolved: one measured, not on time.
    day = overview(desk.report("daily", "--date", "2026-11-18"))
    assert (day["on_time"], day["measured"]) == (1, 3)
    assert overview(desk.report("daily", "--date", "2026-11-19"))["measured"] == 0
    text = desk.ok("report", "weekly", "--week", "2026-W47", now=at("11-23"))
    assert "33.3% (1/3)" in text
    assert "deadlines (wall clock): default 3d" in text


def test_a_ticket_resolved_after_the_period_is_judged_as_the_period_left_it(desk: Desk) -> None:
    ticket = desk.ticket(at("11-16"))  # due 11-19 10:00
    desk.act(ticket, "take", now=at("11-16", "10:01"))
    desk.act(ticket, "resolve", "--solution", "处理完毕", now=at("11-24"))
    week = desk.report("weekly", "--week", "2026-W47", now=at("11-25"))
    assert (overview(week)["on_time"], overview(week)["measured"]) == (0, 1)
    assert [x["resolved_at"] for x in week["tickets"]["late"]] == [None]
    assert overview(week)["tickets_resolved"] == 0


# ----- empty periods -----------------------------------------------------------------------

def test_an_empty_day_and_a_month_with_no_activity(desk: Desk) -> None:
    day = desk.report("daily", "--date", "2026-11-22")
    figures = overview(day)
    assert figures["tickets_opened"] == 0
    assert figures["on_time_rate"] is None
    assert figures["remittances_created_amount"] == "0.00"
    assert figures["average_satisfaction"] is None
    assert day["tickets"]["late"] == []
    assert day["remittances"]["by_state"] == {}
    month = desk.report("monthly", "--month", "2026-09")
    assert month["previous"]["period"]["label"] == "2026-08"
    assert all(row["handled"] == 0 for row in month["agents"])
    text = desk.ok("report", "monthly", "--month", "2026-09", now=at("11-23"))
    assert "(none)" in text


# ----- money to the cent -----------------------------------------------------------------------

def test_remittance_and_refund_totals_add_up_to_the_cent(desk: Desk) -> None:
    amounts = ["0.01", "19.99", "288.00", "1288.50", "0.10"]
    ids = []
    for index, amount in enumerate(amounts):
        out = desk.ok("remit", "new", "--buyer", f"tb_{index}", "--item", f"A{index}:M:1", "--address", "某地址",
                      "--amount", amount, who="wang", now=at("11-20", f"1{index}:00"))
        ids.append(out.strip())
    desk.ok("remit", "paid", ids[3], "--date", "2026-11-20", "--method", "网银", "--bank", "工行", "--amount",
            "1288.49", who="wang", now=at("11-20", "18:00"))
    day = desk.report("daily", "--date", "2026-11-20")
    assert overview(day)["remittances_created_amount"] == "1596.60"
    assert day["remittances"]["by_state"] == {
        "ordered": {"count": 4, "amount": "308.10", "paid": "0.00"},
        "paid": {"count": 1, "amount": "1288.50", "paid": "1288.49"}}
    desk.ok("remark", "add", "3001", "refund_after_trade", "item=LY1", "kind=邮费", "amount=8.5", "via=支付宝",
            "account=lin@163.com", "holder=林晓燕", "--buyer", "tb_lin", who="wang", now=at("11-20", "11:00"))
    desk.ok("remark", "add", "3002", "refund_after_trade", "item=LY2", "kind=折扣", "amount=0.15", "via=银行",
            "account=建行4367", "holder=林晓燕", "--buyer", "tb_lin", who="mei", now=at("11-20", "12:00"))
    desk.ok("refund", "register", "3001", who="li", now=at("11-21", "09:00"))
    first, second = (overview(desk.report("daily", "--date", d)) for d in ("2026-11-20", "2026-11-21"))
    assert (first["refunds_written"], first["refunds_written_amount"]) == (2, "8.65")
    assert (first["refunds_pending"], first["refunds_pending_amount"]) == (2, "8.65")
    assert (second["refunds_registered"], second["refunds_pending"], second["refunds_pending_amount"]) == (1, 1, "0.15")


def test_balance_deductions_written_registered_and_pending(desk: Desk) -> None:
    desk.ok("remark", "add", "4001", "balance_deduct", "amount=20", "balance=30", "--buyer", "tb_w",
            who="wang", now=at("11-20", "10:00"))
    desk.ok("remark", "add", "4002", "balance_clear", "amount=30", "--buyer", "tb_w", who="wang",
            now=at("11-21", "10:00"))
    desk.ok("remark", "add", "4001", "balance_registered", who="li", now=at("11-21", "11:00"))
    week = overview(desk.report("weekly", "--week", "2026-W47"))
    assert (week["deductions_written"], week["deductions_written_amount"]) == (2, "50.00")
    assert (week["deductions_registered"], week["deductions_pending"]) == (1, 1)


# ----- the performance table --------------------------------------------------------------------

def test_the_performance_table_has_a_row_per_person_with_each_measure(desk: Desk) -> None:
    entry = desk.ok("kb", "add", "--question", "快递签收未收到怎么办?", "--answer", "先查门卫", who="wang",
                    now=at("11-01")).strip()
    desk.ok("kb", "submit", entry, who="wang", now=at("11-01", "10:01"))
    desk.ok("kb", "approve", entry, who="lead", now=at("11-01", "10:02"))
    a = desk.ticket(at("11-02"))
    desk.act(a, "take", now=at("11-02", "10:01"))
    desk.act(a, "resolve", "--solution", "门卫处找到", "--kb", entry, now=at("11-03"))
    desk.act(a, "callback", "--accepted", "--satisfaction", "5", who="mei", now=at("11-04"))
    b = desk.ticket(at("11-05"), "complaint")
    desk.act(b, "take", now=at("11-05", "10:01"))
    desk.act(b, "resolve", "--solution", "已退款", now=at("11-07"))  # due 11-06 10:00: late
    desk.act(b, "callback", "--rejected", "--satisfaction", "1", who="mei", now=at("11-08"))
    desk.ok("remark", "add", "5001", "copied", who="li", now=at("11-09"))
    remit = desk.ok("remit", "new", "--buyer", "tb_x", "--item", "A1:M:1", "--address", "某地", "--amount", "5",
                    who="mei", now=at("11-10")).strip()
    desk.ok("remit", "paid", remit, "--date", "2026-11-10", "--method", "网银", "--bank", "工行", "--amount", "5",
            who="mei", now=at("11-10", "11:00"))
    rows = {row["agent"]: row for row in desk.report("agents", "--month", "2026-11", now=at("12-01"))["agents"]}
    assert "sales" not in rows  # a viewer works no cases
    wang = rows["wang"]
    assert (wang["handled"], wang["on_time"], wang["measured"], wang["on_time_rate"]) == (2, 1, 2, "0.5000")
    assert (wang["average_satisfaction"], wang["kb_uses"], wang["reopened"], wang["reopen_rate"]) == (
        "3.00", 1, 1, "0.5000")
    assert (rows["mei"]["callbacks"], rows["mei"]["remittances"], rows["mei"]["handled"]) == (2, 1, 0)
    assert rows["li"]["remarks"] == 1
    span = desk.report("agents", "--from", "2026-11-05", "--to", "2026-11-08", now=at("12-01"))
    assert span["period"]["label"] == "2026-11-05..2026-11-08"
    assert {r["agent"]: r["handled"] for r in span["agents"]}["wang"] == 1
    monthly = desk.report("monthly", "--month", "2026-11", now=at("12-01"))
    assert monthly["agents"] == desk.report("agents", "--month", "2026-11", now=at("12-01"))["agents"]


# ----- formats and language ----------------------------------------------------------------------

@pytest.fixture
def busy(desk: Desk) -> Desk:
    for day in ("11-16", "11-18", "11-18", "11-20"):
        desk.ticket(at(day), "complaint" if day == "11-18" else "consultation")
    return desk


def test_weekly_terminal_output_shows_the_volume_and_the_week_before(busy: Desk) -> None:
    text = busy.ok("report", "weekly", "--week", "2026-W47", now=at("11-23"))
    assert "▄▁█▁▄▁▁" in text  # one character per day, Monday first
    assert re.search(r"tickets opened\s+4\s+0\s+\+4", text)
    zh = busy.ok("report", "weekly", "--week", "2026-W47", now=at("11-23"), lang="zh")
    assert "周报 2026-W47" in zh
    assert "新建工单" in zh
    assert "投诉" in zh


def test_markdown_csv_and_xlsx_have_every_section(busy: Desk, tmp_path: Path) -> None:
    markdown = busy.ok("report", "weekly", "--week", "2026-W47", "--format", "markdown", now=at("11-23"))
    assert markdown.startswith("# ")
    assert "## By kind" in markdown
    assert "| complaint " in markdown
    text = busy.ok("report", "weekly", "--week", "2026-W47", "--format", "csv", now=at("11-23"), lang="zh")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert ["概况"] in rows
    assert ["按类型"] in rows
    assert ["投诉", "2", "0", "0"] in rows
    workbook = tmp_path / "weekly.xlsx"
    busy.ok("report", "weekly", "--week", "2026-W47", "--format", "xlsx", "--output", str(workbook), now=at("11-23"))
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    book = load_workbook(workbook)
    assert book.sheetnames[:3] == ["Overview", "Tickets opened per day", "By kind"]
    assert [c.value for c in book["By kind"][2]] == ["complaint", 2, 0, 0]


def test_the_html_page_is_self_contained(busy: Desk, tmp_path: Path) -> None:
    page = tmp_path / "weekly.html"
    busy.ok("report", "weekly", "--week", "2026-W47", "--format", "html", "--output", str(page), now=at("11-23"))
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html
    assert "<script" not in html
    assert re.findall(r"(?:src|href)=", html) == []
    assert set(re.findall(r"https?://[^\"' ]+", html)) == {"http://www.w3.org/2000/svg"}


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (see README: Development)")
def test_the_html_page_renders_in_headless_chromium(busy: Desk, tmp_path: Path) -> None:
    page = tmp_path / "weekly.html"
    busy.ok("report", "weekly", "--week", "2026-W47", "--format", "html", "--output", str(page), now=at("11-23"))
    browser = ["chromium", "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    # The browser parsed the page into the sections, tables and charts we wrote.
    assert dom.count("<section") == 9
    assert dom.count("<table") == 8
    assert dom.count('class="bar"') == 7 + 2  # a bar per day, a bar per kind
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


def test_json_is_stable_and_money_and_rates_are_strings(busy: Desk) -> None:
    data = busy.report("weekly", "--week", "2026-W47")
    assert list(data) == ["report", "period", "overview", "deadline_rule", "tickets", "remittances",
                          "opened_per_day", "previous"]
    assert data["opened_per_day"] == {"2026-11-16": 1, "2026-11-17": 0, "2026-11-18": 2, "2026-11-19": 0,
                                      "2026-11-20": 1, "2026-11-21": 0, "2026-11-22": 0}
    assert isinstance(data["overview"]["remittances_created_amount"], str)
    assert Decimal(data["overview"]["remittances_created_amount"]) == 0


def test_output_is_written_atomically_and_stdout_stays_empty(busy: Desk, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "daily.json"
    target.parent.mkdir()
    assert busy.ok("report", "daily", "--date", "2026-11-18", "--format", "json", "--output", str(target),
                   now=at("11-23")) == ""
    assert json.loads(target.read_text(encoding="utf-8"))["overview"]["tickets_opened"] == 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["daily.json"]


# ----- alerts grouped by the person responsible -------------------------------------------------

def test_alerts_are_grouped_by_the_person_responsible(desk: Desk) -> None:
    for who in ("wang", "mei", "wang"):
        ticket = desk.ticket(at("11-16"), who=who)
        desk.act(ticket, "take", who=who, now=at("11-16", "10:01"))
    desk.ticket(at("11-16"), who="lead")  # nobody has it yet
    result = desk.run("alerts", now=at("11-23"))
    assert result.exit_code == 1
    text = result.stdout
    headings = [line for line in text.splitlines() if re.fullmatch(r"\S+ \(\d+\)", line)]
    # Each ticket is late twice over: no first response, no resolution.
    assert headings == ["mei (2)", "wang (4)", "(unassigned) (2)"]
    rows = json.loads(desk.run("alerts", "--format", "json", now=at("11-23")).stdout)
    assert [r["agent"] for r in rows] == ["mei", "mei", "wang", "wang", "wang", "wang", None, None]


def test_a_complaint_judged_invalid_neither_meets_nor_misses_a_deadline(desk: Desk) -> None:
    ticket = desk.ticket(at("11-20"), "complaint")
    desk.ok("ticket", "judge", ticket, "--invalid", "--explanation", "系买家误解,已解释", who="wang",
            now=at("11-20", "10:30"))
    figures = overview(desk.report("daily", "--date", "2026-11-20"))
    assert (figures["measured"], figures["on_time"], figures["late_tickets"]) == (0, 0, 0)
    assert figures["complaints_invalid"] == 1
    rows = desk.report("agents", "--from", "2026-11-20", "--to", "2026-11-20")["agents"]
    assert sum(row["measured"] for row in rows) == 0


def test_a_missed_deadline_is_charged_to_who_held_the_ticket_when_the_period_ended(desk: Desk) -> None:
    ticket = desk.ticket(at("11-19"), "consultation", "wang", "加急", "--urgency", "urgent")  # due 11-19 14:00
    desk.act(ticket, "take", now=at("11-19", "10:01"))
    desk.act(ticket, "assign", "--to", "mei", who="lead", now=at("11-22"))
    day = desk.report("daily", "--date", "2026-11-19")
    assert [late["assignee"] for late in day["tickets"]["late"]] == ["wang"]
    rows = {row["agent"]: row for row in desk.report("agents", "--from", "2026-11-19", "--to", "2026-11-19")["agents"]}
    assert (rows["wang"]["measured"], rows["mei"]["measured"]) == (1, 0)


@pytest.mark.parametrize("args", [("monthly", "--month", "9999-12"), ("daily", "--date", "9999-12-31"),
                                  ("weekly", "--week", "0001-W01")])
def test_periods_at_the_ends_of_the_calendar_are_refused_naming_the_option(desk: Desk, args: tuple[str, ...]) -> None:
    desk.refused("report", *args, says=args[1])
