"""Customers and the knowledge base through the CLI (issue 6, SPEC §3, §4).

The customer archive (客户档案): adding, editing, finding, the history of tickets that
name a customer, bulk import from a team's CSV; contacts (phone, QQ, WeChat, e-mail,
address) masked in every output unless revealed by a role allowed to, and every reveal
and every edit of a contact an event on the record. The knowledge base (知识库): drafts
seen by their author and reviewers only, submitted for review, approved by a supervisor,
searched by any Chinese substring, cited when resolving a ticket, retired.

Every refusal is exit 2 (or 3 for a role), one `csctl: ` line on stderr, nothing on stdout
and every file byte for byte as it was.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import NOW, Invoke, snapshot
from tests.desk import Desk as BaseDesk

ID_CHARS = "[0-9A-HJKMNP-TV-Z]{5}"
CUSTOMER_ID = re.compile(rf"C-261123-{ID_CHARS}")
KB_ID = re.compile(rf"K-261123-{ID_CHARS}")
TICKET_ID = re.compile(rf"T-261123-{ID_CHARS}")
PHONES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)

# One customer with every detail filled in, and how each contact is to look masked.
FULL = {
    "name": "林晓梅", "phone": "13812345678", "region": "杭州", "street": "西湖区文三路",
    "organisation": "杭州云帆贸易有限公司", "address": "浙江省杭州市西湖区文三路100号3幢", "qq": "987654321",
    "wechat": "linxm_2020", "email": "linxm@example.cn", "needs": "会员卡续费", "tags": ["VIP", "老客户"],
}
CONTACTS = ("phone", "street", "address", "qq", "wechat", "email")


def mask_of(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


class Desk(BaseDesk):
    """csctl on the fixture ledger, with the customer, ticket and knowledge-base helpers."""

    # ----- customers

    def customer(self, name: str, *extra: str, who: str = "wang") -> str:
        out = self.ok("customer", "add", "--name", name, *extra, who=who)
        assert re.fullmatch(rf"{CUSTOMER_ID.pattern}\n", out), out
        return out.strip()

    def full_customer(self, **override: str) -> str:
        values: dict[str, Any] = {**FULL, **override}
        args: list[str] = []
        for key, value in values.items():
            if key == "name":
                continue
            if key == "tags":
                for tag in value:
                    args += ["--tag", tag]
            else:
                args += [f"--{key}", value]
        return self.customer(values["name"], *args)

    def customer_path(self, customer_id: str) -> Path:
        return self.ledger / "records" / "customers" / f"{customer_id}.toml"

    def customer_file(self, customer_id: str) -> dict[str, Any]:
        return tomllib.loads(self.customer_path(customer_id).read_text(encoding="utf-8"))

    def customers(self) -> list[Path]:
        return sorted((self.ledger / "records" / "customers").glob("*.toml"))

    def found(self, *args: str, who: str = "adm") -> set[str]:
        return {row["id"] for row in self.json("customer", "list", *args, who=who)}

    # ----- tickets

    def ticket(self, *extra: str, who: str = "wang") -> str:
        out = self.ok("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "询问退款进度",
                      *extra, who=who)
        assert re.fullmatch(rf"{TICKET_ID.pattern}\n", out), out
        return out.strip()

    def ticket_path(self, ticket_id: str) -> Path:
        return self.dated_path("tickets", ticket_id)

    def ticket_file(self, ticket_id: str) -> dict[str, Any]:
        return tomllib.loads(self.ticket_path(ticket_id).read_text(encoding="utf-8"))

    # ----- knowledge base

    def entry(self, question: str, answer: str, *extra: str, who: str = "wang") -> str:
        out = self.ok("kb", "add", "--question", question, "--answer", answer, *extra, who=who)
        assert re.fullmatch(rf"{KB_ID.pattern}\n", out), out
        return out.strip()

    def published(self, question: str, answer: str, *extra: str, who: str = "wang") -> str:
        entry_id = self.entry(question, answer, *extra, who=who)
        assert self.ok("kb", "submit", entry_id, who=who) == f"{entry_id}\n"
        assert self.ok("kb", "approve", entry_id, who="lead") == f"{entry_id}\n"
        return entry_id

    def kb_path(self, entry_id: str) -> Path:
        return self.ledger / "records" / "kb" / f"{entry_id}.toml"

    def kb_file(self, entry_id: str) -> dict[str, Any]:
        return tomllib.loads(self.kb_path(entry_id).read_text(encoding="utf-8"))

    def search(self, *words: str, who: str = "adm") -> list[str]:
        return [row["id"] for row in self.json("kb", "search", *words, who=who)]


@pytest.fixture
def desk(invoke: Invoke, ledger: Path, more_agents: None) -> Desk:
    """The fixture ledger plus a second agent `mei` and tech support `zhao`."""
    return Desk(invoke, ledger)


# ----- 1. adding a customer ----------------------------------------------------------------

def test_add_with_every_option_prints_the_id_and_files_every_value(desk: Desk) -> None:
    customer_id = desk.full_customer()
    created = tomllib.loads(f"t = {NOW}")["t"]
    assert desk.customer_file(customer_id) == {
        "id": customer_id, "created": created, **FULL,
        "events": [{"at": created, "by": "wang", "action": "created"}],
    }
    assert desk.customer_path(customer_id).read_text(encoding="utf-8").startswith(
        f'id = "{customer_id}"\ncreated = {NOW}\nname = "林晓梅"\nphone = "13812345678"\n')
    # A supervisor may add too; only the name is required.
    lean = desk.customer("陈先生", who="lead")
    assert desk.customer_file(lean)["name"] == "陈先生"
    assert "phone" not in desk.customer_file(lean)
    desk.clean()


def test_add_refuses_a_bad_phone_and_the_roles_that_may_not(desk: Desk) -> None:
    desk.refused("customer", "add", "--name", "张三", "--phone", "12", who="wang", says="phone")
    desk.refused("customer", "add", "--name", "张三", "--phone", "call me", who="wang", says="phone")
    desk.refused("customer", "add", "--name", "张三", "--phone", "13800138000", who="sales", code=3)
    desk.refused("customer", "add", "--name", "张三", "--phone", "13800138000", who="li", code=3)
    assert desk.customers() == []


# ----- 2. masking and revealing ------------------------------------------------------------

@given(phone=PHONES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_contacts_are_masked_in_every_format(desk: Desk, phone: str) -> None:
    customer_id = desk.full_customer(phone=phone)
    wholes = [phone, FULL["address"], FULL["qq"], FULL["wechat"], FULL["email"]]
    outputs = {}
    for style in ("table", "json", "csv"):
        outputs[f"show {style}"] = desk.ok("customer", "show", customer_id, "--format", style, who="sales")
        outputs[f"list {style}"] = desk.ok("customer", "list", "--format", style, who="wang")
        outputs[f"find {style}"] = desk.ok("customer", "list", "--phone", phone[-4:], "--format", style)
    for what, out in outputs.items():
        assert customer_id in out, (what, out)
        assert mask_of(phone) in out, (what, out)
        for whole in wholes:
            assert whole not in out, (what, whole, out)
    shown = json.loads(outputs["show json"])
    assert shown["phone"] == mask_of(phone)
    assert shown["email"] == "l***@example.cn"
    assert shown["address"].startswith("浙江省")
    assert shown["address"] != FULL["address"]
    # Only looking: no reveal was written down.
    assert [e["action"] for e in desk.customer_file(customer_id)["events"]] == ["created"]


def test_reveal_shows_contacts_whole_and_is_written_down(desk: Desk) -> None:
    customer_id = desk.full_customer()
    out = desk.ok("customer", "show", customer_id, "--reveal", who="wang")
    for field in CONTACTS:
        assert FULL[field] in out, (field, out)
    events = desk.customer_file(customer_id)["events"]
    assert [e["action"] for e in events] == ["created", "revealed"]
    revealed = events[-1]
    assert revealed["by"] == "wang"
    assert sorted(revealed["fields"]) == sorted(CONTACTS)
    # Not the values themselves, only which fields were seen.
    assert set(revealed) == {"at", "by", "action", "fields"}

    data = desk.json("customer", "show", customer_id, "--reveal", who="lead")
    assert {f: data[f] for f in CONTACTS} == {f: FULL[f] for f in CONTACTS}
    assert [(e["action"], e["by"]) for e in desk.customer_file(customer_id)["events"]] == [
        ("created", "wang"), ("revealed", "wang"), ("revealed", "lead")]

    # A list revealed is written down on every customer shown.
    rows = desk.json("customer", "list", "--reveal", who="wang")
    assert [row["phone"] for row in rows] == [FULL["phone"]]
    assert desk.customer_file(customer_id)["events"][-1]["action"] == "revealed"

    # Those who may not see personal data are refused, and nothing is written.
    desk.refused("customer", "show", customer_id, "--reveal", who="sales", code=3)
    desk.refused("customer", "list", "--reveal", who="sales", code=3)
    desk.refused("customer", "show", customer_id, "--reveal", who="li", code=3)
    desk.clean()


def test_ticket_show_masks_the_contact_number_unless_revealed(desk: Desk) -> None:
    phone = "13712345678"
    ticket_id = desk.ticket("--caller", "李女士", "--phone", phone)
    for style in ("table", "json", "csv"):
        out = desk.ok("ticket", "show", ticket_id, "--format", style, who="wang")
        assert phone not in out, (style, out)
        assert mask_of(phone) in out, (style, out)
    assert desk.json("ticket", "show", ticket_id)["phone"] == mask_of(phone)
    assert [e["action"] for e in desk.ticket_file(ticket_id)["events"]] == ["created"]

    desk.refused("ticket", "show", ticket_id, "--reveal", who="sales", code=3)
    data = desk.json("ticket", "show", ticket_id, "--reveal", who="wang")
    assert data["phone"] == phone
    events = desk.ticket_file(ticket_id)["events"]
    assert [e["action"] for e in events] == ["created", "revealed"]
    assert (events[-1]["by"], events[-1]["fields"]) == ("wang", ["phone"])
    assert desk.ticket_file(ticket_id)["phone"] == phone
    desk.clean()


# ----- 3. editing --------------------------------------------------------------------------

def test_edit_changes_a_contact_and_names_only_the_field(desk: Desk) -> None:
    customer_id = desk.full_customer()
    assert desk.ok("customer", "edit", customer_id, "--phone", "13999998888", who="wang") == f"{customer_id}\n"
    data = desk.customer_file(customer_id)
    assert data["phone"] == "13999998888"
    edited = data["events"][-1]
    assert (edited["action"], edited["by"], edited["fields"]) == ("edited", "wang", ["phone"])
    assert set(edited) == {"at", "by", "action", "fields"}
    text = desk.customer_path(customer_id).read_text(encoding="utf-8")
    assert FULL["phone"] not in text, "the old number stays in the file"
    assert text.count("13999998888") == 1, "the new number is written into the history"

    desk.refused("customer", "edit", customer_id, "--phone", "13999998888", who="wang")
    desk.refused("customer", "edit", customer_id, "--phone", "12", who="wang", says="phone")
    desk.refused("customer", "edit", customer_id, "--phone", "13600001111", who="sales", code=3)
    desk.refused("customer", "edit", "C-261123-ZZZZZ", "--phone", "13600001111", who="wang",
                 says="C-261123-ZZZZZ")

    assert desk.ok("customer", "edit", customer_id, "--phone", "", who="lead") == f"{customer_id}\n"
    data = desk.customer_file(customer_id)
    assert "phone" not in data
    assert (data["events"][-1]["action"], data["events"][-1]["by"], data["events"][-1]["fields"]) == (
        "edited", "lead", ["phone"])
    assert data["qq"] == FULL["qq"]
    desk.clean()


# ----- 4. finding --------------------------------------------------------------------------

def test_list_finds_by_name_phone_region_and_any_text(desk: Desk) -> None:
    lin = desk.customer("林晓梅", "--phone", "13812345678", "--region", "杭州", "--tag", "VIP")
    lin2 = desk.customer("林建国", "--phone", "13700001111", "--region", "上海")
    zhang = desk.customer("张伟", "--phone", "13955665678", "--region", "北京", "--needs", "升级VIP年卡")
    wang = desk.customer("王芳", "--region", "杭州", "--organisation", "西湖茶业")
    assert desk.found() == {lin, lin2, zhang, wang}
    assert desk.found("--name", "林") == {lin, lin2}
    assert desk.found("--phone", "5678") == {lin, zhang}
    assert desk.found("--region", "杭州") == {lin, wang}
    assert desk.found("--search", "VIP") == {lin, zhang}
    assert desk.found("--search", "茶业") == {wang}
    assert desk.found("--name", "林", "--region", "杭州") == {lin}
    assert desk.found("--name", "赵") == set()
    assert desk.found("--name", "林", who="sales") == {lin, lin2}
    table = desk.ok("customer", "list", "--name", "林", who="sales")
    assert lin in table
    assert lin2 in table
    assert zhang not in table


# ----- 5. a customer's history -------------------------------------------------------------

def test_show_lists_the_tickets_naming_the_customer(desk: Desk) -> None:
    lin = desk.customer("林晓梅", "--phone", "13812345678")
    other = desk.customer("张伟")
    first = desk.ticket("--customer", lin)
    second = desk.ticket("--customer", lin, who="mei")
    elsewhere = desk.ticket("--customer", other)
    data = desk.json("customer", "show", lin)
    assert set(data["tickets"]) == {first, second}
    table = desk.ok("customer", "show", lin)
    assert first in table
    assert second in table
    assert elsewhere not in table
    assert desk.json("customer", "show", other)["tickets"] == [elsewhere]
    desk.clean()


# ----- 6. bulk import ----------------------------------------------------------------------

def write(tmp_path: Path, name: str, text: str, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


CHINESE_CSV = "姓名,电话,地区,标签\n林晓梅,13812345678,杭州,VIP;老客户\n张伟,13955665678,北京,批发、月结\n"
ENGLISH_CSV = "name,phone,region,tags\n陈静,13611112222,上海,VIP\n周杰,,宁波,\n"


def test_import_dry_run_writes_nothing_and_says_what_would_happen(desk: Desk, tmp_path: Path) -> None:
    source = write(tmp_path, "客户.csv", CHINESE_CSV)
    before = snapshot(desk.ledger)
    result = desk.run("customer", "import", str(source), "--dry-run", who="wang")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert CUSTOMER_ID.search(result.stdout) is None
    assert "2 new" in result.stderr, result.stderr
    assert "dry run" in result.stderr, result.stderr
    assert snapshot(desk.ledger) == before
    assert desk.customers() == []


@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "utf8-bom"])
@pytest.mark.parametrize("text", [CHINESE_CSV, ENGLISH_CSV], ids=["chinese-headers", "english-headers"])
def test_import_files_every_row_once(desk: Desk, tmp_path: Path, text: str, bom: bool) -> None:
    source = write(tmp_path, "customers.csv", text, bom=bom)
    out = desk.ok("customer", "import", str(source), who="wang")
    ids = out.split()
    assert len(ids) == 2, out
    assert all(CUSTOMER_ID.fullmatch(i) for i in ids), out
    assert sorted(desk.customer_path(i) for i in ids) == desk.customers()
    rows = list(csv.reader(io.StringIO(text)))[1:]
    filed = sorted((desk.customer_file(i) for i in ids), key=lambda d: d["name"])
    for data, row in zip(filed, sorted(rows), strict=True):
        assert data["name"] == row[0]
        assert data.get("phone", "") == row[1]
        assert data["region"] == row[2]
        assert data["events"][0]["by"] == "wang"
    if text == CHINESE_CSV:
        tags = {d["name"]: d["tags"] for d in filed}
        assert tags == {"林晓梅": ["VIP", "老客户"], "张伟": ["批发", "月结"]}

    # The same file again adds nobody.
    before = snapshot(desk.ledger)
    result = desk.run("customer", "import", str(source), who="wang")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert CUSTOMER_ID.search(result.stdout) is None, result.stdout
    assert snapshot(desk.ledger) == before
    desk.clean()


PROBLEM = re.compile(r"(?P<file>.+?):(?P<line>\d+): (?P<field>[^:\s]+): (?P<message>.+)")


def refused_import(desk: Desk, source: Path) -> list[str]:
    """The import is refused (exit 2, one `csctl: ` line on stderr, nothing written); the problems printed."""
    before = snapshot(desk.ledger)
    result = desk.run("customer", "import", str(source), who="wang")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("csctl: "), result.stderr
    assert snapshot(desk.ledger) == before
    lines = result.stdout.splitlines()
    assert all(line.startswith(f"{source}:") for line in lines), lines
    return lines


def reported(lines: list[str]) -> set[tuple[int, str]]:
    return {(int(m["line"]), m["field"]) for line in lines if (m := PROBLEM.fullmatch(line))}


ROWS_AT_FAULT = (
    "林晓梅,13812345678,杭州,红\n"  # line 2: fine
    "张伟,12,北京,\n"              # line 3: a bad phone
    "陈静,13611112222,上海,\n"      # line 4: fine
    ",13622223333,宁波,\n"         # line 5: no name
)


def test_import_reports_every_bad_row_by_line_and_field(desk: Desk, tmp_path: Path) -> None:
    lines = refused_import(desk, write(tmp_path, "rows.csv", "姓名,电话,地区,需求\n" + ROWS_AT_FAULT))
    assert all(PROBLEM.fullmatch(line) for line in lines), ("FILE:LINE: field: message", lines)
    assert reported(lines) == {(3, "phone"), (5, "name")}, lines
    assert desk.customers() == []


def test_import_reports_an_unknown_column_and_every_bad_row(desk: Desk, tmp_path: Path) -> None:
    lines = refused_import(desk, write(tmp_path, "bad.csv", "姓名,电话,地区,颜色\n" + ROWS_AT_FAULT))
    assert any(line.startswith(f"{tmp_path / 'bad.csv'}:1: ") and "颜色" in line for line in lines), lines
    assert {(3, "phone"), (5, "name")} <= reported(lines), ("every bad row is reported", lines)
    assert all(PROBLEM.fullmatch(line) for line in lines), ("FILE:LINE: field: message", lines)
    assert desk.customers() == []


def test_import_refuses_a_phone_twice_in_one_file(desk: Desk, tmp_path: Path) -> None:
    source = write(tmp_path, "dup.csv", "姓名,电话\n林晓梅,13812345678\n张伟,13955665678\n林小姐,138 1234 5678\n")
    before = snapshot(desk.ledger)
    result = desk.run("customer", "import", str(source), who="wang")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{source}:4: "), lines
    assert re.search(r"\b2\b", lines[0][len(f"{source}:4: "):]), lines
    assert snapshot(desk.ledger) == before


def test_import_refuses_a_file_that_is_not_utf8_and_the_roles_that_may_not(desk: Desk, tmp_path: Path) -> None:
    source = tmp_path / "gbk.csv"
    source.write_bytes(CHINESE_CSV.encode("gbk"))
    desk.refused("customer", "import", str(source), who="wang", says="gbk.csv")
    desk.refused("customer", "import", str(write(tmp_path, "ok.csv", CHINESE_CSV)), who="sales", code=3)
    assert desk.customers() == []


# ----- 7. the knowledge base ---------------------------------------------------------------

def test_an_entry_is_drafted_reviewed_published_edited_and_retired(desk: Desk) -> None:
    entry_id = desk.entry("退款迟迟未到账怎么办", "请先核实银行流水,原路退回一般三个工作日内到账",
                          "--step", "查询订单退款状态", "--tag", "退款", who="wang")
    data = desk.kb_file(entry_id)
    assert (data["status"], data["author"], data["question"]) == ("draft", "wang", "退款迟迟未到账怎么办")
    assert [(e["action"], e["by"]) for e in data["events"]] == [("created", "wang")]

    # A draft: its author and the reviewers see it, nobody else.
    assert desk.search("退款", who="mei") == []
    assert desk.search("退款", who="sales") == []
    assert desk.search("退款", who="wang") == [entry_id]
    assert desk.search("退款", who="lead") == [entry_id]
    desk.refused("kb", "show", entry_id, who="mei")
    assert desk.json("kb", "show", entry_id, who="wang")["status"] == "draft"

    desk.refused("kb", "approve", entry_id, who="wang", code=3)
    desk.refused("kb", "approve", entry_id, who="lead", says="draft")
    desk.refused("kb", "retire", entry_id, "--reason", "过时", who="lead", says="draft")
    desk.refused("kb", "submit", entry_id, who="mei")

    assert desk.ok("kb", "submit", entry_id, who="wang") == f"{entry_id}\n"
    assert desk.kb_file(entry_id)["status"] == "review"
    desk.refused("kb", "approve", entry_id, who="wang", code=3)
    desk.refused("kb", "approve", entry_id, who="zhao", code=3)
    assert desk.ok("kb", "approve", entry_id, who="lead") == f"{entry_id}\n"
    data = desk.kb_file(entry_id)
    assert data["status"] == "published"
    assert [(e["action"], e["by"]) for e in data["events"]] == [
        ("created", "wang"), ("submitted", "wang"), ("approved", "lead")]

    # Published: everyone finds it.
    for who in ("adm", "lead", "wang", "mei", "zhao", "li", "sales"):
        assert desk.search("退款", who=who) == [entry_id], who
    desk.refused("kb", "submit", entry_id, who="wang", says="published")
    desk.refused("kb", "approve", entry_id, who="lead", says="published")

    # Once published only a reviewer edits it.
    desk.refused("kb", "edit", entry_id, "--answer", "联系财务", who="wang", code=3)  # a role refusal
    assert desk.ok("kb", "edit", entry_id, "--answer", "请先核实银行流水,再联系财务", who="lead") == f"{entry_id}\n"
    data = desk.kb_file(entry_id)
    assert (data["status"], data["answer"]) == ("published", "请先核实银行流水,再联系财务")
    assert (data["events"][-1]["action"], data["events"][-1]["by"], data["events"][-1]["fields"]) == (
        "edited", "lead", ["answer"])

    desk.refused("kb", "retire", entry_id, "--reason", "政策变了", who="wang", code=3)
    assert desk.ok("kb", "retire", entry_id, "--reason", "政策变了", who="lead") == f"{entry_id}\n"
    data = desk.kb_file(entry_id)
    assert data["status"] == "retired"
    assert (data["events"][-1]["action"], data["events"][-1]["reason"]) == ("retired", "政策变了")
    for who in ("adm", "lead", "wang", "mei", "sales"):
        assert desk.search("退款", who=who) == [], who
    desk.refused("kb", "retire", entry_id, "--reason", "again", who="lead", says="retired")
    desk.clean()


def test_return_sends_a_review_back_to_its_author(desk: Desk) -> None:
    entry_id = desk.entry("发票怎么开", "订单完成后在订单详情页申请电子发票", who="mei")
    desk.ok("kb", "submit", entry_id, who="mei")
    desk.refused("kb", "return", entry_id, "--reason", "补充抬头说明", who="wang", code=3)
    assert desk.ok("kb", "return", entry_id, "--reason", "补充抬头说明", who="lead") == f"{entry_id}\n"
    data = desk.kb_file(entry_id)
    assert data["status"] == "draft"
    assert (data["events"][-1]["action"], data["events"][-1]["by"], data["events"][-1]["reason"]) == (
        "returned", "lead", "补充抬头说明")
    desk.refused("kb", "return", entry_id, "--reason", "again", who="lead", says="draft")

    # The author (not another agent) reworks the draft and submits it again.
    desk.refused("kb", "edit", entry_id, "--answer", "别人改的", who="wang")
    desk.refused("kb", "show", entry_id, who="wang")
    desk.ok("kb", "edit", entry_id, "--answer", "订单完成后在订单详情页申请电子发票,抬头填写单位全称", who="mei")
    desk.refused("kb", "edit", entry_id, "--answer", "订单完成后在订单详情页申请电子发票,抬头填写单位全称", who="mei")
    desk.ok("kb", "submit", entry_id, who="mei")
    desk.ok("kb", "approve", entry_id, who="lead")
    assert desk.kb_file(entry_id)["status"] == "published"
    assert [e["action"] for e in desk.kb_file(entry_id)["events"]] == [
        "created", "submitted", "returned", "edited", "submitted", "approved"]
    desk.clean()


def test_search_finds_chinese_substrings_ands_words_and_ranks_question_hits_first(desk: Desk) -> None:
    card = desk.published("会员卡余额怎么查询", "在小程序首页点击我的即可查看余额")
    address = desk.published("如何修改收货地址", "发货前可在订单详情里修改;已发货请联系快递员")
    freight = desk.published("退货运费谁承担", "质量问题由本店承担运费,会员卡用户享受免费退货")
    assert desk.search("余额", who="mei") == [card]
    assert desk.search("收货", who="mei") == [address]  # inside a question, no word splitting
    assert desk.search("快递员", who="mei") == [address]  # inside an answer
    assert desk.search("会员卡", who="mei") == [card, freight]  # the question hit first
    assert desk.search("会员卡", "运费", who="mei") == [freight]
    assert desk.search("会员卡 运费", who="mei") == [freight]
    assert desk.search("会员卡", "地址", who="mei") == []
    assert desk.search("不存在的词", who="mei") == []
    rows = desk.json("kb", "search", "会员卡", who="sales")
    assert rows[0]["score"] > rows[1]["score"]


def test_a_question_hit_outranks_an_answer_that_repeats_the_word(desk: Desk) -> None:
    faq = desk.published("订单常见问题汇总", "发票:完成后申请;发票抬头:填全称;电子发票:邮件发送;"
                         "纸质发票:随货寄出;发票作废:联系客服;发票重开:七天内")
    invoice = desk.published("怎样开发票", "订单完成后在订单详情页申请")
    assert desk.search("发票", who="mei") == [invoice, faq]


def test_list_shows_what_each_person_may_see_by_status(desk: Desk) -> None:
    published = desk.published("积分怎么兑换", "在会员中心兑换礼品")
    draft = desk.entry("积分过期规则", "积分有效期一年", who="wang")
    review = desk.entry("积分转赠", "积分不可转赠", who="mei")
    desk.ok("kb", "submit", review, who="mei")

    def listed(*args: str, who: str) -> set[str]:
        return {row["id"] for row in desk.json("kb", "list", *args, who=who)}

    assert listed("--status", "published", who="mei") == {published}
    assert listed("--status", "published", who="sales") == {published}
    assert listed(who="mei") == {published, review}
    assert listed(who="wang") == {published, draft}
    assert listed(who="lead") == {published, draft, review}
    assert listed("--status", "draft", who="lead") == {draft}
    assert listed("--status", "review", who="wang") == set()
    table = desk.ok("kb", "list", "--status", "published", who="sales")
    assert published in table
    assert draft not in table


# ----- 8. use ------------------------------------------------------------------------------

def test_resolving_a_ticket_with_an_entry_counts_its_use_per_agent(desk: Desk) -> None:
    entry_id = desk.published("退款迟迟未到账怎么办", "原路退回一般三个工作日内到账")
    for who in ("wang", "mei"):
        ticket_id = desk.ticket(who=who)
        desk.ok("ticket", "take", ticket_id, who=who)
        desk.ok("ticket", "resolve", ticket_id, "--solution", "已告知三个工作日内到账", "--kb", entry_id, who=who)
        resolved = desk.ticket_file(ticket_id)["events"][-1]
        assert (resolved["action"], resolved["by"], resolved["kb"]) == ("resolved", who, [entry_id])

    data = desk.json("kb", "show", entry_id, who="sales")
    assert data["uses"] == 2
    assert data["uses_by"] == {"wang": 1, "mei": 1}
    rows = desk.json("kb", "list", who="mei")
    assert [(row["id"], row["uses"]) for row in rows] == [(entry_id, 2)]
    assert desk.json("kb", "search", "退款", who="mei")[0]["uses"] == 2
    table = desk.ok("kb", "list")
    assert re.search(rf"{entry_id}\s+\S+\s+2\s", table), table

    # An unknown entry is refused and the ticket stays as it was.
    ticket_id = desk.ticket(who="wang")
    desk.ok("ticket", "take", ticket_id, who="wang")
    desk.refused("ticket", "resolve", ticket_id, "--solution", "已告知", "--kb", "K-261123-ZZZZZ", who="wang",
                 says="K-261123-ZZZZZ")
    desk.refused("ticket", "resolve", ticket_id, "--solution", "已告知", "--kb", entry_id, "--kb", "nothing",
                 who="wang")
    assert desk.json("kb", "show", entry_id)["uses"] == 2
    desk.clean()


def test_a_hand_written_citation_counts_as_written_with_or_without_the_index(desk: Desk,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`kb` written by hand as one ID counts as that ID; a time there cites nothing (and breaks no listing);
    the index, which keeps each ticket's citations, counts the same as the files."""
    entry_id = desk.published("退款迟迟未到账怎么办", "原路退回一般三个工作日内到账")
    cited = {}
    for value in (f'"{entry_id}"', "2026-11-23T10:00:00+08:00"):
        ticket_id = desk.ticket(who="wang")
        desk.ok("ticket", "take", ticket_id, who="wang")
        desk.ok("ticket", "resolve", ticket_id, "--solution", "已告知三个工作日内到账", who="wang")
        path = desk.ticket_path(ticket_id)
        path.write_text(path.read_text(encoding="utf-8") + f"kb = {value}\n", encoding="utf-8")
        cited[value] = desk.ticket_file(ticket_id)["events"][-1]["kb"]
    assert cited[f'"{entry_id}"'] == entry_id  # (the last event's table took the key)
    for no_index in ("0", "1"):
        monkeypatch.setenv("CSCTL_NO_INDEX", no_index)
        assert desk.json("kb", "show", entry_id)["uses_by"] == {"wang": 1}
        assert [(row["id"], row["uses"]) for row in desk.json("kb", "list")] == [(entry_id, 1)]
        # The reports count the same citations (not the ID's characters).
        day = desk.json("report", "daily", "--date", "2026-11-23")
        assert next(iter(day["tickets"]["kb_uses"].items()), None) == (entry_id, 1), day["tickets"]["kb_uses"]
        agents = desk.json("report", "agents", "--from", "2026-11-23", "--to", "2026-11-23")
        assert [row["kb_uses"] for row in agents["agents"] if row["agent"] == "wang"] == [1]


