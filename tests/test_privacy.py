"""Personal data through every command and format (issue 9, item 9): random phone numbers and
accounts put into every kind of record never come out whole without `--reveal`, and each reveal is
an event on the record.
"""

from __future__ import annotations

import json
import random
import re
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.desk import Desk

NOW = "2026-11-23T12:00:00+08:00"
# A week on: the tickets are past their deadlines and the refunds unregistered, so the alerts name them.
LATER = "2026-11-30T12:00:00+08:00"

READS = [
    ("customer", "list"), ("ticket", "list"), ("remit", "list"), ("remit", "pending"),
    ("remit", "register", "--date", "2026-11-23"), ("remark", "list"), ("refund", "list"), ("refund", "list", "--all"),
    ("report", "daily", "--date", "2026-11-23"), ("report", "weekly", "--week", "2026-W48"), ("alerts",),
]
FORMATS = ("table", "json", "csv", "markdown")


def _whole(value: str, text: str) -> bool:
    return value in text or value in re.sub(r"[\s-]", "", text)


def test_phones_and_accounts_are_masked_everywhere_unless_revealed(invoke: Invoke, ledger: Path) -> None:
    rng = random.Random(9)
    people = [(f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
               f"{''.join(rng.choices('abcdefgh', k=6))}.{rng.choice(['li', 'wang'])}@163.com") for _ in range(3)]
    for phone, account in people:
        _put_through_everything(invoke, ledger, phone, account, people)


def _put_through_everything(invoke: Invoke, ledger: Path, phone: str, account: str,
                            people: list[tuple[str, str]]) -> None:
    desk = Desk(invoke, ledger)
    order = phone[1:]  # an order number per person
    customer = desk.ok("customer", "add", "--name", "林晓燕", "--phone", phone, "--address",
                       f"浙江省杭州市西湖区文三路478号 {phone}", "--same-phone-ok", who="wang", now=NOW).strip()
    # The number typed into free text too: a subject, a description, notes.
    ticket = desk.ok("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", f"改地址 {phone}",
                     "--description", f"请回电{phone}", "--phone", phone, who="wang", now=NOW).strip()
    desk.ok("ticket", "note", ticket, f"买家换了新号 {phone}", who="wang", now=NOW)
    remit = desk.ok("remit", "new", "--buyer", f"tb_{order}", "--item", "A1:M:1", "--amount", "88",
                    "--address", f"上海市浦东新区张杨路1600号 林晓燕 {phone}", "--note", f"电话{phone}",
                    who="wang", now=NOW).strip()
    desk.ok("remit", "note", remit, f"已回电 {phone}", who="wang", now=NOW)
    desk.ok("remark", "add", order, "phone_change_unprinted", f"phone={phone}", "--buyer", f"tb_{order}",
            who="wang", now=NOW)
    desk.ok("remark", "add", order, "refund_after_trade", "item=A1", "kind=邮费", "amount=8", "via=支付宝",
            f"account={account}", "holder=林晓燕", who="wang", now=NOW)
    shows = [("customer", "show", customer), ("ticket", "show", ticket), ("ticket", "log", ticket),
             ("remit", "show", remit)]
    if (phone, account) != people[-1]:
        return  # every person in, then every read
    listed = desk.ok("remark", "list", "--order", order, who="lead", now=NOW)
    assert f"收件电话修改为:{phone[:3]}****{phone[-4:]}" in listed  # masked, not left out
    assert f"改地址 {phone[:3]}****{phone[-4:]}" in desk.ok("ticket", "list", who="lead", now=NOW)
    # Read once everything is due, so that every alert and the report's overdue list have something to say.
    due = desk.run("alerts", "--format", "json", who="lead", now=LATER)
    assert {"ticket.resolution", "refund.unregistered"} <= {a["alert"] for a in json.loads(due.stdout)}
    assert ticket in desk.ok("report", "weekly", "--week", "2026-W48", who="lead", now=LATER)
    for args in [*READS, *shows]:
        for style in FORMATS:
            result = desk.run(*args, "--format", style, who="lead", now=LATER)
            assert result.exit_code in (0, 1), (args, style, result.stderr)
            for value in [v for person in people for v in person]:
                assert not _whole(value, result.stdout), (args, style, value)
    for args in (("report", "weekly", "--week", "2026-W48"), ("remit", "register", "--date", "2026-11-23")):
        for style in ("html", "xlsx") if args[0] == "report" else ("xlsx",):
            out = ledger / f"out.{style}"
            desk.ok(*args, "--format", style, "--output", str(out), who="lead", now=LATER)
            assert not _whole(phone, _unpacked(out)), (args, style)

    # Revealed, they come out whole, and each record says who saw which fields.
    assert phone in desk.ok("customer", "show", customer, "--reveal", who="lead", now=NOW)
    revealed_ticket = desk.ok("ticket", "show", ticket, "--reveal", who="lead", now=NOW)
    assert f"改地址 {phone}" in revealed_ticket
    assert f"买家换了新号 {phone}" in revealed_ticket
    revealed_remit = desk.ok("remit", "show", remit, "--reveal", who="lead", now=NOW)
    assert f"电话{phone}" in revealed_remit
    assert f"已回电 {phone}" in revealed_remit
    assert phone in desk.ok("remark", "list", "--order", order, "--reveal", who="lead", now=NOW)
    assert account in desk.ok("refund", "list", "--reveal", who="lead", now=NOW)
    remark_file = next((ledger / "records" / "remarks").rglob(f"{order}.toml"))
    revealed = [e for e in tomllib.loads(remark_file.read_text(encoding="utf-8"))["events"]
                if e["action"] == "revealed"]
    assert [e["fields"] for e in revealed] == [["account", "phone"], ["account"]]
    for path in (ledger / "records" / "customers" / f"{customer}.toml", desk.dated_path("tickets", ticket),
                 desk.dated_path("remittances", remit)):
        events = tomllib.loads(path.read_text(encoding="utf-8"))["events"]
        assert events[-1]["action"] == "revealed"
        assert events[-1]["by"] == "lead"
        assert "phone" in events[-1]["fields"]  # the remittance's only in its notes
    desk.refused("remark", "list", "--reveal", who="sales", code=3)


