"""Personal data through every command and format (issue 9, item 9): random phone numbers and
accounts put into every kind of record never come out whole without `--reveal`, and each reveal is
an event on the record.
"""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.desk import Desk

NOW = "2026-11-23T12:00:00+08:00"

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
    ticket = desk.ok("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "改地址",
                     "--phone", phone, who="wang", now=NOW).strip()
    remit = desk.ok("remit", "new", "--buyer", f"tb_{order}", "--item", "A1:M:1", "--amount", "88",
                    "--address", f"上海市浦东新区张杨路1600号 林晓燕 {phone}", who="wang", now=NOW).strip()
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
    for args in [*READS, *shows]:
        for style in FORMATS:
            result = desk.run(*args, "--format", style, who="lead", now=NOW)
            assert result.exit_code in (0, 1), (args, style, result.stderr)
            for value in [v for person in people for v in person]:
                assert not _whole(value, result.stdout), (args, style, value)
    for args in (("report", "weekly", "--week", "2026-W48"), ("remit", "register", "--date", "2026-11-23")):
        for style in ("html", "xlsx") if args[0] == "report" else ("xlsx",):
            out = ledger / f"out.{style}"
            desk.ok(*args, "--format", style, "--output", str(out), who="lead", now=NOW)
            assert phone.encode() not in out.read_bytes()

    # Revealed, they come out whole, and each record says who saw which fields.
    assert phone in desk.ok("customer", "show", customer, "--reveal", who="lead", now=NOW)
    assert phone in desk.ok("ticket", "show", ticket, "--reveal", who="lead", now=NOW)
    assert phone in desk.ok("remit", "show", remit, "--reveal", who="lead", now=NOW)
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
    desk.refused("remark", "list", "--reveal", who="sales", code=3)


@pytest.mark.parametrize("text", ["买家电话13857123456,已改", "电话 138-5712-3456 已通知"])
def test_a_phone_in_a_remark_that_fits_no_shape_is_masked_too(text: str) -> None:
    from csctl.domain.privacy import mask_phones

    assert "13857123456" not in re.sub(r"[\s-]", "", mask_phones(text))