# ----- 9. check ----------------------------------------------------------------------------

def test_check_finds_a_status_its_history_does_not_add_up_to(desk: Desk) -> None:
    good = desk.published("快递停运怎么办", "联系客服改发其他快递")
    drafted = desk.entry("节假日发货安排", "以店铺公告为准", who="wang")
    desk.clean()
    path = desk.kb_path(drafted)
    text = path.read_text(encoding="utf-8")
    assert 'status = "draft"' in text
    path.write_text(text.replace('status = "draft"', 'status = "published"'), encoding="utf-8")
    result = desk.run("check")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stdout.splitlines() if not line.endswith("(warning)")]
    assert len(errors) == 1, result.stdout
    assert errors[0].startswith(f"records/kb/{drafted}.toml:"), errors
    assert "status" in errors[0], errors
    assert good not in result.stdout


def test_only_published_entries_can_be_cited(invoke: Invoke, ledger: Path) -> None:
    draft = invoke("kb", "add", "--question", "发票怎么开?", "--answer", "在订单页申请。").stdout.strip()
    ticket = invoke("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "发票",
                    "--take").stdout.strip()
    before = snapshot(ledger)
    result = invoke("--lang", "en", "ticket", "resolve", ticket, "--solution", "已告知", "--kb", draft)
    assert result.exit_code == 2
    assert result.stderr == f"csctl: {draft} is draft: only published entries can be cited\n"
    assert snapshot(ledger) == before


