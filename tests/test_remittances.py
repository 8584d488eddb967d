"""Remittances through the CLI: order, payment notice, four-eyes verification, shipping, cancel,
the 3-day rule, duplicates, the daily register and its review, money (issue 4, SPEC §3, §4).

The fixture ledger's NOW is Monday 2026-11-23 09:30 (+08:00). Its team: `adm` (admin),
`lead` (supervisor), `wang` and `mei` (agents), `li` (assistant), `sales` (viewer); this
file adds a second supervisor `boss`. The clock moves with CSCTL_NOW, never by sleeping.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csctl.domain import remittances as flow
from csctl.models.base import Event
from csctl.models.config import LedgerConfig, TeamSettings
from csctl.models.records import Remittance
from tests.conftest import NOW, Invoke
from tests.desk import Desk as BaseDesk

ID_LINE = re.compile(r"R-(\d{6})-[0-9A-HJKMNP-TV-Z]{5}\n")
ADDRESS = "浙江省杭州市西湖区文三路478号 林晓燕 13857123456"


def at(day: str, clock: str = "10:00") -> str:
    return f"2026-{day}T{clock}:00+08:00"


class Desk(BaseDesk):
    """csctl on the fixture ledger, with the remittance helpers."""

    def order(self, *extra: str, buyer: str = "tb_林晓燕", items: tuple[str, ...] = ("LY2611-07:M:2",),
              amount: str = "576.00", who: str = "wang", now: str = NOW) -> str:
        args = ["remit", "new", "--buyer", buyer, "--address", ADDRESS, "--amount", amount]
        for item in items:
            args += ["--item", item]
        result = self.run(*args, *extra, who=who, now=now)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert ID_LINE.fullmatch(result.stdout), result.stdout
        return result.stdout.strip()

    def act(self, remit_id: str, command: str, *args: str, who: str = "wang", now: str = NOW) -> None:
        assert self.ok("remit", command, remit_id, *args, who=who, now=now) == f"{remit_id}\n"

    def pay(self, remit_id: str, amount: str = "576.00", day: str = "2026-11-23", who: str = "wang",
            now: str = NOW) -> None:
        self.act(remit_id, "paid", "--date", day, "--method", "网银转账", "--bank", "中国工商银行", "--amount", amount,
                 who=who, now=now)

    def verify(self, remit_id: str, *extra: str, who: str = "lead", now: str = NOW) -> None:
        self.act(remit_id, "verify", "--reference", "工行流水 20261123-000381", *extra, who=who, now=now)

    def path(self, remit_id: str) -> Path:
        return self.dated_path("remittances", remit_id)

    def file(self, remit_id: str) -> dict[str, Any]:
        return tomllib.loads(self.path(remit_id).read_text(encoding="utf-8"))

    def show(self, remit_id: str, now: str = NOW) -> dict[str, Any]:
        data: dict[str, Any] = self.json("remit", "show", remit_id, now=now)
        return data

    def alerts(self, *args: str, now: str = NOW) -> list[dict[str, Any]]:
        result = self.run("alerts", "--format", "json", *args, now=now)
        assert result.exit_code in (0, 1), result.stderr
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    def register(self, day: str, now: str = NOW) -> dict[str, Any]:
        data: dict[str, Any] = self.json("remit", "register", "--date", day, now=now)
        return data


@pytest.fixture
def desk(invoke: Invoke, ledger: Path, more_agents: None) -> Desk:
    result = invoke("agent", "add", "boss", "--name", "刘经理", "--role", "supervisor")
    assert result.exit_code == 0, result.stderr
    return Desk(invoke, ledger)


# ----- 1. order ------------------------------------------------------------------------------

def test_new_prints_the_id_alone_and_files_the_order_as_the_acting_agent(desk: Desk) -> None:
    remit_id = desk.order("--note", "买家要求周五前发货", items=("LY2611-07:M:2", "A12:L:1"))
    data = desk.file(remit_id)
    assert data["agent"] == "wang"
    assert data["amount"] == "576.00"
    assert data["status"] == "ordered"
    assert data["items"] == [{"code": "LY2611-07", "size": "M", "qty": 2}, {"code": "A12", "size": "L", "qty": 1}]
    assert data["events"] == [{"at": dt.datetime.fromisoformat(NOW), "by": "wang", "action": "created",
                               "note": "买家要求周五前发货"}]
    assert desk.path(remit_id).parent == desk.ledger / "records" / "remittances" / "2026" / "11"
    desk.clean()


def test_a_shop_ordered_item_records_the_trade_and_remarks_it_through_the_remark_shapes(desk: Desk) -> None:
    remit_id = desk.order("--shop-ordered", "--shop-trade", "3287740021559812")
    data = desk.file(remit_id)
    assert (data["shop_ordered"], data["shop_trade"]) == (True, "3287740021559812")
    remarks = tomllib.loads((desk.ledger / "records" / "remarks" / "2026" / "11" / "3287740021559812.toml")
                            .read_text(encoding="utf-8"))
    assert remarks["buyer"] == "tb_林晓燕"
    assert [(r["by"], r["kind"], r["text"]) for r in remarks["remarks"]] == [
        ("wang", "remit_order", "银行汇款订单,待汇款,已通知登记+小王+11.23")]
    assert json.loads(desk.ok("remark", "parse", remarks["remarks"][0]["text"]))["shape"] == "remit_order"
    # The trade belongs to another buyer: nothing is written, neither the order nor the remark.
    desk.refused("remit", "new", "--buyer", "tb_other", "--item", "A1:M:1", "--address", ADDRESS, "--amount", "5",
                 "--shop-trade", "3287740021559812", who="wang", says="tb_林晓燕")
    desk.refused("remit", "new", "--buyer", "b", "--item", "A1:M:1", "--address", ADDRESS, "--amount", "5",
                 "--shop-ordered", who="wang", says="--shop-trade")


@pytest.mark.parametrize("who", ["sales", "li"])
def test_only_agents_and_supervisors_register_orders(desk: Desk, who: str) -> None:
    desk.refused("remit", "new", "--buyer", "b", "--item", "A1:M:1", "--address", ADDRESS, "--amount", "5",
                 who=who, code=3)


def test_an_unknown_customer_is_refused(desk: Desk) -> None:
    desk.refused("remit", "new", "--buyer", "b", "--item", "A1:M:1", "--address", ADDRESS, "--amount", "5",
                 "--customer", "C-261123-ZZZZZ", who="wang", says="C-261123-ZZZZZ")


# ----- 8. money and quantities -----------------------------------------------------------------

@pytest.mark.parametrize("amount", ["12.345", "abc", "-5", "0", "0.00", "", "1e3", "288.0.0", "NaN", "2,88",
                                    "1,2,3,4", "２８８"])
def test_bad_amounts_are_refused_and_nothing_is_written(desk: Desk, amount: str) -> None:
    line = desk.refused("remit", "new", "--buyer", "b", "--item", "A1:M:1", "--address", ADDRESS,
                        "--amount", amount, who="wang")
    assert "--amount" in line
    remit_id = desk.order()
    line = desk.refused("remit", "paid", remit_id, "--date", "2026-11-23", "--method", "网银", "--bank", "工行",
                        "--amount", amount, who="wang")
    assert "--amount" in line


@pytest.mark.parametrize("item", ["A1:M:zero", "A1:M:0", "A1:M:-1", "A1:M", "A1::1", ":M:1", "A1:M:1:2",
                                  "A1:M:１.5", "货号:M:1"])
def test_bad_items_are_refused(desk: Desk, item: str) -> None:
    line = desk.refused("remit", "new", "--buyer", "b", "--item", item, "--address", ADDRESS, "--amount", "5",
                        who="wang")
    assert "--item" in line


def test_amounts_are_kept_to_the_cent_as_typed(desk: Desk) -> None:
    remit_id = desk.order(amount="288")
    assert desk.file(remit_id)["amount"] == "288.00"
    desk.pay(remit_id, amount="1,288.5")
    assert desk.file(remit_id)["payments"][0]["amount"] == "1288.50"


# ----- 2. payment notice --------------------------------------------------------------------

def test_a_differing_payment_is_kept_flagged_and_never_corrected(desk: Desk) -> None:
    remit_id = desk.order(amount="1288.00", who="mei")
    desk.pay(remit_id, amount="1280.00", who="mei")
    data = desk.file(remit_id)
    assert data["amount"] == "1288.00"
    assert data["payments"] == [{"date": dt.date(2026, 11, 23), "method": "网银转账", "bank": "中国工商银行",
                                 "amount": "1280.00"}]
    assert data["status"] == "paid"
    (alert,) = [a for a in desk.alerts() if a["alert"] == "remit.amount"]
    assert (alert["record"], alert["agent"]) == (remit_id, "mei")
    assert "1280.00" in alert["subject"]
    assert "1288.00" in alert["subject"]
    result = desk.run("check")
    assert result.exit_code == 0
    assert f"{remit_id}: paid 1280.00, but the order is 1288.00 (warning)" in result.stdout
    # The rest arrives in a second notice: the flag goes.
    desk.pay(remit_id, amount="8.00", who="mei")
    assert desk.show(remit_id)["paid_total"] == "1288.00"
    assert not [a for a in desk.alerts() if a["alert"] == "remit.amount"]


def test_a_notice_for_a_future_day_is_refused(desk: Desk) -> None:
    remit_id = desk.order()
    desk.refused("remit", "paid", remit_id, "--date", "2026-11-24", "--method", "网银", "--bank", "工行",
                 "--amount", "576", who="wang", says="2026-11-24")


# ----- 3. verification ------------------------------------------------------------------------

def test_verification_needs_a_supervisor_a_notice_and_another_person(desk: Desk) -> None:
    remit_id = desk.order()
    desk.refused("remit", "verify", remit_id, "--reference", "x", who="lead", code=2, says="ordered")
    desk.pay(remit_id)
    desk.refused("remit", "verify", remit_id, "--reference", "x", who="wang", code=3)
    desk.refused("remit", "verify", remit_id, "--reference", "x", who="sales", code=3)
    own = desk.order(who="lead", buyer="tb_other", items=("B2:S:1",))
    desk.pay(own, who="lead")
    desk.refused("remit", "verify", own, "--reference", "x", who="lead", code=3, says="four eyes")
    desk.verify(own, who="boss")
    desk.verify(remit_id, who="lead")
    data = desk.file(remit_id)
    assert (data["status"], data["reference"], data["verified_by"]) == ("verified", "工行流水 20261123-000381", "lead")
    desk.clean()


def test_a_difference_is_verified_only_when_accepted_with_a_reason(desk: Desk) -> None:
    remit_id = desk.order(amount="576.00")
    desk.pay(remit_id, amount="570.00")
    desk.refused("remit", "verify", remit_id, "--reference", "x", who="lead", says="--accept-difference")
    desk.verify(remit_id, "--accept-difference", "手续费由店铺承担", who="lead")
    event = desk.file(remit_id)["events"][-1]
    assert (event["difference"], event["accepted"]) == ("-6.00", "手续费由店铺承担")
    assert not [a for a in desk.alerts() if a["alert"] == "remit.amount"]
    assert remit_id not in desk.run("check").stdout


def test_a_hand_edited_history_where_the_registrar_verified_is_an_error(desk: Desk) -> None:
    remit_id = desk.order(who="lead", buyer="tb_x")
    desk.pay(remit_id, who="lead")
    desk.verify(remit_id, who="boss")
    path = desk.path(remit_id)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('by = "boss"', 'by = "lead"').replace('verified_by = "boss"', 'verified_by = "lead"'),
                    encoding="utf-8")
    result = desk.run("check")
    assert result.exit_code == 1
    assert "lead registered the order and cannot verify it too" in result.stdout


# ----- 4. shipping and cancelling -------------------------------------------------------------

def test_shipping_only_after_verification_and_cancel_only_before_shipping(desk: Desk) -> None:
    remit_id = desk.order()
    desk.refused("remit", "ship", remit_id, "--waybill", "SF1", who="li", says="ordered")
    desk.pay(remit_id)
    desk.refused("remit", "ship", remit_id, "--waybill", "SF1", who="li")
    desk.verify(remit_id)
    desk.refused("remit", "ship", remit_id, "--waybill", "SF1", who="sales", code=3)
    desk.act(remit_id, "ship", "--waybill", "SF1402667788991", who="li")
    assert desk.file(remit_id)["waybill"] == "SF1402667788991"
    desk.refused("remit", "cancel", remit_id, "--reason", "买家不要了", who="wang", says="shipped")
    for stage in ("ordered", "paid", "verified"):
        other = desk.order(buyer=f"tb_{stage}", items=("C3:M:1",))
        if stage != "ordered":
            desk.pay(other)
        if stage == "verified":
            desk.verify(other)
        desk.act(other, "cancel", "--reason", "买家改为店铺付款", who="wang")
        assert desk.file(other)["status"] == "cancelled"
        desk.refused("remit", "paid", other, "--date", "2026-11-23", "--method", "m",
                     "--bank", "b", "--amount", "1", who="wang", says="cancelled")
    desk.clean()


# ----- 5. the 3-day rule ----------------------------------------------------------------------

def test_a_notice_unverified_for_three_days_goes_back_to_the_agent(desk: Desk) -> None:
    remit_id = desk.order(who="mei", now=at("11-20", "09:00"))
    desk.pay(remit_id, day="2026-11-20", who="mei", now=at("11-20", "14:00"))
    assert desk.show(remit_id, now=at("11-20", "15:00"))["verify_due"] == at("11-23", "14:00")
    assert not [a for a in desk.alerts(now=at("11-23", "13:59")) if a["alert"] == "remit.stale"]
    stale = [a for a in desk.alerts(now=at("11-23", "14:00")) if a["alert"] == "remit.stale"]
    assert [(a["record"], a["agent"], a["due"]) for a in stale] == [(remit_id, "mei", at("11-23", "14:00"))]
    assert [a["record"] for a in desk.alerts("--agent", "mei", now=at("11-23", "14:00"))] == [remit_id]
    assert not [a for a in desk.alerts("--agent", "wang", now=at("11-23", "14:00")) if a["alert"] == "remit.stale"]
    rows = desk.json("remit", "pending", "--stale", now=at("11-23", "14:00"))
    assert [(r["id"], r["stale"]) for r in rows] == [(remit_id, True)]
    assert desk.json("remit", "pending", "--stale", now=at("11-23", "13:00")) == []
    desk.verify(remit_id, now=at("11-23", "15:00"))
    assert not [a for a in desk.alerts(now=at("11-26")) if a["alert"] == "remit.stale"]


def test_the_limit_can_count_working_days(desk: Desk) -> None:
    desk.edit_config("count", '"working"', "remittances")
    desk.edit_config("verify_within", '"2d"', "remittances")
    desk.edit_config("holidays", "[2026-11-24, 2027-01-01]", "calendar")
    remit_id = desk.order(now=at("11-23", "09:00"))
    desk.pay(remit_id, now=at("11-23", "11:00"))
    # Two working days from Monday 11:00, skipping the holiday on Tuesday: Thursday 11:00.
    assert desk.show(remit_id)["verify_due"] == at("11-26", "11:00")


# ----- 6. duplicates ------------------------------------------------------------------------

def test_a_second_open_order_with_the_same_items_is_flagged_with_both_ids(desk: Desk) -> None:
    first = desk.order(items=("LY2611-03:L:1", "A1:M:2"), now=at("11-20"))
    result = desk.run("remit", "new", "--buyer", "tb_林晓燕", "--item", "a1:m:1", "--item", "A1:M:1",
                      "--item", "LY2611-03:L:1", "--address", ADDRESS, "--amount", "9", who="mei")
    assert result.exit_code == 0
    second = result.stdout.strip()
    assert f"{second}" in result.stderr
    assert first in result.stderr
    (alert,) = [a for a in desk.alerts() if a["alert"] == "remit.duplicate"]
    assert (alert["record"], alert["agent"]) == (second, "mei")
    assert desk.show(first)["duplicates"] == [second]
    # A person's verdict stays: the warning does not return.
    desk.act(second, "not-duplicate", "--of", first, "--reason", "买家给两个门店各订一份", who="lead")
    assert not [a for a in desk.alerts() if a["alert"] == "remit.duplicate"]
    assert desk.show(first)["duplicates"] == []
    desk.refused("remit", "not-duplicate", second, "--of", first, "--reason", "again", who="lead")
    desk.refused("remit", "not-duplicate", second, "--of", second, "--reason", "self", who="lead")
    desk.clean()


def test_same_buyer_and_amount_within_the_window_is_flagged_and_closed_orders_are_not(desk: Desk) -> None:
    first = desk.order(items=("A1:M:1",), amount="199.00", now=at("11-18"))
    desk.order(items=("B2:M:1",), amount="199.00", buyer="tb_someone_else", now=at("11-19"))
    far = desk.order(items=("C3:M:1",), amount="199.00", now=at("11-22", "10:01"))  # 4 days after
    assert not [a for a in desk.alerts() if a["alert"] == "remit.duplicate"]
    near = desk.order(items=("D4:M:1",), amount="199.00", now=at("11-23", "09:00"))
    pairs = {(a["record"], a["subject"].split(" ")[0]) for a in desk.alerts() if a["alert"] == "remit.duplicate"}
    assert pairs == {(near, f"{near}:")}
    desk.act(far, "cancel", "--reason", "重复", who="wang")
    desk.act(first, "cancel", "--reason", "重复", who="wang")
    assert not [a for a in desk.alerts() if a["alert"] == "remit.duplicate"]


# ----- 7. the daily register and its review ----------------------------------------------------

def test_the_register_lists_the_day_as_it_left_each_order_with_totals_per_state(desk: Desk) -> None:
    a = desk.order(amount="576.00", now=at("11-20", "09:00"))
    desk.pay(a, day="2026-11-20", now=at("11-20", "10:00"))
    desk.verify(a, now=at("11-20", "16:00"))
    desk.act(a, "ship", "--waybill", "SF1", who="li", now=at("11-21", "09:00"))
    b = desk.order(amount="1288.00", buyer="alice_tan", items=("X1:S:1",), who="mei", now=at("11-20", "23:59"))
    desk.pay(b, amount="1280.00", day="2026-11-20", who="mei", now=at("11-21", "00:00"))
    desk.order(amount="99.00", buyer="tb_next", items=("Y1:S:1",), now=at("11-21", "00:00"))

    day = desk.register("2026-11-20")
    assert [(r["id"], r["status"], r["amount"], r["paid"], r["actions"]) for r in day["rows"]] == [
        (a, "verified", "576.00", "576.00", ["created", "paid", "verified"]),
        (b, "ordered", "1288.00", "0.00", ["created"]),
    ]
    assert day["totals"] == {"ordered": {"count": 1, "amount": "1288.00", "paid": "0.00"},
                             "verified": {"count": 1, "amount": "576.00", "paid": "576.00"}}
    assert day["total"] == {"count": 2, "amount": "1864.00", "paid": "576.00"}
    assert day["review"] is None

    next_day = desk.register("2026-11-21")
    assert [(r["id"], r["status"], r["difference"]) for r in next_day["rows"]] == [
        (a, "shipped", None), (b, "paid", "-8.00"), (next_day["rows"][2]["id"], "ordered", None)]
    assert desk.register("2026-11-19")["rows"] == []


def test_the_register_in_every_format(desk: Desk, tmp_path: Path) -> None:
    remit_id = desk.order(buyer="tb_林晓燕")
    table = desk.ok("remit", "register", "--date", "2026-11-23", lang="zh")
    assert "汇款销售记录表 2026-11-23" in table
    assert "待汇款" in table
    assert "合计" in table
    assert "未审核" in table
    markdown = desk.ok("remit", "register", "--date", "2026-11-23", "--format", "markdown")
    assert f"| {remit_id} |" in markdown
    text = desk.ok("remit", "register", "--date", "2026-11-23", "--format", "csv")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["ID", "buyer", "agent"]
    assert rows[1][:2] == [remit_id, "tb_林晓燕"]
    workbook = tmp_path / "out" / "register.xlsx"
    workbook.parent.mkdir()
    assert desk.ok("remit", "register", "--date", "2026-11-23", "--format", "xlsx", "--output", str(workbook)) == ""
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    book = load_workbook(workbook)
    assert book.sheetnames == ["2026-11-23", "totals"]
    assert [c.value for c in book["2026-11-23"][2]][:5] == [remit_id, "tb_林晓燕", "wang", "LY2611-07:M:2", 576]
    assert list(workbook.parent.iterdir()) == [workbook]  # no temp file left
    out = tmp_path / "register.json"
    desk.ok("remit", "register", "--date", "2026-11-23", "--format", "json", "--output", str(out))
    assert json.loads(out.read_text(encoding="utf-8"))["rows"][0]["id"] == remit_id


def test_review_signs_the_day_and_a_later_edit_is_detected(desk: Desk) -> None:
    a = desk.order(now=at("11-20", "09:00"))
    desk.pay(a, day="2026-11-20", now=at("11-20", "10:00"))
    b = desk.order(buyer="tb_b", items=("B1:M:1",), amount="99", now=at("11-20", "11:00"))
    day = "2026-11-20"
    unreviewed = [x for x in desk.alerts(now=at("11-21")) if x["alert"] == "remit.unreviewed"]
    assert [(x["record"], x["agent"], x["role"]) for x in unreviewed] == [(day, None, "supervisor")]
    assert [x["alert"] for x in desk.alerts("--agent", "lead", now=at("11-21"))].count("remit.unreviewed") == 1
    assert "remit.unreviewed" not in [x["alert"] for x in desk.alerts("--agent", "wang", now=at("11-21"))]

    desk.refused("remit", "review", "--date", day, who="wang", code=3)
    desk.refused("remit", "review", "--date", "2026-11-19", who="lead", now=at("11-21"), says="no remittances")
    desk.refused("remit", "review", "--date", "2026-11-22", who="lead", now=at("11-21"), says="future")
    assert desk.ok("remit", "review", "--date", day, who="lead", now=at("11-21", "09:30")) == f"{day}\n"
    desk.refused("remit", "review", "--date", day, who="lead", now=at("11-21", "09:40"), says="already reviewed")
    review = desk.register(day, now=at("11-21", "09:45"))["review"]
    assert (review["reviewed_by"], review["signed"], review["changed"]) == ("lead", True, [])
    # Work on a later day does not unsign the day; an edit of that day's record does.
    desk.verify(a, now=at("11-21", "10:00"))
    assert desk.register(day, now=at("11-21", "10:05"))["review"]["signed"] is True
    assert not [x for x in desk.alerts(now=at("11-22")) if x["record"] == day]
    path = desk.path(b)
    path.write_text(path.read_text(encoding="utf-8").replace('amount = "99.00"', 'amount = "9.00"'), encoding="utf-8")
    review = desk.register(day, now=at("11-22"))["review"]
    assert (review["signed"], review["changed"]) == (False, [b])
    (alert,) = [x for x in desk.alerts(now=at("11-22")) if x["record"] == day]
    assert b in alert["subject"]
    assert b in desk.ok("remit", "register", "--date", day, now=at("11-22"))
    # Signed again, the history keeps both reviews.
    desk.ok("remit", "review", "--date", day, who="boss", now=at("11-22", "09:00"))
    reviews = tomllib.loads((desk.ledger / "records" / "reviews" / "2026" / "11" / f"{day}.toml").read_text())
    assert [(e["by"], e["action"]) for e in reviews["events"]] == [("lead", "reviewed"), ("boss", "reviewed")]
    assert desk.register(day, now=at("11-22", "09:05"))["review"]["signed"] is True


def test_days_before_reviews_from_and_today_are_not_alerts(desk: Desk) -> None:
    desk.order(now=at("11-19"))
    desk.order(buyer="tb_today", items=("Z1:M:1",))
    assert [x["record"] for x in desk.alerts() if x["alert"] == "remit.unreviewed"] == ["2026-11-19"]
    desk.edit_config("reviews_from", "2026-11-20", "remittances")
    assert not [x for x in desk.alerts() if x["alert"] == "remit.unreviewed"]


# ----- 9. reading ---------------------------------------------------------------------------

def test_list_filters_and_show_masks_the_address_unless_revealed(desk: Desk) -> None:
    a = desk.order(now=at("11-20"))
    b = desk.order(buyer="alice_tan", items=("X1:S:1",), who="mei", now=at("11-22"))
    desk.pay(b, who="mei")
    assert [r["id"] for r in desk.json("remit", "list")] == [a, b]
    assert [r["id"] for r in desk.json("remit", "list", "--status", "paid")] == [b]
    assert [r["id"] for r in desk.json("remit", "list", "--buyer", "tb_林晓燕")] == [a]
    assert [r["id"] for r in desk.json("remit", "list", "--agent", "mei")] == [b]
    assert [r["id"] for r in desk.json("remit", "list", "--from", "2026-11-21")] == [b]
    assert [r["id"] for r in desk.json("remit", "list", "--to", "2026-11-21")] == [a]
    desk.refused("remit", "list", "--agent", "nobody", says="nobody")
    for style in ("table", "markdown", "csv"):
        out = desk.ok("remit", "list", "--format", style)
        assert a in out
        assert b in out
    shown = desk.show(a)
    assert shown["address"] != ADDRESS
    assert "13857123456" not in json.dumps(shown, ensure_ascii=False)
    for style in ("table", "csv", "markdown"):
        assert "13857123456" not in desk.ok("remit", "show", a, "--format", style)
    desk.refused("remit", "show", a, "--reveal", who="sales", code=3)
    revealed = desk.json("remit", "show", a, "--reveal", who="lead")
    assert revealed["address"] == ADDRESS
    assert desk.file(a)["events"][-1] == {"at": dt.datetime.fromisoformat(NOW), "by": "lead", "action": "revealed",
                                          "fields": ["address"]}
    desk.refused("remit", "show", "R-261123-ZZZZZ", says="R-261123-ZZZZZ")
    desk.refused("remit", "show", "T-261123-ZZZZZ")
    desk.clean()


def test_a_hand_edited_status_is_a_check_error(desk: Desk) -> None:
    remit_id = desk.order()
    path = desk.path(remit_id)
    path.write_text(path.read_text(encoding="utf-8").replace('status = "ordered"', 'status = "shipped"'),
                    encoding="utf-8")
    result = desk.run("check")
    assert result.exit_code == 1
    assert "status is shipped, but the history says ordered" in result.stdout


def test_payments_edited_away_from_the_history_are_read_as_unreadable_not_as_paid(desk: Desk) -> None:
    """The history is the truth: a stored table saying 576.00 where the notice said 500.00 must not silence
    the difference alert, show 576.00 or let verify skip --accept-difference."""
    remit_id = desk.order()
    desk.pay(remit_id, amount="500.00")
    path = desk.path(remit_id)
    edited = path.read_text(encoding="utf-8").replace('amount = "500.00"', 'amount = "576.00"', 1)
    assert 'amount = "500.00"' in edited  # the payment event still says what was paid
    path.write_text(edited, encoding="utf-8")
    says = "payments is [2026-11-23 576.00], but the history says [2026-11-23 500.00]"
    found = [a for a in desk.alerts() if a["alert"] == "record.unreadable"]
    assert len(found) == 1
    assert remit_id in found[0]["record"]
    assert says in found[0]["subject"]
    desk.refused("remit", "show", remit_id, says=says)
    desk.refused("remit", "verify", remit_id, "--reference", "R1", who="lead", says=says)
    desk.refused("remit", "paid", remit_id, "--date", "2026-11-23", "--method", "网银转账", "--bank", "工行",
                 "--amount", "76", says=says)
    desk.refused("remit", "cancel", remit_id, "--reason", "x", says=says)
    listed = desk.run("remit", "list", "--format", "json")
    assert json.loads(listed.stdout) == []
    assert says in listed.stderr


def test_a_broken_remittance_is_an_alert_and_is_skipped_by_listings(desk: Desk) -> None:
    good = desk.order()
    bad = desk.order(buyer="tb_bad", items=("B1:M:1",))
    desk.path(bad).write_text("id = \n", encoding="utf-8")
    result = desk.run("remit", "list", "--format", "json")
    assert result.exit_code == 0
    assert [r["id"] for r in json.loads(result.stdout)] == [good]
    assert result.stderr == (f"csctl: 1 remittance file(s) could not be read and are not listed (run csctl check);"
                             f" first: records/remittances/2026/11/{bad}.toml:1: TOML syntax: string values must be"
                             " quoted, expected literal string\n")
    assert any(a["alert"] == "record.unreadable" and bad in a["record"] for a in desk.alerts())


# ----- 10. the demo ledger --------------------------------------------------------------------

def test_the_demo_ledger_has_remittances_in_every_state() -> None:
    root = Path(__file__).resolve().parents[1] / "records" / "remittances"
    states = {tomllib.loads(p.read_text(encoding="utf-8"))["status"] for p in root.rglob("*.toml")}
    assert states == {"ordered", "paid", "verified", "shipped", "cancelled"}


# ----- totals add up to the cent (property) ----------------------------------------------------

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)


def _remittance(index: int, amount: Decimal, paid: Decimal | None, created: dt.datetime) -> Remittance:
    events: list[dict[str, Any]] = [{"at": created, "by": "wang", "action": "created"}]
    if paid is not None:
        events.append({"at": created, "by": "wang", "action": "paid", "date": created.date(), "method": "网银",
                       "bank": "工行", "amount": str(paid)})
    return Remittance.model_validate({
        "id": f"R-261120-{index:05d}", "created": created, "buyer": f"b{index}", "agent": "wang",
        "address": "地址", "amount": str(amount), "status": "paid" if paid is not None else "ordered",
        "items": [{"code": "A1", "size": "M", "qty": 1}],
        "payments": [] if paid is None else [{"date": created.date(), "method": "网银", "bank": "工行",
                                              "amount": str(paid)}],
        "events": events,
    })


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(AMOUNTS, st.none() | AMOUNTS), min_size=1, max_size=40))
def test_register_totals_add_up_to_the_cent_both_ways(orders: list[tuple[Decimal, Decimal | None]]) -> None:
    config = LedgerConfig(team=TeamSettings(name="t"))
    created = dt.datetime(2026, 11, 20, 12, 0, tzinfo=config.tz)
    remits = [_remittance(i, amount, paid, created) for i, (amount, paid) in enumerate(orders)]
    rows = flow.register_rows(remits, dt.date(2026, 11, 20), config)
    sums = flow.totals(rows)
    assert sum(t.count for t in sums.values()) == len(orders)
    assert sum((t.amount for t in sums.values()), Decimal(0)) == sum((a for a, _ in orders), Decimal(0))
    assert sum((t.paid for t in sums.values()), Decimal(0)) == sum((p or Decimal(0) for _, p in orders), Decimal(0))
    assert all(t.amount.as_tuple().exponent == -2 for t in sums.values())


def test_a_verdict_follows_the_other_order_when_it_is_renamed() -> None:
    created = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    events = [Event(at=created, by="wang", action="created"),
              Event(at=created, by="lead", action="not_duplicate", of="R-261120-AAAAA", reason="两位家人"),
              Event(at=created, by="adm", action="renamed", field="not_duplicate_of", old_id="R-261120-AAAAA",
                    new_id="R-261120-BBBBB")]
    assert flow.replay("R-261120-CCCCC", events).not_duplicate_of == ["R-261120-BBBBB"]


def test_a_reveal_or_a_note_does_not_put_an_order_in_a_days_register(desk: Desk) -> None:
    remit_id = desk.order(now=at("11-22"))
    desk.ok("remit", "review", "--date", "2026-11-22", who="lead", now=at("11-23", "09:00"))
    desk.json("remit", "show", remit_id, "--reveal", who="lead", now=at("11-23", "09:10"))
    desk.act(remit_id, "note", "买家来电确认地址", now=at("11-23", "09:20"))
    assert desk.register("2026-11-23", now=at("11-24"))["rows"] == []
    assert not [a for a in desk.alerts(now=at("11-24")) if a["alert"] == "remit.unreviewed"]


def test_text_that_would_start_a_formula_stays_text_in_csv_and_xlsx(desk: Desk, tmp_path: Path) -> None:
    desk.order(buyer='=HYPERLINK("http://x.example","点我")')
    text = desk.ok("remit", "register", "--date", "2026-11-23", "--format", "csv")
    assert "'=HYPERLINK" in text
    workbook = tmp_path / "r.xlsx"
    desk.ok("remit", "register", "--date", "2026-11-23", "--format", "xlsx", "--output", str(workbook))
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    cell = load_workbook(workbook)["2026-11-23"]["B2"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://x.example","点我")'


def test_a_merged_history_out_of_time_order_is_reported_not_a_failure(desk: Desk) -> None:
    remit_id = desk.order(now=at("11-20", "10:00"))
    desk.pay(remit_id, day="2026-11-20", now=at("11-20", "11:00"))
    desk.verify(remit_id, now=at("11-21", "10:00"))
    path = desk.path(remit_id)
    # As a merge leaves it: `created` earlier than the first event, and a shipment written last but dated
    # before the verification (the other clone back-dated it with --at).
    path.write_text(path.read_text(encoding="utf-8").replace("created = 2026-11-20T10", "created = 2026-11-19T10")
                    .replace('status = "verified"', 'status = "shipped"').replace(
                        'verified_by = "lead"', 'verified_by = "lead"\nwaybill = "SF1"')
                    + '\n[[events]]\nat = 2026-11-20T12:00:00+08:00\nby = "li"\naction = "shipped"\n'
                      'recorded_at = 2026-11-22T09:00:00+08:00\nwaybill = "SF1"\n', encoding="utf-8")
    for day in ("2026-11-19", "2026-11-20", "2026-11-21"):
        assert desk.run("remit", "register", "--date", day, "--format", "json", now=at("11-23")).exit_code == 0
        assert desk.run("report", "daily", "--date", day, "--format", "json", now=at("11-23")).exit_code == 0
