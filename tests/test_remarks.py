"""Remarks on orders through the CLI: writing them in their shape, reading, parse and lint, the refund
register, balance chains, alerts and `check` (issue 5, SPEC §3, §4, §5).

The fixture ledger's team: `wang` 小王 (agent), `li` 小李 (assistant), `lead` 张主管 (supervisor),
`sales` (viewer). NOW is Monday 2026-11-23 09:30 (+08:00); the clock moves with CSCTL_NOW.
Every refusal is one `csctl: ` line on stderr, nothing on stdout, every file as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from csctl.domain.remarks import deductions_from, readable, refunds_from, remark_alerts
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store
from tests.conftest import NOW, Invoke, run_csctl, snapshot


def at(clock: str, day: str = "11-23") -> str:
    return f"2026-{day}T{clock}:00+08:00"


class Desk:
    def __init__(self, invoke: Invoke, ledger: Path) -> None:
        self.invoke = invoke
        self.ledger = ledger

    def run(self, *args: str, who: str = "wang", now: str = NOW, lang: str = "en", input: str | None = None) -> Result:
        return self.invoke("--lang", lang, *args, env={"CSCTL_AGENT": who, "CSCTL_NOW": now}, input=input)

    def ok(self, *args: str, **kw: Any) -> str:
        result = self.run(*args, **kw)
        assert result.exit_code == 0, (args, result.exit_code, result.stdout, result.stderr)
        return result.stdout

    def refused(self, *args: str, code: int = 2, says: str = "", **kw: Any) -> str:
        before = snapshot(self.ledger)
        result = self.run(*args, **kw)
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("csctl: ")
        assert says in lines[0], lines[0]
        assert snapshot(self.ledger) == before, "a refused command changed a file"
        return lines[0]

    def remark(self, order: str, kind: str, *fields: str, who: str = "wang", now: str = NOW) -> str:
        return self.ok("remark", "add", order, kind, *fields, who=who, now=now).rstrip("\n")

    def file(self, order: str, month: str = "2026/11") -> Path:
        return self.ledger / "records" / "remarks" / month / f"{order}.toml"

    def store(self) -> Store:
        return Store(Ledger(self.ledger))


@pytest.fixture
def desk(invoke: Invoke, ledger: Path) -> Desk:
    return Desk(invoke, ledger)


def chain_of_three(desk: Desk) -> None:
    """tb_王丽: 50.00 -20 -> 30.00 (1001), -10 -> 20.00 (1002), cleared (1003)."""
    desk.remark("1001", "balance_deduct", "amount=20", "balance=30", "--buyer", "tb_王丽", now=at("09:30"))
    desk.remark("1002", "balance_deduct", "amount=10", "balance=20", "--buyer", "tb_王丽", now=at("10:00"))
    desk.remark("1003", "balance_clear", "amount=20", "--buyer", "tb_王丽", now=at("11:00"))


REFUND = ("item=A123", "kind=邮费", "amount=15", "via=支付宝", "account=xt.lilili@163.com", "holder=李莉莉")


# ----- remark add ------------------------------------------------------------------------------

def test_add_renders_with_name_and_date_and_files_the_order(desk: Desk) -> None:
    text = desk.remark("3291055820147733", "balance_deduct", "amount=20", "balance=30", "--buyer", "tb_王丽")
    assert text == "扣除余额20.00元,还剩余额30.00+小王/11.23"
    desk.remark("3291055820147733", "printed", who="li", now=at("17:05"))
    assert desk.file("3291055820147733").read_text(encoding="utf-8") == '''id = "3291055820147733"
created = 2026-11-23T09:30:00+08:00
buyer = "tb_王丽"

[[remarks]]
at = 2026-11-23T09:30:00+08:00
by = "wang"
kind = "balance_deduct"
text = "扣除余额20.00元,还剩余额30.00+小王/11.23"

[[remarks]]
at = 2026-11-23T17:05:00+08:00
by = "li"
kind = "printed"
text = "11.23"

[[events]]
at = 2026-11-23T09:30:00+08:00
by = "wang"
action = "remarked"
kind = "balance_deduct"

[[events]]
at = 2026-11-23T17:05:00+08:00
by = "li"
action = "remarked"
kind = "printed"
'''


def test_full_width_values_and_titles_are_accepted(desk: Desk) -> None:
    assert desk.remark("1001", "扣除多收邮费", "item=Ａ１２３", "amount＝８") == "扣除多收A123的邮费8.00元+小王/11.23"
    assert desk.remark("1001", "stock_unpaid", "via=电话", now=at("10:00")) == "此款无货+已电话通知买家+小王+11.23"


def test_date_format_comes_from_the_ledger(desk: Desk) -> None:
    config = desk.ledger / "csctl.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('date_format = "%m.%d"', 'date_format = "%Y-%m-%d"'),
                      encoding="utf-8")
    assert desk.remark("1001", "copied") == "小王/2026-11-23"
    assert json.loads(desk.ok("remark", "parse", "小王/2026-11-23"))["shape"] == "copied"


def test_back_dated_remark_keeps_the_time_it_was_typed(desk: Desk) -> None:
    desk.ok("remark", "add", "1001", "copied", "--at", "2026-11-22T16:00")
    data = tomllib.loads(desk.file("1001").read_text(encoding="utf-8"))
    assert data["remarks"][0]["text"] == "小王/11.22"
    assert data["events"][0]["recorded_at"] == dt.datetime.fromisoformat(NOW)
    desk.refused("remark", "add", "1001", "copied", "--at", "2026-11-22T15:00", says="before the order's last remark")


@pytest.mark.parametrize(("args", "says"), [
    (("balance_deduct", "amount=abc", "balance=30", "--buyer", "b"), "amount: not an amount in yuan"),
    (("balance_deduct", "amount=20", "--buyer", "b"), "balance: is required"),
    (("balance_deduct", "amount=20", "balance=30", "colour=red", "--buyer", "b"), "colour: not a field"),
    (("balance_deduct", "amount", "balance=30"), "'amount': write FIELD=VALUE"),
    (("balance_deduct", "amount=1", "amount=2"), "field amount is given twice"),
    (("balance_deduct", "amount=20", "balance=30"), "give the buyer's ID with --buyer"),
    (("cancel_unpaid", "stocker=小美+小张"), "stocker: must not contain +"),
    (("no_such_shape",), "no remark shape 'no_such_shape'"),
    (("copied", "agent=小李"), "agent is filled in by csctl"),
])
def test_bad_values_are_refused_and_nothing_is_written(desk: Desk, args: tuple[str, ...], says: str) -> None:
    desk.refused("remark", "add", "1001", *args, says=says)


def test_bad_order_numbers_and_another_buyer_are_refused(desk: Desk) -> None:
    desk.refused("remark", "add", "../etc", "copied", says="order number '../etc'")
    desk.remark("1001", "copied", "--buyer", "tb_王丽")
    desk.refused("remark", "add", "1001", "copied", "--buyer", "tb_李四", says="order 1001 is buyer tb_王丽's")


def test_a_viewer_may_read_but_not_write(desk: Desk) -> None:
    desk.remark("1001", "copied")
    desk.refused("remark", "add", "1001", "copied", who="sales", code=3, says="viewer may not write remarks")
    desk.refused("refund", "register", "1001", who="sales", code=3)
    desk.refused("balance", "register", "1001", who="sales", code=3)
    assert "小王/11.23" in desk.ok("remark", "list", who="sales")


def test_the_writer_rule_warns_but_writes(desk: Desk) -> None:
    result = desk.run("remark", "add", "1001", "label_fixed")
    assert result.exit_code == 0
    assert result.stdout == "面单地址已改+小王/11.23\n"
    assert result.stderr == ("csctl: label_fixed is written by the assistant (whoever handles it writes it), "
                             "but wang is agent\n")
    result = desk.run("remark", "add", "1001", "label_fixed", who="li", now=at("10:00"))
    assert (result.exit_code, result.stderr) == (0, "")


# ----- reading ---------------------------------------------------------------------------------

def test_list_filters_and_every_format(desk: Desk) -> None:
    chain_of_three(desk)
    desk.remark("1001", "printed", who="li", now=at("17:00"))
    rows = json.loads(desk.ok("remark", "list", "--format", "json"))
    assert [(r["order"], r["kind"]) for r in rows] == [
        ("1001", "balance_deduct"), ("1002", "balance_deduct"), ("1003", "balance_clear"), ("1001", "printed")]
    assert rows[0] == {"at": "2026-11-23T09:30:00+08:00", "order": "1001", "buyer": "tb_王丽", "by": "wang",
                       "kind": "balance_deduct", "text": "扣除余额20.00元,还剩余额30.00+小王/11.23"}
    assert len(json.loads(desk.ok("remark", "list", "--order", "1001", "--format", "json"))) == 2
    assert [r["by"] for r in json.loads(desk.ok("remark", "list", "--agent", "li", "--format", "json"))] == ["li"]
    assert len(json.loads(desk.ok("remark", "list", "--kind", "余额已登记", "--format", "json"))) == 0
    assert len(json.loads(desk.ok("remark", "list", "--group", "price", "--format", "json"))) == 3
    assert len(json.loads(desk.ok("remark", "list", "--from", "2026-11-24", "--format", "json"))) == 0
    table = desk.ok("remark", "list", "--buyer", "tb_王丽", lang="zh")
    assert table.splitlines()[0].split() == ["时间", "订单号", "买家", "操作人", "格式", "备注"]
    body = list(csv.reader(io.StringIO(desk.ok("remark", "list", "--format", "csv").lstrip("\ufeff"))))
    assert body[0] == ["at", "order", "buyer", "by", "shape", "remark"]
    assert len(body) == 5
    assert desk.ok("remark", "list", "--format", "markdown").startswith("| at ")
    desk.refused("remark", "list", "--agent", "nobody", says="nobody")


def test_kinds_lists_every_shape_with_its_pattern(desk: Desk) -> None:
    kinds = json.loads(desk.ok("remark", "kinds", "--format", "json"))
    assert len(kinds) == 39
    deduct = next(k for k in kinds if k["name"] == "balance_deduct")
    assert deduct["pattern"] == "扣除余额{amount:yuan}元,还剩余额{balance:yuan}+{agent}/{date}"
    assert deduct["fields"] == [{"name": "amount", "type": "yuan"}, {"name": "balance", "type": "yuan"}]
    for style in ("table", "csv", "markdown"):
        assert "balance_deduct" in desk.ok("remark", "kinds", "--format", style)
    assert len(desk.ok("remark", "kinds", "--group", "stock").splitlines()) == 2 + 3


def test_parse_prints_json_for_scripts(desk: Desk) -> None:
    data = json.loads(desk.ok("remark", "parse", "扣除余额２０元，还剩余额３０＋小王／11.23"))
    assert data == {"shape": "balance_deduct", "title": "扣除余额", "group": "price", "writer": "agent",
                    "values": {"amount": "20.00", "balance": "30.00", "agent": "小王", "date": "11.23"},
                    "canonical": "扣除余额20.00元,还剩余额30.00+小王/11.23"}
    assert "canonical" in desk.ok("remark", "parse", "小王/11.23", "--format", "table")
    line = desk.refused("remark", "parse", "扣除余额20元,余额清零+小王",
                        says="nearest balance_clear (Balance deducted to zero), departs after 15 characters")
    assert line.endswith("expected 「/」, found the end of the text")


# ----- lint ------------------------------------------------------------------------------------

PASTED = "\n".join([
    "扣除余额２０元，还剩余额３０＋小王／11.23",  # fits, in full width
    "",
    "扣除余额20元,余额清零+小王",  # no date
    "面单地址已改+小王/11.23",  # an assistant's remark signed by an agent
    "随便写点",
    "此款无货 + 已旺旺通知买家 + 小王 + 11.23",
]) + "\n"


def test_lint_reports_each_bad_line_and_exits_1(desk: Desk, tmp_path: Path) -> None:
    pasted = tmp_path / "pasted.txt"
    pasted.write_text(PASTED, encoding="utf-8")
    result = desk.run("remark", "lint", str(pasted))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "line 3: 扣除余额20元,余额清零+小王: nearest balance_clear (Balance deducted to zero), departs after 15 "
        "characters: expected 「/」, found the end of the text",
        "line 4: label_fixed is written by the assistant (whoever handles it writes it), but wang is agent (warning)",
        "line 5: 随便写点: fits no remark shape (differs from the start)",
    ]
    clean = tmp_path / "clean.txt"
    clean.write_text("小王/11.23\n面单地址已改+小李/11.23\n", encoding="utf-8")
    assert desk.run("remark", "lint", str(clean)).exit_code == 0


def test_lint_fix_rewrites_what_fits_idempotently(desk: Desk, tmp_path: Path) -> None:
    pasted = tmp_path / "pasted.txt"
    pasted.write_text(PASTED, encoding="utf-8")
    result = desk.run("remark", "lint", "--fix", str(pasted))
    assert result.exit_code == 1
    assert "rewrote 2 line(s)" in result.stderr
    fixed = pasted.read_text(encoding="utf-8").splitlines()
    assert fixed[0] == "扣除余额20.00元,还剩余额30.00+小王/11.23"
    assert fixed[2] == "扣除余额20元,余额清零+小王"  # fits nothing: left as typed
    assert fixed[5] == "此款无货+已旺旺通知买家+小王+11.23"
    before = pasted.read_bytes()
    again = desk.run("remark", "lint", "--fix", str(pasted))
    assert "rewrote 0 line(s)" in again.stderr
    assert pasted.read_bytes() == before


def test_lint_reads_stdin_and_fix_writes_stdout(desk: Desk) -> None:
    result = desk.run("remark", "lint", "-", input="扣除余额20元,余额清零+小王\n")
    assert (result.exit_code, result.stdout.count("line 1: ")) == (1, 1)
    result = desk.run("remark", "lint", "--fix", "-", input="此款无货＋已电话通知买家＋小王＋11.23\n")
    assert (result.exit_code, result.stdout) == (0, "此款无货+已电话通知买家+小王+11.23\n")


def test_lint_of_a_missing_file_is_exit_2(desk: Desk, tmp_path: Path) -> None:
    desk.refused("remark", "lint", str(tmp_path / "none.txt"), says="cannot read")


# ----- balance chains --------------------------------------------------------------------------

def test_a_deduction_that_breaks_the_chain_is_refused(desk: Desk) -> None:
    desk.remark("1001", "balance_deduct", "amount=20", "balance=30", "--buyer", "tb_王丽")
    desk.refused("remark", "add", "1002", "balance_deduct", "amount=10", "balance=25", "--buyer", "tb_王丽",
                 now=at("10:00"), says="buyer tb_王丽's balance does not chain: remaining 25.00, expected 20.00 "
                                       "(1001#1 on 2026-11-23 09:30 left 30.00, minus 10.00)")
    desk.refused("remark", "add", "1002", "balance_clear", "amount=20", "--buyer", "tb_王丽", now=at("10:00"),
                 says="remaining 0.00, expected 10.00")
    # Another buyer's chain is their own.
    desk.remark("1002", "balance_deduct", "amount=10", "balance=25", "--buyer", "tb_李四", now=at("10:00"))


def _chain_shown(desk: Desk, buyer: str) -> list[tuple[str, str]]:
    data = json.loads(desk.ok("balance", "show", buyer, "--format", "json"))
    return [(d["remark"], d["chain"]) for d in data["deductions"]]


def test_deductions_back_dated_to_one_minute_chain_in_the_order_they_were_typed(desk: Desk) -> None:
    # Order 2000 was deducted first; both are back-dated to 10:00, typed at 15:00 and 15:01.
    desk.ok("remark", "add", "2000", "balance_deduct", "amount=20", "balance=30", "--buyer", "tb_w",
            "--at", "2026-11-23T10:00", now=at("15:00"))
    desk.ok("remark", "add", "1000", "balance_deduct", "amount=10", "balance=20", "--buyer", "tb_w",
            "--at", "2026-11-23T10:00", now=at("15:01"))
    assert _chain_shown(desk, "tb_w") == [("2000#1", "first"), ("1000#1", "ok")]
    assert desk.run("check").exit_code == 0
    # The next one continues from the last typed, not the smaller order number.
    desk.refused("remark", "add", "3000", "balance_deduct", "amount=5", "balance=25", "--buyer", "tb_w",
                 "--at", "2026-11-23T10:00", now=at("15:02"), says="remaining 25.00, expected 15.00")


def test_deductions_typed_in_one_second_chain_in_the_order_that_holds(desk: Desk) -> None:
    # A script with a fixed clock: nothing tells the two apart but their balances.
    desk.remark("3001", "balance_deduct", "amount=20", "balance=30", "--buyer", "tb_s")
    desk.remark("3000", "balance_deduct", "amount=10", "balance=20", "--buyer", "tb_s")
    desk.remark("2999", "balance_clear", "amount=20", "--buyer", "tb_s")
    assert _chain_shown(desk, "tb_s") == [("3001#1", "first"), ("3000#1", "ok"), ("2999#1", "ok")]
    assert desk.run("check").exit_code == 0
    # With no order that holds, the break is reported by order number, the same each time.
    desk.refused("remark", "add", "2998", "balance_deduct", "amount=1", "balance=7", "--buyer", "tb_s",
                 says="expected")
    path = desk.file("3000")
    path.write_text(path.read_text(encoding="utf-8").replace("还剩余额20.00", "还剩余额21.00"), encoding="utf-8")
    shown = _chain_shown(desk, "tb_s")
    assert shown == [("2999#1", "first"), ("3000#1", "broken"), ("3001#1", "broken")]
    assert _chain_shown(desk, "tb_s") == shown


def test_balance_show_in_every_format(desk: Desk) -> None:
    chain_of_three(desk)
    # The notified form on the same order repeats that deduction: not a link of its own.
    desk.remark("1003", "balance_clear_notified", "amount=20", now=at("11:01"))
    data = json.loads(desk.ok("balance", "show", "tb_王丽", "--format", "json"))
    assert data["remaining"] == "0.00"
    assert [(d["remark"], d["amount"], d["remaining"], d["expected"], d["chain"]) for d in data["deductions"]] == [
        ("1001#1", "20.00", "30.00", None, "first"), ("1002#1", "10.00", "20.00", "20.00", "ok"),
        ("1003#1", "20.00", "0.00", "0.00", "ok")]
    assert data["repeats"] == [{"remark": "1003#2", "repeats": "1003#1"}]
    table = desk.ok("balance", "show", "tb_王丽")
    assert "(first)" in table
    assert table.rstrip().endswith("buyer tb_王丽: remaining 0.00")
    assert len(list(csv.reader(io.StringIO(desk.ok("balance", "show", "tb_王丽", "--format", "csv"))))) == 4
    assert desk.ok("balance", "show", "tb_王丽", "--format", "markdown").startswith("| at ")
    result = desk.run("balance", "show", "tb_nobody")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "no balance deductions" in result.stderr
    listed = json.loads(desk.ok("balance", "list", "--unregistered", "--format", "json"))
    assert [d["remark"] for d in listed] == ["1001#1", "1002#1", "1003#1"]


def _break_chain(desk: Desk) -> Path:
    """A hand edit (or a merge) leaves 1002 saying 25.00 where 30.00 - 10.00 is 20.00."""
    chain_of_three(desk)
    path = desk.file("1002")
    path.write_text(path.read_text(encoding="utf-8").replace("还剩余额20.00", "还剩余额25.00"), encoding="utf-8")
    return path


def test_check_reports_a_chain_break_naming_both_remarks(desk: Desk) -> None:
    _break_chain(desk)
    result = desk.run("check")
    assert result.exit_code == 1
    assert ("records/remarks/2026/11/1002.toml:9: buyer tb_王丽's balance does not chain: remaining 25.00, "
            "expected 20.00 (1001#1 on 2026-11-23 09:30 left 30.00, minus 10.00)") in result.stdout
    assert ("records/remarks/2026/11/1003.toml:9: buyer tb_王丽's balance does not chain: remaining 0.00, "
            "expected 5.00 (1002#1 on 2026-11-23 10:00 left 25.00, minus 20.00)") in result.stdout
    # Checking one file still judges it against the whole chain.
    one = desk.run("check", str(desk.file("1003")))
    assert "expected 5.00 (1002#1" in one.stdout
    assert "1002.toml" not in one.stdout


def test_check_lints_every_stored_remark(desk: Desk) -> None:
    desk.remark("1001", "copied")
    desk.remark("1001", "label_fixed", now=at("10:00"))
    path = desk.file("1001")
    text = path.read_text(encoding="utf-8")
    text = text.replace('text = "小王/11.23"', 'text = "小王/13.45"').replace('kind = "label_fixed"\ntext',
                                                                          'kind = "label_gone"\ntext')
    path.write_text(text, encoding="utf-8")
    result = desk.run("check")
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if "1001.toml" in line]
    assert lines == [
        "records/remarks/2026/11/1001.toml:8: remarks.0.text: does not fit its shape: nearest copied (Order copied), "
        "departs after 3 characters: expected a date (e.g. 11.23), found 「13.45」",
        "records/remarks/2026/11/1001.toml:13: remarks.1.kind: no remark shape label_gone (csctl remark kinds)",
        "records/remarks/2026/11/1001.toml:22: events.1: differs from remarks.1 in who, when or kind",
    ]


def test_a_balance_deduction_without_the_balance_left_is_no_special_price_change(desk: Desk,
                                                                               tmp_path: Path) -> None:
    """Seed 001 knows 扣除余额 only with 还剩余额 or 余额清零: written as price_special with reason 余额 it would
    skip the chain, the registration and the alerts."""
    nearest = "nearest balance_deduct (Balance deduction), departs after 10 characters: expected 「,还剩余额」"
    desk.refused("remark", "add", "1001", "price_special", "reason=余额", "amount=20", says=nearest)
    desk.refused("remark", "parse", "扣除余额20.00元+小王/11.22", says=nearest)
    pasted = tmp_path / "pasted.txt"
    pasted.write_text("扣除余额20元+小王/11.22\n", encoding="utf-8")
    result = desk.run("remark", "lint", str(pasted))
    assert result.exit_code == 1
    assert "nearest balance_deduct (Balance deduction), departs after 7 characters" in result.stdout
    # Any other reason is still a special price change, 余额 inside it included.
    desk.remark("1001", "price_special", "reason=老顾客余额", "amount=5")
    # One stored before (or typed into the file) is named for what it comes nearest to.
    path = desk.file("1001")
    path.write_text(path.read_text(encoding="utf-8").replace("扣除老顾客余额", "扣除余额"), encoding="utf-8")
    result = desk.run("check")
    assert result.exit_code == 1
    assert ("records/remarks/2026/11/1001.toml:8: remarks.0.text: does not fit its shape: nearest balance_deduct "
            "(Balance deduction), departs after 9 characters") in result.stdout


def test_check_warns_of_the_writer_rule_and_a_text_of_another_shape(desk: Desk) -> None:
    desk.remark("1001", "label_fixed")
    path = desk.file("1001")
    path.write_text(path.read_text(encoding="utf-8").replace('kind = "label_fixed"', 'kind = "refund_registered"'),
                    encoding="utf-8")
    result = desk.run("check")
    assert result.exit_code == 1
    assert "remarks.0: the text is a label_fixed remark, but kind says refund_registered" in result.stdout
    assert "refund_registered is written by the assistant (whoever handles it writes it), but wang is agent " \
           "(warning)" in result.stdout


# ----- refunds and registration ----------------------------------------------------------------

def test_refund_register_lines_and_registering(desk: Desk) -> None:
    desk.remark("1004", "refund_after_trade", *REFUND, "--buyer", "毛毛雨920402")
    desk.remark("1005", "refund_after_trade_no_name", "item=B456", "kind=折扣", "amount=28.8", "via=银行",
                "account=建行4367 4206 7255 0308 214", "--buyer", "幽幽兰兰007", now=at("10:00"))
    desk.remark("1006", "refund_during_trade", "item=C789", "kind=折扣", "amount=5", now=at("10:30"))
    rows = json.loads(desk.ok("refund", "list", "--format", "json"))
    assert [(r["order"], r["line"], r["registered"]) for r in rows] == [
        ("1004", "支付宝:毛毛雨920402 xt.**********.com 李莉莉 15.00元(A123邮费_小王)", False),
        ("1005", "银行:幽幽兰兰007 建行4****************** 214 28.80元(B456折扣_小王)", False)]
    # The register keeper sees the accounts whole to pay them, and that is written down.
    rows = json.loads(desk.ok("refund", "list", "--reveal", "--format", "json", who="lead", now=at("12:00")))
    assert [(r["order"], r["line"], r["registered"]) for r in rows] == [
        ("1004", "支付宝:毛毛雨920402 xt.lilili@163.com 李莉莉 15.00元(A123邮费_小王)", False),
        ("1005", "银行:幽幽兰兰007 建行4367 4206 7255 0308 214 28.80元(B456折扣_小王)", False)]
    assert len(json.loads(desk.ok("refund", "list", "--all", "--format", "json"))) == 3
    assert desk.ok("refund", "register", "1004", who="li", now=at("15:00")) == "退款已登记+小李/11.23\n"
    desk.refused("refund", "register", "1004", who="li", now=at("15:01"), says="order 1004 has no refund to register")
    desk.refused("refund", "register", "1006", who="li", now=at("15:01"), says="order 1006 has no refund")
    desk.refused("refund", "register", "9999", who="li", says="order 9999 has no remarks")
    unregistered = json.loads(desk.ok("refund", "list", "--unregistered", "--format", "json"))
    assert [r["order"] for r in unregistered] == ["1005"]
    registered = next(r for r in json.loads(desk.ok("refund", "list", "--format", "json")) if r["order"] == "1004")
    assert registered["registered_at"] == at("15:00")
    table = desk.ok("refund", "list", lang="zh")
    assert table.splitlines()[0].split() == ["时间", "订单号", "操作人", "金额", "已登记", "退款登记"]
    assert "交易中申请" in desk.ok("refund", "list", "--all", lang="zh")
    assert len(list(csv.reader(io.StringIO(desk.ok("refund", "list", "--format", "csv"))))) == 3
    assert desk.ok("refund", "list", "--format", "markdown").count("\n") == 4


def test_queries_for_reports(desk: Desk) -> None:
    chain_of_three(desk)
    desk.remark("1004", "refund_after_trade", *REFUND, now=at("12:00"))
    desk.ok("balance", "register", "1002", who="li", now=at("13:00"))
    items = readable(desk.store())[1]
    found = refunds_from(items)
    assert [(r.order, r.amount, r.by, r.to_register, r.registered) for r in found] == [
        ("1004", 15, "wang", True, False)]
    assert str(found[0].amount) == "15.00"
    assert [(d.order, str(d.amount), str(d.remaining), d.registered) for d in deductions_from(items)] == [
        ("1001", "20.00", "30.00", False), ("1002", "10.00", "20.00", True), ("1003", "20.00", "0.00", False)]


def test_alerts_for_unregistered_refunds_and_deductions(desk: Desk) -> None:
    desk.remark("1001", "balance_deduct", "amount=20", "balance=30", "--buyer", "tb_王丽")
    desk.remark("1004", "refund_after_trade", *REFUND, now=at("10:00"))
    store = desk.store()
    assert list(remark_alerts(store, dt.datetime.fromisoformat(at("09:29", "11-24")))) == []
    found = list(remark_alerts(store, dt.datetime.fromisoformat(at("10:00", "11-24"))))
    assert [(a.kind, a.record, a.agent, a.due.isoformat()) for a in found] == [
        ("refund.unregistered", "1004", "wang", at("10:00", "11-24")),
        ("balance.unregistered", "1001", "wang", at("09:30", "11-24"))]
    # Masked: cron mails the alerts to every role.
    assert found[0].subject == "A123 邮费 15.00 → 支付宝 xt.**********.com"
    desk.ok("refund", "register", "1004", who="li", now=at("11:00", "11-24"))
    desk.ok("balance", "register", "1001", who="li", now=at("11:00", "11-24"))
    assert list(remark_alerts(desk.store(), dt.datetime.fromisoformat(at("12:00", "11-30")))) == []


def test_the_limits_are_configurable_and_a_broken_file_is_an_alert(desk: Desk) -> None:
    config = desk.ledger / "csctl.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'refund_register_within = "1d"', 'refund_register_within = "4h"'), encoding="utf-8")
    desk.remark("1004", "refund_after_trade", *REFUND)
    (desk.ledger / "records" / "remarks" / "2026" / "11" / "1005.toml").write_text("id = \n", encoding="utf-8")
    found = list(remark_alerts(desk.store(), dt.datetime.fromisoformat(at("13:30"))))
    assert [(a.kind, a.record) for a in found] == [("refund.unregistered", "1004"),
                                                    ("record.unreadable", "records/remarks/2026/11/1005.toml")]


# ----- templates of the ledger -----------------------------------------------------------------

def test_a_broken_ledger_template_names_the_shape_and_line(desk: Desk) -> None:
    template = desk.ledger / "templates" / "remarks.toml"
    text = template.read_text(encoding="utf-8")
    broken = text.replace('"扣除余额{amount:yuan}元,还剩', '"扣除余额{amount:money}元,还剩')
    template.write_text(broken, encoding="utf-8")
    line = desk.refused("remark", "kinds", says="(balance_deduct).pattern: field amount: unknown type money")
    number = int(re.search(r"remarks\.toml:(\d+):", line).group(1))  # type: ignore[union-attr]
    assert "{amount:money}" in template.read_text(encoding="utf-8").splitlines()[number - 1]
    # Every shape is validated together: no remark is written from a broken catalogue.
    desk.refused("remark", "add", "1001", "copied", says="unknown type money")


def test_check_reports_a_broken_ledger_template(desk: Desk) -> None:
    desk.remark("1001", "copied")
    template = desk.ledger / "templates" / "remarks.toml"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace('example = "小王/11.23"', 'example = "小王-11.23"'), encoding="utf-8")
    number = text.splitlines().index('example = "小王/11.23"') + 1
    result = desk.run("check")
    assert result.exit_code == 1
    assert f"templates/remarks.toml:{number}: shapes.8 (copied).example: the example does not fit" in result.stdout
    # Said again by a check with nothing to read (the index remembers it with the templates), and without one.
    assert desk.run("check").stdout == result.stdout
    without = desk.invoke("--lang", "en", "check", env={"CSCTL_AGENT": "wang", "CSCTL_NOW": NOW, "CSCTL_NO_INDEX": "1"})
    assert without.stdout == result.stdout
    template.write_text(text, encoding="utf-8")
    assert desk.run("check").exit_code == 0


def test_check_reports_a_broken_ledger_template_before_any_remark_is_written(desk: Desk) -> None:
    template = desk.ledger / "templates" / "remarks.toml"
    template.write_text(template.read_text(encoding="utf-8").replace('example = "小王/11.23"', 'example = "-"'),
                        encoding="utf-8")
    result = desk.run("check")
    assert result.exit_code == 1
    assert "templates/remarks.toml:" in result.stdout


def test_a_shape_added_in_the_ledger_is_written_and_checked(desk: Desk) -> None:
    template = desk.ledger / "templates" / "remarks.toml"
    template.write_text(template.read_text(encoding="utf-8") + '''
[[shapes]]
name = "gift_added"
title = "赠品"
group = "price"
writer = "agent"
pattern = "赠送{item:code}一件+{agent}/{date}"
example = "赠送A9一件+小王/11.23"
''', encoding="utf-8")
    assert desk.remark("1001", "gift_added", "item=A9") == "赠送A9一件+小王/11.23"
    assert desk.run("check").exit_code == 0


# ----- a real process ----------------------------------------------------------------------------

def test_as_a_real_process(ledger: Path, tmp_path: Path) -> None:
    env = {"CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "wang", "CSCTL_NOW": NOW, "LANG": "C.UTF-8"}
    done = run_csctl("remark", "add", "1001", "remit_order", "--buyer", "tb_林晓燕", env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "银行汇款订单,待汇款,已通知登记+小王+11.23\n", "")
    bad = run_csctl("remark", "add", "1001", "balance_deduct", "amount=x", "balance=1", env=env)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr
    pasted = tmp_path / "pasted.txt"
    pasted.write_text("随便写点\n小王/11.23\n", encoding="utf-8")
    lint = run_csctl("--lang", "en", "remark", "lint", str(pasted), env=env)
    assert (lint.returncode, lint.stdout) == (1, "line 1: 随便写点: fits no remark shape (differs from the start)\n")