def test_without_reveal_only_the_shown_digits_of_a_phone_are_searchable(invoke: Invoke, ledger: Path) -> None:
    customer = invoke("customer", "add", "--name", "林晓燕", "--phone", "13857125678").stdout.strip()

    def found(digits: str, who: str, *reveal: str) -> bool:
        result = invoke("customer", "list", "--phone", digits, "--format", "json", *reveal, env={"CSCTL_AGENT": who})
        return bool(json.loads(result.stdout))

    assert found("5678", "sales")
    assert found("138", "sales")
    assert not found("5712", "sales")  # the hidden middle digits
    assert not found("5712", "wang")  # not even for an agent, unless revealing, which is recorded
    assert found("5712", "wang", "--reveal")
    events = tomllib.loads((ledger / "records" / "customers" / f"{customer}.toml").read_text())["events"]
    assert events[-1] | {"at": None} == {"at": None, "by": "wang", "action": "revealed", "fields": ["phone"]}


def test_a_phone_already_on_file_is_refused_naming_whose(invoke: Invoke, ledger: Path) -> None:
    first = invoke("customer", "add", "--name", "林晓燕", "--phone", "13857125678").stdout.strip()
    before = snapshot(ledger)
    again = invoke("--lang", "en", "customer", "add", "--name", "林小姐", "--phone", "+86 138-5712-5678")
    assert again.exit_code == 2
    assert again.stderr == (
        f"csctl: that phone is already {first}'s (林晓燕); add --same-phone-ok if this is someone else\n"
    )
    assert snapshot(ledger) == before
    second = invoke("customer", "add", "--name", "林先生", "--phone", "13857125678", "--same-phone-ok")
    assert second.exit_code == 0
    assert second.stdout.strip() != first