def _unpacked(path: Path) -> str:
    """A written file's text; an xlsx's (a zip) that of every part."""
    if path.suffix != ".xlsx":
        return path.read_text(encoding="utf-8")
    with zipfile.ZipFile(path) as book:
        return "".join(book.read(name).decode("utf-8", errors="replace") for name in book.namelist())


def test_git_diff_masks_a_remarks_address_and_account_as_remark_list_does(invoke: Invoke, ledger: Path) -> None:
    desk = Desk(invoke, ledger)
    order, address, account = "3291055820140001", "上海市浦东新区张杨路1600号2栋501", "chen.sq@163.com"
    desk.ok("remark", "add", order, "address_change_unprinted", f"address={address}", "--buyer", "tb_陈思琪",
            who="wang", now=NOW)
    desk.ok("remark", "add", order, "refund_after_trade", "item=A1", "kind=邮费", "amount=8", "via=支付宝",
            f"account={account}", "holder=陈思琪", who="wang", now=NOW)
    remark_file = next((ledger / "records" / "remarks").rglob(f"{order}.toml"))
    shown = desk.ok("textconv", str(remark_file))
    assert address not in shown
    assert account not in shown
    listed = desk.json("remark", "list", "--order", order, who="lead", now=NOW)
    assert [f'text = "{r["text"]}"' for r in listed] == [line for line in shown.splitlines()
                                                        if line.startswith("text = ")]
    # A half-merged file does not read: its texts are masked whole.
    broken = desk.ok("textconv", str(_write(ledger / "half.toml", remark_file.read_text(encoding="utf-8")
                                            + "<<<<<<< ours\n")))
    assert address not in broken
    assert account not in broken


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_customer_search_finds_only_by_what_the_mask_shows_unless_revealing(invoke: Invoke, ledger: Path) -> None:
    desk = Desk(invoke, ledger)
    customer = desk.ok("customer", "add", "--name", "周建国", "--phone", "8765 4321", "--region", "上海",
                       "--street", "张杨路1600号", who="wang", now=NOW).strip()

    def found(*search: str, who: str = "sales") -> bool:
        return customer in desk.ok("customer", "list", *search, who=who, now=NOW)

    assert "87****21" in desk.ok("customer", "list", who="sales", now=NOW)
    assert found("--phone", "87")
    assert found("--phone", "21")
    assert found("--region", "上海")
    for hidden in ("876", "65", "5", "4321", "8765"):
        assert not found("--phone", hidden), hidden
    assert not found("--region", "张杨路")
    assert not found("--region", "张杨路", who="lead")  # may reveal, but did not
    assert found("--phone", "65", "--reveal", who="lead")
    assert found("--region", "张杨路", "--reveal", who="lead")
    events = tomllib.loads((ledger / "records" / "customers" / f"{customer}.toml").read_text(encoding="utf-8"))
    assert events["events"][-1]["fields"] == ["phone", "street"]
    desk.refused("customer", "list", "--region", "张杨路", "--reveal", who="sales", code=3)


def test_textconv_masks_literal_strings_as_basic_ones() -> None:
    from csctl.domain.merge import masked_text

    shown = masked_text("phone = '13857123456'\naddress = '''浙江省杭州市\n西湖区文三路478号'''\nnote = \"x\"\n")
    assert shown == 'phone = "138****3456"\naddress = "****"\nnote = "x"\n'


def test_a_customers_needs_and_a_knowledge_case_show_phones_masked(invoke: Invoke, ledger: Path) -> None:
    desk = Desk(invoke, ledger)
    customer = desk.ok("customer", "add", "--name", "陈思琪", "--phone", "15088886666", "--needs",
                       "备用手机13912345678,白天打座机0571-87654321", who="wang", now=NOW).strip()
    shown = desk.ok("customer", "show", customer, "--format", "json", who="sales", now=NOW)
    assert "13912345678" not in shown
    assert "87654321" not in shown
    entry = desk.ok("kb", "add", "--question", "退款多久到账", "--answer", "原路退回,1-3个工作日", "--case",
                    "１３９１２３４５６７８ 的买家退款三天到账", who="wang", now=NOW).strip()
    for style in ("table", "json"):  # (a draft, shown to its author; kb show has no --reveal)
        assert "１２３４５６７８" not in desk.ok("kb", "show", entry, "--format", style, who="wang", now=NOW)


@pytest.mark.parametrize("text", ["买家电话13857123456,已改", "电话 138-5712-3456 已通知"])
def test_a_phone_in_a_remark_that_fits_no_shape_is_masked_too(text: str) -> None:
    from csctl.domain.privacy import mask_phones

    assert "13857123456" not in re.sub(r"[\s-]", "", mask_phones(text))