def test_a_phone_is_found_on_file_through_the_index_which_keeps_no_number(invoke: Invoke, ledger: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`customer add` reads only the files of customers whose phone has the number's key in the index, and
    finds a number changed by hand as the files say; the index keeps a digest of the number, not the number."""
    first = invoke("customer", "add", "--name", "林晓燕", "--phone", "13857125678").stdout.strip()
    path = next(ledger.glob(f"records/customers/**/{first}.toml"))
    path.write_text(path.read_text(encoding="utf-8").replace("13857125678", "13900001111"), encoding="utf-8")
    for no_index in ("0", "1"):
        monkeypatch.setenv("CSCTL_NO_INDEX", no_index)
        again = invoke("--lang", "en", "customer", "add", "--name", "林小姐", "--phone", "139-0000-1111")
        assert (again.exit_code, first in again.stderr) == (2, True), again.stderr
    monkeypatch.setenv("CSCTL_NO_INDEX", "0")
    assert invoke("customer", "add", "--name", "林先生", "--phone", "13857125678").exit_code == 0
    cache = b"".join(p.read_bytes() for p in (ledger / ".csctl").iterdir() if p.is_file())
    assert b"13857125678" not in cache
    assert b"13900001111" not in cache


def _workbook(path: Path, rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_an_excel_workbook_imports_like_a_csv(invoke: Invoke, ledger: Path, tmp_path: Path) -> None:
    good = _workbook(tmp_path / "客户名单.xlsx", [
        ["姓名", "电话", "地区", "标签"],
        ["林晓燕", 13857123456, "杭州", "老客户;VIP"],  # a phone typed as a number
        ["周建国", "139 0571 8888", "宁波", None],
    ])
    result = invoke("customer", "import", str(good))
    assert result.exit_code == 0, result.stderr
    created = result.stdout.split()
    assert len(created) == 2
    first = tomllib.loads(next(ledger.rglob(f"{created[0]}.toml")).read_text())
    assert (first["phone"], first["tags"]) == ("13857123456", ["老客户", "VIP"])
    again = invoke("customer", "import", str(good))
    assert again.exit_code == 0
    assert again.stdout == ""

    bad = _workbook(tmp_path / "bad.xlsx", [["姓名", "电话"], ["陈思琪", "15088886666"], [None, "abc"]])
    before = snapshot(ledger)
    refused = invoke("--lang", "en", "customer", "import", str(bad))
    assert refused.exit_code == 2
    assert [line.split(": ")[0] for line in refused.stdout.splitlines()] == [f"{bad}:3", f"{bad}:3"]
    assert snapshot(ledger) == before

    fake = tmp_path / "fake.xlsx"
    fake.write_text("姓名,电话\n")
    broken = invoke("--lang", "en", "customer", "import", str(fake))
    assert broken.exit_code == 2
    assert broken.stderr.startswith("csctl: not a readable Excel workbook")
    assert len(broken.stderr.splitlines()) == 1
