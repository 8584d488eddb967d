"""Tickets through the CLI: intake, judgement, assignment, handling, callbacks, follow-ups,
deadlines in working time, alerts, language rules, reading, back-dating (issue 3, SPEC §3, §4).

The clock is moved with CSCTL_NOW on each call, never by sleeping. The fixture ledger's
NOW is Monday 2026-11-23 09:30 (+08:00); the default calendar is open Mon–Fri
08:30–17:00 and Sat–Sun 08:30–16:00. Every refusal is exit 2 (or 3 for a role), one
`csctl: ` line on stderr, nothing on stdout and every file byte for byte as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import io
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from csctl.errors import CsctlError
from csctl.models.base import Record
from csctl.models.kinds import Kind
from csctl.storage.store import Store
from tests.conftest import NOW, Invoke
from tests.desk import Desk as BaseDesk

MakeRecord = Callable[..., Path]
ID_LINE = re.compile(r"T-(\d{6})-[0-9A-HJKMNP-TV-Z]{5}\n")


def at(day: str, clock: str) -> str:
    """`at("11-23", "10:00")` -> 2026-11-23T10:00:00+08:00 (a day of 2026, or a full date)."""
    date = day if len(day) == 10 else f"2026-{day}"
    return f"{date}T{clock}:00+08:00"


class Desk(BaseDesk):
    """csctl on the fixture ledger, with the ticket helpers."""

    def new(self, *extra: str, kind: str = "consultation", channel: str = "phone", subject: str = "询问会员卡余额",
            who: str = "wang", now: str = NOW) -> str:
        out = self.ok("ticket", "new", "--kind", kind, "--channel", channel, "--subject", subject, *extra,
                      who=who, now=now)
        assert ID_LINE.fullmatch(out), out
        return out.strip()

    def act(self, ticket_id: str, command: str, *args: str, who: str = "wang", now: str = NOW) -> None:
        """One move on a ticket; it prints the ticket's ID alone."""
        assert self.ok("ticket", command, ticket_id, *args, who=who, now=now) == f"{ticket_id}\n"

    def show(self, ticket_id: str, now: str = NOW) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.ok("ticket", "show", ticket_id, "--format", "json", now=now))
        return data

    def timing(self, ticket_id: str, now: str = NOW) -> dict[str, Any]:
        timing: dict[str, Any] = self.show(ticket_id, now)["timing"]
        return timing

    def path(self, ticket_id: str) -> Path:
        return self.dated_path("tickets", ticket_id)

    def file(self, ticket_id: str) -> dict[str, Any]:
        return tomllib.loads(self.path(ticket_id).read_text(encoding="utf-8"))

    def actions(self, ticket_id: str) -> list[str]:
        return [e["action"] for e in self.file(ticket_id)["events"]]

    def listed(self, *args: str, now: str = NOW, who: str = "adm") -> list[str]:
        rows = json.loads(self.ok("ticket", "list", *args, "--format", "json", now=now, who=who))
        return [row["id"] for row in rows]

    def tickets(self) -> list[Path]:
        return sorted((self.ledger / "records" / "tickets").rglob("*.toml"))


@pytest.fixture
def desk(invoke: Invoke, ledger: Path, more_agents: None) -> Desk:
    """The fixture ledger plus a second agent `mei` and tech support `zhao`."""
    return Desk(invoke, ledger)


# ----- 1. intake ---------------------------------------------------------------------------

def test_new_prints_the_id_alone_and_files_every_field(desk: Desk, make_record: MakeRecord) -> None:
    customer = make_record("customer", name="张三", phone="13800138000").stem
    out = desk.ok(
        "ticket", "new", "--kind", "complaint", "--channel", "online", "--subject", "快递丢件",
        "--description", "包裹显示签收但没收到", "--urgency", "high", "--region", "朝阳区",
        "--customer", customer, "--when", "11月20日", "--who", "张三", "--where", "朝阳区某小区",
        "--what", "包裹未收到", "--why", "快递放错", "--how", "补发", "--cause", "快递员未当面签收",
        "--wanted", "补发并道歉", who="wang",
    )
    match = ID_LINE.fullmatch(out)
    assert match
    assert match.group(1) == "261123"
    ticket_id = out.strip()
    created = dt.datetime.fromisoformat(NOW)
    assert desk.file(ticket_id) == {
        "id": ticket_id, "created": created, "kind": "complaint", "channel": "online",
        "subject": "快递丢件", "description": "包裹显示签收但没收到", "urgency": "high", "status": "new",
        "customer": customer, "region": "朝阳区", "occurred": "11月20日", "who": "张三", "where": "朝阳区某小区",
        "what": "包裹未收到", "why": "快递放错", "how": "补发", "cause": "快递员未当面签收", "wanted": "补发并道歉",
        "events": [{"at": created, "by": "wang", "action": "created"}],
    }
    assert desk.path(ticket_id).read_text(encoding="utf-8").startswith(
        f'id = "{ticket_id}"\ncreated = {NOW}\nkind = "complaint"\n')

    caller = desk.new("--caller", "李女士", "--phone", "13900139000", kind="business", channel="visit")
    data = desk.file(caller)
    assert (data["caller"], data["phone"], data["kind"], data["channel"], data["urgency"]) == (
        "李女士", "13900139000", "business", "visit", "normal")
    assert "customer" not in data
    desk.clean()


def test_every_kind_channel_and_urgency_is_taken(desk: Desk) -> None:
    kinds = ["consultation", "complaint", "suggestion", "requirement", "maintenance", "business"]
    channels = ["phone", "online", "email", "visit", "outbound", "field"]
    urgencies = ["low", "normal", "high", "urgent", "normal", "low"]
    for kind, channel, urgency in zip(kinds, channels, urgencies, strict=True):
        data = desk.file(desk.new("--urgency", urgency, kind=kind, channel=channel))
        assert (data["kind"], data["channel"], data["urgency"]) == (kind, channel, urgency)
    desk.clean()


def test_new_refuses_bad_input_and_writes_nothing(desk: Desk, make_record: MakeRecord) -> None:
    customer = make_record("customer", name="张三").stem
    base = ["ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "问题"]
    desk.refused(*base, "--customer", "C-261123-ZZZZZ", who="wang", says="C-261123-ZZZZZ")
    desk.refused(*base, "--customer", "nobody", who="wang", says="nobody")
    desk.refused(*base, "--customer", customer, "--caller", "李女士", who="wang", says="--caller")
    desk.refused("ticket", "new", "--kind", "praise", "--channel", "phone", "--subject", "x", who="wang",
                 says="--kind")
    desk.refused("ticket", "new", "--kind", "complaint", "--channel", "fax", "--subject", "x", who="wang",
                 says="--channel")
    desk.refused(*base, "--urgency", "asap", who="wang", says="--urgency")
    desk.refused(*base, "--phone", "not a phone", who="wang", says="phone")
    assert desk.tickets() == []
    desk.clean()


def test_a_blank_subject_is_refused(desk: Desk) -> None:
    # Every other free text of a ticket (a note, a reason, a solution) refuses blanks.
    desk.refused("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "  ", who="wang",
                 says="--subject")
    assert desk.tickets() == []


@pytest.mark.parametrize("who", ["sales", "li"])
def test_a_viewer_or_an_assistant_may_not_open_a_ticket(desk: Desk, who: str) -> None:
    desk.refused("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "问题",
                 who=who, code=3, says="create tickets")
    assert desk.tickets() == []


def test_tech_support_and_a_supervisor_may_open_and_take(desk: Desk) -> None:
    tech = desk.new("--take", who="zhao", kind="maintenance")
    assert (desk.file(tech)["status"], desk.file(tech)["assignee"]) == ("assigned", "zhao")
    assert desk.actions(tech) == ["created", "taken"]
    assert desk.file(desk.new(who="lead"))["status"] == "new"
    desk.clean()


# ----- 2. complaint judgement ----------------------------------------------------------------

def test_a_valid_complaint_goes_to_the_responsible_department(desk: Desk) -> None:
    ticket = desk.new(kind="complaint", subject="发错货")
    desk.act(ticket, "judge", "--valid", "--dept", "物流部", now=at("11-23", "10:00"))
    data = desk.file(ticket)
    assert (data["status"], data["department"], data["verdict"]) == ("transferred", "物流部", "valid")
    assert data["events"][-1]["action"] == "judged"
    assert (data["events"][-1]["verdict"], data["events"][-1]["department"]) == ("valid", "物流部")
    desk.refused("ticket", "judge", ticket, "--invalid", "--explanation", "改判", who="wang",
                 says=f"{ticket} was already judged valid")
    desk.refused("ticket", "judge", ticket, "--valid", "--dept", "仓储部", who="lead", says="already judged")
    desk.clean()


def test_an_invalid_complaint_is_explained_and_closed(desk: Desk) -> None:
    ticket = desk.new(kind="complaint", subject="价格太贵")
    desk.act(ticket, "judge", "--invalid", "--explanation", "价格为活动价,已向客户说明")
    data = desk.file(ticket)
    assert (data["status"], data["verdict"]) == ("closed", "invalid")
    assert "department" not in data
    assert data["events"][-1]["explanation"] == "价格为活动价,已向客户说明"
    desk.refused("ticket", "judge", ticket, "--invalid", "--explanation", "再说明", who="wang",
                 says="already judged")
    desk.clean()


def test_judgement_refusals(desk: Desk) -> None:
    consultation = desk.new(kind="consultation")
    line = desk.refused("ticket", "judge", consultation, "--valid", "--dept", "物流部", who="wang")
    assert line == f"csctl: {consultation} is a consultation: only complaints are judged"
    zh = desk.refused("ticket", "judge", consultation, "--valid", "--dept", "物流部", who="wang", lang="zh")
    assert "咨询" in zh
    complaint = desk.new(kind="complaint")
    desk.refused("ticket", "judge", complaint, "--valid", who="wang", says="--dept")
    desk.refused("ticket", "judge", complaint, "--invalid", who="wang", says="--explanation")
    desk.refused("ticket", "judge", complaint, "--valid", "--dept", "物流部", who="zhao", code=3)
    desk.refused("ticket", "judge", complaint, "--valid", "--dept", "物流部", who="sales", code=3)
    desk.refused("ticket", "judge", "T-261123-ZZZZZ", "--valid", "--dept", "物流部", who="wang",
                 says="T-261123-ZZZZZ")
    assert desk.file(complaint)["status"] == "new"
    desk.clean()


def test_judge_without_a_verdict_decides_nothing(desk: Desk) -> None:
    # Neither --valid nor --invalid: refused, not read as --invalid (which would close the complaint).
    complaint = desk.new(kind="complaint")
    desk.refused("ticket", "judge", complaint, "--dept", "物流部", who="wang", says="--valid")
    desk.refused("ticket", "judge", complaint, "--explanation", "已向客户说明", who="wang", says="--valid")
    assert desk.file(complaint)["status"] == "new"
    desk.clean()


# ----- 3. assignment ---------------------------------------------------------------------------

def test_a_supervisor_assigns_an_agent_may_not(desk: Desk) -> None:
    ticket = desk.new()
    desk.refused("ticket", "assign", ticket, "--to", "wang", who="wang", code=3, says="assign")
    desk.act(ticket, "assign", "--to", "wang", who="lead")
    data = desk.file(ticket)
    assert (data["status"], data["assignee"]) == ("assigned", "wang")
    assert data["events"][-1] == {"at": dt.datetime.fromisoformat(NOW), "by": "lead", "action": "assigned",
                                  "to": "wang"}
    desk.refused("ticket", "assign", ticket, "--to", "wang", who="lead", says="already assigned to wang")
    desk.refused("ticket", "assign", ticket, "--to", "nobody", who="lead", says="nobody")
    desk.act(ticket, "assign", "--to", "mei", who="lead")  # reassignment
    assert desk.file(ticket)["assignee"] == "mei"
    desk.clean()


def test_work_goes_only_to_active_people_who_may_handle_tickets(desk: Desk) -> None:
    ticket = desk.new("--take", who="wang")
    desk.act(ticket, "resolve", "--solution", "已解答")
    assert desk.ok("agent", "edit", "mei", "--inactive")
    desk.refused("ticket", "assign", desk.new(who="lead"), "--to", "mei", who="lead", says="mei")
    desk.refused("ticket", "callback", ticket, "--rejected", "--retry-by", "mei", who="wang", says="mei")
    # A viewer or an assistant may not handle tickets (exit 3 on every move): never the one to act.
    other = desk.new("--take", who="wang")
    desk.refused("ticket", "assign", other, "--to", "sales", who="lead", says="sales")
    desk.refused("ticket", "assign", other, "--to", "li", who="lead", says="li")
    desk.refused("ticket", "transfer", other, "--to", "li", "--reason", "请助理处理", who="wang", says="li")
    desk.refused("ticket", "callback", ticket, "--rejected", "--retry-by", "sales", who="wang", says="sales")
    desk.clean()


def test_take_a_new_ticket_but_not_someone_elses(desk: Desk) -> None:
    free = desk.new(who="lead")
    desk.act(free, "take", who="wang")
    assert (desk.file(free)["status"], desk.file(free)["assignee"]) == ("assigned", "wang")
    desk.refused("ticket", "take", free, who="wang", says="already wang's")
    others = desk.new(who="lead")
    desk.act(others, "assign", "--to", "mei", who="lead")
    line = desk.refused("ticket", "take", others, who="wang")
    assert line == f"csctl: {others} is already mei's (assigned)"
    desk.refused("ticket", "take", desk.new(who="lead"), who="li", code=3)
    desk.clean()


def test_list_ends_with_each_agents_open_load(desk: Desk) -> None:
    for _ in range(2):
        desk.new("--take", who="wang")
    desk.new("--take", "--urgency", "urgent", who="mei")
    desk.new(who="lead")  # nobody's yet
    done = desk.new("--take", who="mei")
    desk.act(done, "resolve", "--solution", "已告知余额", who="mei")
    out = desk.ok("ticket", "list")
    assert out.rstrip("\n").splitlines()[-1] == "open load: wang 2, - 1, mei 1 (1 urgent)"
    zh = desk.ok("ticket", "list", lang="zh").rstrip("\n").splitlines()[-1]
    assert zh.startswith("各人未结工单: ")
    assert "wang 2" in zh
    assert "mei 1 (紧急 1)" in zh
    desk.clean()


# ----- 4. handling -----------------------------------------------------------------------------

def test_the_whole_handling_flow(desk: Desk) -> None:
    ticket = desk.new("--take", who="wang")
    desk.act(ticket, "note", "已核实客户身份", now=at("11-23", "09:40"))
    desk.act(ticket, "transfer", "--to", "zhao", "--reason", "系统故障,需技术支持", now=at("11-23", "10:00"))
    data = desk.file(ticket)
    assert (data["status"], data["assignee"]) == ("transferred", "zhao")
    assert data["events"][-1]["target"] == "agent"
    assert data["events"][-1]["to"] == "zhao"
    desk.act(ticket, "transfer", "--to", "财务部", "--reason", "需核对账目", who="zhao", now=at("11-23", "10:30"))
    data = desk.file(ticket)
    assert (data["status"], data["assignee"], data["department"]) == ("transferred", "zhao", "财务部")
    assert data["events"][-1]["target"] == "department"
    desk.act(ticket, "wait", "--reason", "等客户提供流水号", who="zhao", now=at("11-23", "11:00"))
    assert desk.file(ticket)["status"] == "waiting"
    desk.act(ticket, "resume", "--note", "客户已提供", who="zhao", now=at("11-23", "11:30"))
    assert desk.file(ticket)["status"] == "transferred"  # back where it was before waiting
    desk.act(ticket, "resolve", "--solution", "已为客户补充余额", who="zhao", now=at("11-23", "14:00"))
    assert desk.file(ticket)["status"] == "resolved"
    desk.act(ticket, "close", who="zhao", now=at("11-23", "14:10"))
    assert desk.file(ticket)["status"] == "closed"
    desk.act(ticket, "reopen", "--reason", "客户反映余额仍不对", who="zhao", now=at("11-23", "15:00"))
    data = desk.file(ticket)
    assert (data["status"], data["assignee"]) == ("assigned", "zhao")
    assert desk.actions(ticket) == ["created", "taken", "noted", "transferred", "transferred", "waiting",
                                    "resumed", "resolved", "closed", "reopened"]
    assert data["events"][-1]["reason"] == "客户反映余额仍不对"
    assert desk.timing(ticket, now=at("11-23", "15:00"))["reopened"] == 1
    desk.clean(now=at("11-23", "15:00"))


def test_illegal_moves_name_the_state_and_change_nothing(desk: Desk) -> None:
    open_one = desk.new("--take", who="wang")
    closed = desk.new("--take", who="wang")
    desk.act(closed, "resolve", "--solution", "已解答")
    desk.act(closed, "close")
    cases = [
        (("resolve", closed, "--solution", "再解答"), f"{closed} is closed: cannot resolve"),
        (("callback", open_one, "--accepted"), f"{open_one} is assigned: cannot call back"),
        (("close", open_one), f"{open_one} is assigned: cannot close"),
        (("reopen", open_one, "--reason", "x"), f"{open_one} is assigned: cannot reopen"),
        (("resume", open_one), f"{open_one} is assigned: cannot resume"),
        (("note", closed, "补充"), f"{closed} is closed: cannot add a note to"),
        (("wait", closed, "--reason", "x"), f"{closed} is closed: cannot wait on the customer for"),
        (("transfer", closed, "--to", "财务部", "--reason", "x"), f"{closed} is closed: cannot transfer"),
    ]
    for args, message in cases:
        assert desk.refused("ticket", *args, who="wang") == f"csctl: {message}"
    zh = desk.refused("ticket", "resolve", closed, "--solution", "再解答", who="wang", lang="zh")
    assert "已关闭" in zh
    assert "解决" in zh
    desk.refused("ticket", "close", "T-261123-ZZZZZ", who="wang", says="T-261123-ZZZZZ")
    desk.refused("ticket", "note", open_one, "   ", who="wang", says="TEXT")
    desk.refused("ticket", "resolve", open_one, "--solution", "", who="wang", says="--solution")
    desk.clean()


def test_an_agent_handles_only_their_own_tickets_a_supervisor_any(desk: Desk) -> None:
    ticket = desk.new("--take", who="mei")
    line = desk.refused("ticket", "resolve", ticket, "--solution", "已解答", who="wang")
    assert "assigned to mei" in line
    desk.refused("ticket", "wait", ticket, "--reason", "x", who="wang", says="assigned to mei")
    desk.refused("ticket", "transfer", ticket, "--to", "财务部", "--reason", "x", who="wang", says="assigned to mei")
    desk.refused("ticket", "resolve", ticket, "--solution", "已解答", who="li", code=3)
    desk.refused("ticket", "resolve", ticket, "--solution", "已解答", who="sales", code=3)
    desk.act(ticket, "resolve", "--solution", "主管已解答", who="lead")
    data = desk.file(ticket)
    assert (data["status"], data["assignee"]) == ("resolved", "mei")
    assert data["events"][-1]["by"] == "lead"
    desk.refused("ticket", "close", ticket, who="wang", says="assigned to mei")
    desk.act(ticket, "close", who="mei")
    desk.clean()


# ----- 5. callback -----------------------------------------------------------------------------

def _resolved_complaint(desk: Desk, who: str = "wang") -> str:
    ticket = desk.new("--take", kind="complaint", subject="退款未到账", who=who)
    desk.act(ticket, "resolve", "--solution", "已退款,三个工作日内到账", who=who, now=at("11-23", "10:00"))
    return ticket


def test_every_callback_attempt_is_kept(desk: Desk) -> None:
    ticket = _resolved_complaint(desk)
    desk.refused("ticket", "callback", ticket, "--unreachable", "--satisfaction", "3", who="wang",
                 now=at("11-23", "11:00"), says="--satisfaction")
    desk.refused("ticket", "callback", ticket, "--accepted", "--satisfaction", "6", who="wang",
                 now=at("11-23", "11:00"), says="--satisfaction")
    desk.refused("ticket", "callback", ticket, who="wang", now=at("11-23", "11:00"))
    desk.refused("ticket", "callback", ticket, "--accepted", "--retry-by", "mei", who="wang",
                 now=at("11-23", "11:00"), says="--retry-by")
    desk.act(ticket, "callback", "--unreachable", "--note", "无人接听", now=at("11-23", "11:00"))
    t = desk.timing(ticket, now=at("11-23", "11:00"))
    assert (t["callbacks"], t["callbacks_reached"], t["callback_agent"]) == (1, 0, "wang")
    assert t["callback_due"] == at("11-23", "15:00")  # retry after 4 working hours
    assert desk.file(ticket)["status"] == "resolved"

    desk.refused("ticket", "callback", ticket, "--rejected", "--retry-by", "wang", "--satisfaction", "2",
                 who="wang", now=at("11-23", "11:30"), says="another agent")
    desk.act(ticket, "callback", "--rejected", "--satisfaction", "2", "--note", "客户要求加急",
             "--retry-by", "mei", now=at("11-23", "11:30"))
    assert desk.file(ticket)["status"] == "resolved"
    t = desk.timing(ticket, now=at("11-23", "11:30"))
    assert (t["callback_agent"], t["callbacks"], t["callbacks_reached"], t["satisfaction"]) == ("mei", 2, 1, 2)
    assert t["callback_due"] == at("11-23", "15:30")

    desk.act(ticket, "callback", "--accepted", "--satisfaction", "5", "--note", "客户满意", who="mei",
             now=at("11-23", "14:00"))
    t = desk.timing(ticket, now=at("11-23", "14:00"))
    assert (t["callbacks"], t["callbacks_reached"], t["satisfaction"], t["callback_due"]) == (3, 2, 5, None)
    events = [e for e in desk.file(ticket)["events"] if e["action"] == "callback"]
    assert [(e["by"], e["outcome"], e.get("satisfaction"), e.get("note")) for e in events] == [
        ("wang", "unreachable", None, "无人接听"),
        ("wang", "rejected", 2, "客户要求加急"),
        ("mei", "accepted", 5, "客户满意"),
    ]
    assert events[1]["retry_by"] == "mei"
    log = json.loads(desk.ok("ticket", "log", ticket, "--format", "json"))
    assert sum(e["action"] == "callback" for e in log) == 3
    desk.clean(now=at("11-23", "14:00"))


def test_a_rejected_callback_without_retry_reopens_the_ticket(desk: Desk) -> None:
    ticket = _resolved_complaint(desk)
    desk.act(ticket, "callback", "--rejected", "--satisfaction", "1", "--note", "客户不接受", who="mei",
             now=at("11-23", "11:00"))
    data = desk.file(ticket)
    assert (data["status"], data["assignee"]) == ("assigned", "wang")
    t = desk.timing(ticket, now=at("11-23", "11:00"))
    assert (t["reopened"], t["callback_due"], t["callbacks"], t["satisfaction"]) == (1, None, 1, 1)
    # A new cycle: due a working day (complaint) after the callback that reopened it.
    assert t["resolution_due"] == at("11-24", "11:00")
    desk.act(ticket, "resolve", "--solution", "已加急退款", now=at("11-23", "15:00"))
    t = desk.timing(ticket, now=at("11-23", "15:00"))
    assert t["callback_due"] == at("11-24", "15:00")
    assert t["first_resolved_at"] == at("11-23", "10:00")
    desk.clean(now=at("11-23", "15:00"))


def test_the_callback_falls_due_a_working_day_after_resolution(desk: Desk) -> None:
    ticket = _resolved_complaint(desk)
    t = desk.timing(ticket, now=at("11-23", "10:00"))
    assert (t["callback_due"], t["callback_agent"]) == (at("11-24", "10:00"), "wang")
    # Only complaints are called back by default.
    other = desk.new("--take", who="wang")
    desk.act(other, "resolve", "--solution", "已解答")
    assert desk.timing(other)["callback_due"] is None


# ----- 6. follow-ups ---------------------------------------------------------------------------

def test_a_follow_up_is_linked_both_ways(desk: Desk) -> None:
    origin = _resolved_complaint(desk)
    desk.act(origin, "callback", "--accepted", "--satisfaction", "4", "--note", "客户另有新需求",
             now=at("11-23", "11:00"))
    follow = desk.new("--follows", origin, kind="requirement", subject="希望增加分期付款", now=at("11-23", "11:05"))
    assert desk.file(follow)["follows"] == origin
    data = desk.file(origin)
    assert data["followups"] == [follow]
    assert data["events"][-1]["action"] == "linked"
    assert data["events"][-1]["followup"] == follow
    assert data["status"] == "resolved"  # linking changes nothing else
    assert desk.show(follow, now=at("11-23", "11:05"))["follows"] == origin
    assert desk.show(origin, now=at("11-23", "11:05"))["followups"] == [follow]

    before = desk.tickets()
    desk.refused("ticket", "new", "--kind", "requirement", "--channel", "phone", "--subject", "x",
                 "--follows", "T-261123-ZZZZZ", who="wang", says="T-261123-ZZZZZ")
    desk.refused("ticket", "new", "--kind", "requirement", "--channel", "phone", "--subject", "x",
                 "--follows", "nothing", who="wang", says="nothing")
    assert desk.tickets() == before
    desk.clean(now=at("11-23", "11:05"))


def test_a_follow_up_whose_origin_cannot_be_written_is_taken_back(desk: Desk,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    origin = _resolved_complaint(desk)
    before, origin_text = desk.tickets(), desk.path(origin).read_bytes()
    real_replace = Store.replace

    def disk_full(self: Store, kind: Kind, path: Path, old: Record, new: Record) -> None:
        if path.stem == origin:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_replace(self, kind, path, old, new)

    monkeypatch.setattr(Store, "replace", disk_full)
    desk.refused("ticket", "new", "--kind", "requirement", "--channel", "phone", "--subject", "希望增加分期付款",
                 "--follows", origin, says="No space left on device", now=at("11-23", "11:05"))
    assert desk.tickets() == before  # no follow-up left naming an origin that does not name it back
    assert desk.path(origin).read_bytes() == origin_text
    monkeypatch.undo()
    desk.clean(now=at("11-23", "11:05"))


def test_a_follow_up_whose_origin_was_written_but_not_synced_stays_linked(desk: Desk,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The origin's new bytes are in place when syncing its folder fails: taking the follow-up back then would
    leave the origin naming a ticket that is not there."""
    import csctl.storage.store as store_module

    origin = _resolved_complaint(desk)
    before = desk.tickets()
    real_write = store_module.write_atomic

    def unsynced(path: Path, data: bytes) -> None:
        real_write(path, data)
        if path.stem == origin:
            raise CsctlError(f"{path}: written, but its folder could not be synced")

    monkeypatch.setattr(store_module, "write_atomic", unsynced)
    result = desk.run("ticket", "new", "--kind", "requirement", "--channel", "phone", "--subject", "希望增加分期付款",
                      "--follows", origin, now=at("11-23", "11:05"))
    assert result.exit_code == 2
    assert "could not be synced" in result.stderr
    monkeypatch.undo()
    (followup,) = set(desk.tickets()) - set(before)
    assert desk.file(origin)["followups"] == [followup.stem]
    assert desk.file(followup.stem)["follows"] == origin
    desk.clean(now=at("11-23", "11:05"))


# ----- 7. deadlines ----------------------------------------------------------------------------

FRIDAY_4PM = at("11-20", "16:00")


def test_a_complaint_on_friday_afternoon_is_due_on_saturday_morning(desk: Desk) -> None:
    ticket = desk.new(kind="complaint", now=FRIDAY_4PM)
    t = desk.timing(ticket, now=FRIDAY_4PM)
    assert t["response_due"] == at("11-21", "09:30")  # 1 h on Friday, 1 h on Saturday
    assert t["resolution_due"] == at("11-21", "16:00")  # a working day: Saturday, clamped to its closing
    desk.clean(now=FRIDAY_4PM)


def test_a_team_closed_at_the_weekend_answers_on_monday(desk: Desk) -> None:
    desk.edit_config("sat", '""', "calendar.hours")
    desk.edit_config("sun", '""', "calendar.hours")
    ticket = desk.new(kind="complaint", now=FRIDAY_4PM)
    t = desk.timing(ticket, now=FRIDAY_4PM)
    assert t["response_due"] == at("11-23", "09:30")
    assert t["resolution_due"] == at("11-23", "16:00")
    desk.clean(now=FRIDAY_4PM)


def test_limits_may_run_on_the_wall_clock(desk: Desk) -> None:
    desk.edit_config("count", '"calendar"', "tickets")
    ticket = desk.new(kind="complaint", now=FRIDAY_4PM)
    t = desk.timing(ticket, now=FRIDAY_4PM)
    assert (t["response_due"], t["resolution_due"]) == (at("11-20", "18:00"), at("11-21", "16:00"))
    desk.clean(now=FRIDAY_4PM)


def test_a_deadline_crossing_new_year_holidays(desk: Desk) -> None:
    desk.edit_config("holidays", "[2026-12-31, 2027-01-01]", "calendar")
    created = at("2026-12-30", "16:00")  # a Wednesday
    ticket = desk.new(kind="consultation", now=created)
    assert desk.path(ticket).parent.parts[-2:] == ("2026", "12")
    t = desk.timing(ticket, now=created)
    # Response 4 working hours: Wed 16:00–17:00 (1 h); Thu 31st and Fri 1st are holidays;
    # Saturday 2nd opens 08:30, + 3 h = 11:30.
    assert t["response_due"] == at("2027-01-02", "11:30")
    # Resolution 3 working days: Sat 2nd (1), Sun 3rd (2), Mon 4th (3), at the same time of day.
    assert t["resolution_due"] == at("2027-01-04", "16:00")
    desk.clean(now=created)


def test_a_make_up_workday_counts_and_a_holiday_on_a_weekday_does_not(desk: Desk) -> None:
    desk.edit_config("sat", '""', "calendar.hours")
    desk.edit_config("sun", '""', "calendar.hours")
    desk.edit_config("holidays", "[2026-11-24]", "calendar")
    desk.edit_config("workdays", "[2026-11-28]", "calendar")  # a Saturday worked (调休)
    created = at("11-27", "16:00")  # Friday
    ticket = desk.new(kind="consultation", now=created)
    t = desk.timing(ticket, now=created)
    assert t["response_due"] == at("11-28", "11:30")  # Friday 1 h, then the make-up Saturday
    assert t["resolution_due"] == at("12-01", "16:00")  # Sat 28th, Mon 30th, Tue 1st
    monday = desk.new(kind="complaint", now=at("11-23", "16:00"))
    assert desk.timing(monday, now=at("11-23", "16:00"))["response_due"] == at("11-25", "09:30")
    desk.clean(now=created)


def test_waiting_on_the_customer_pauses_the_resolution_clock(desk: Desk) -> None:
    ticket = desk.new("--take", who="wang")  # Monday 09:30, consultation: 3 working days
    assert desk.timing(ticket)["resolution_due"] == at("11-26", "09:30")
    desk.act(ticket, "wait", "--reason", "等客户提供订单号", now=at("11-23", "10:00"))
    t = desk.timing(ticket, now=at("11-23", "11:00"))
    assert (t["waiting"], t["resolution_due"], t["waiting_seconds"]) == (True, None, 3600)
    desk.act(ticket, "resume", "--note", "客户已提供", now=at("11-23", "12:00"))
    t = desk.timing(ticket, now=at("11-23", "12:00"))
    assert (t["waiting"], t["waiting_seconds"]) == (False, 7200)
    assert t["resolution_due"] == at("11-26", "11:30")  # exactly 2 working hours later
    # A pause across the night counts only its working time: 16:30–17:00 and 08:30–09:00.
    desk.act(ticket, "wait", "--reason", "等客户回电", now=at("11-23", "16:30"))
    desk.act(ticket, "resume", now=at("11-24", "09:00"))
    t = desk.timing(ticket, now=at("11-24", "09:00"))
    assert (t["waiting_seconds"], t["resolution_due"]) == (10800, at("11-26", "12:30"))
    assert t["responded_at"] == at("11-23", "10:00")  # the wait answered the customer
    desk.clean(now=at("11-24", "09:00"))


def test_time_with_another_department_is_counted_apart(desk: Desk) -> None:
    ticket = desk.new("--take", kind="complaint", who="wang")
    desk.act(ticket, "note", "已受理", now=at("11-23", "10:00"))
    desk.act(ticket, "judge", "--valid", "--dept", "物流部", now=at("11-23", "16:00"))
    t = desk.timing(ticket, now=at("11-23", "16:30"))
    assert t["transferred_seconds"] == 1800  # still running while it is with them
    desk.act(ticket, "resolve", "--solution", "物流部已补发", now=at("11-24", "09:30"))
    t = desk.timing(ticket, now=at("11-25", "12:00"))
    assert t["transferred_seconds"] == 7200  # Mon 16:00–17:00, Tue 08:30–09:30; stops at resolution
    assert (t["waiting_seconds"], t["response_met"], t["resolution_met"]) == (0, True, True)
    desk.clean(now=at("11-25", "12:00"))


def test_whether_each_deadline_was_met(desk: Desk) -> None:
    in_time = desk.new("--take", kind="complaint", who="wang")
    desk.act(in_time, "note", "已致电客户", now=at("11-23", "11:00"))
    desk.act(in_time, "resolve", "--solution", "已处理", now=at("11-24", "09:00"))
    late = desk.new("--take", kind="complaint", who="wang")
    desk.act(late, "note", "已致电客户", now=at("11-23", "12:00"))
    desk.act(late, "resolve", "--solution", "已处理", now=at("11-24", "10:00"))
    pending = desk.new()
    now = at("11-24", "12:00")
    assert [desk.timing(in_time, now)[k] for k in ("response_met", "resolution_met")] == [True, True]
    assert [desk.timing(late, now)[k] for k in ("response_met", "resolution_met")] == [False, False]
    early = desk.timing(pending, at("11-23", "10:00"))
    assert (early["response_met"], early["resolution_met"], early["overdue"]) == (None, None, False)
    overdue = desk.timing(pending, at("11-23", "14:00"))
    assert (overdue["response_met"], overdue["resolution_met"], overdue["overdue"]) == (False, None, True)
    desk.clean(now=now)


def test_list_overdue_shows_exactly_the_late_tickets(desk: Desk) -> None:
    on_time = desk.new("--take", kind="complaint", who="wang")
    desk.act(on_time, "resolve", "--solution", "已处理", now=at("11-24", "09:00"))
    was_late = desk.new("--take", kind="complaint", who="wang")  # late, but resolved now
    desk.act(was_late, "note", "已致电", now=at("11-23", "12:00"))
    desk.act(was_late, "resolve", "--solution", "已处理", now=at("11-24", "10:00"))
    unanswered = desk.new(subject="无人响应")
    answered = desk.new("--take", who="wang")
    desk.act(answered, "note", "已回复", now=at("11-23", "10:00"))
    urgent = desk.new("--take", "--urgency", "urgent", who="mei")
    desk.act(urgent, "note", "已回复", who="mei", now=at("11-23", "09:45"))
    now = at("11-24", "12:00")
    assert desk.listed("--overdue", now=now) == [unanswered, urgent]
    assert len(desk.listed(now=now)) == 5
    rows = json.loads(desk.ok("ticket", "list", "--overdue", "--format", "json", now=now))
    assert [(r["late"], r["due"]) for r in rows] == [(True, at("11-23", "13:30")), (True, at("11-23", "13:30"))]
    assert desk.listed("--overdue", now=at("11-23", "09:50")) == []
    desk.clean(now=now)


# ----- 8. alerts -------------------------------------------------------------------------------

def test_a_status_edited_away_from_the_history_is_unreadable_not_closed(desk: Desk) -> None:
    """The history is the truth: a ticket closed by a hand edit of `status` must not silence its alert,
    leave the open listings or take a move judged on the edited field."""
    overdue = desk.new("--urgency", "urgent", subject="紧急停卡", who="lead")  # resolution due Mon 13:30
    desk.act(overdue, "assign", "--to", "mei", who="lead")
    path = desk.path(overdue)
    path.write_text(path.read_text(encoding="utf-8").replace('status = "assigned"', 'status = "closed"', 1),
                    encoding="utf-8")
    before = path.read_bytes()
    says = "status is closed, but the history says assigned"
    result = desk.run("alerts", "--format", "json", now=at("11-25", "12:00"))
    assert result.exit_code == 1, result.stderr
    found = [row for row in json.loads(result.stdout) if row["record"] in str(path)]
    assert [row["alert"] for row in found] == ["record.unreadable"]
    assert says in found[0]["subject"]
    desk.refused("ticket", "show", overdue, says=says)
    desk.refused("ticket", "note", overdue, "已回电", who="mei", says=says)
    assert path.read_bytes() == before
    listed = desk.run("ticket", "list", "--format", "json")
    assert overdue not in listed.stdout
    assert says in listed.stderr
    assert says in desk.run("check").stdout


def test_alerts_are_quiet_when_nothing_is_due(desk: Desk) -> None:
    result = desk.run("alerts")
    assert (result.exit_code, result.stdout) == (0, "")
    desk.new()
    result = desk.run("alerts", now=at("11-23", "10:00"))
    assert (result.exit_code, result.stdout) == (0, "")
    assert json.loads(desk.run("alerts", "--format", "json").stdout) == []


def test_alerts_list_overdue_work_for_the_responsible_agent(desk: Desk) -> None:
    slow = desk.new("--urgency", "urgent", subject="紧急停卡", who="lead")  # resolution due Mon 13:30
    desk.act(slow, "assign", "--to", "mei", who="lead")
    desk.act(slow, "note", "已受理", who="mei", now=at("11-23", "09:40"))
    callback = _resolved_complaint(desk)  # resolved Mon 10:00: callback due Tue 10:00
    silent = desk.new(subject="无人回复", who="lead", now=at("11-24", "16:00"))  # response due Wed 11:30
    desk.act(silent, "assign", "--to", "wang", who="lead", now=at("11-24", "16:05"))
    now = at("11-25", "12:00")

    result = desk.run("alerts", "--format", "json", now=now)
    assert result.exit_code == 1, result.stderr
    rows = json.loads(result.stdout)
    assert rows == [
        {"alert": "ticket.resolution", "record": slow, "agent": "mei", "role": None, "due": at("11-23", "13:30"),
         "late_by": "1d 22:30", "subject": "紧急停卡"},
        {"alert": "ticket.callback", "record": callback, "agent": "wang", "role": None, "due": at("11-24", "10:00"),
         "late_by": "1d 2:00", "subject": "退款未到账"},
        {"alert": "ticket.response", "record": silent, "agent": "wang", "role": None, "due": at("11-25", "11:30"),
         "late_by": "0:30", "subject": "无人回复"},
    ]
    table = desk.run("alerts", now=now)
    assert table.exit_code == 1
    for ticket in (slow, callback, silent):
        assert ticket in table.stdout
    assert "ticket: callback due" in table.stdout
    mine = json.loads(desk.run("alerts", "--agent", "wang", "--format", "json", now=now).stdout)
    assert [(r["record"], r["alert"]) for r in mine] == [(callback, "ticket.callback"), (silent, "ticket.response")]
    assert desk.run("alerts", "--agent", "mei", now=now).exit_code == 1
    nobody = desk.run("alerts", "--agent", "zhao", now=now)
    assert (nobody.exit_code, nobody.stdout) == (0, "")
    # The callback done, it is no longer due.
    desk.act(callback, "callback", "--accepted", "--satisfaction", "5", now=now)
    assert [r["alert"] for r in json.loads(desk.run("alerts", "--format", "json", now=now).stdout)] == [
        "ticket.resolution", "ticket.response"]
    desk.clean(now=now)


# ----- 9. language rules -----------------------------------------------------------------------

def test_a_forbidden_word_is_warned_about_but_written(desk: Desk) -> None:
    ticket = desk.new("--take", who="wang")
    result = desk.run("ticket", "resolve", ticket, "--solution", "嗯,已经帮您处理好了", who="wang")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{ticket}\n"
    warning = [line for line in result.stderr.splitlines() if line.startswith("csctl: ")]
    assert len(warning) == 1
    assert "嗯" in warning[0]
    assert "--solution" in warning[0]
    assert desk.file(ticket)["events"][-1]["solution"] == "嗯,已经帮您处理好了"
    assert desk.file(ticket)["status"] == "resolved"
    desk.clean()


def test_strict_refuses_a_forbidden_word(desk: Desk) -> None:
    ticket = desk.new("--take", who="wang")
    desk.refused("ticket", "resolve", ticket, "--solution", "这个我不清楚", "--strict", who="wang", says="不清楚")
    complaint = _resolved_complaint(desk)
    desk.refused("ticket", "callback", complaint, "--accepted", "--note", "哦,好的", "--strict", who="wang",
                 now=at("11-23", "11:00"), says="哦")
    result = desk.run("ticket", "callback", complaint, "--accepted", "--note", "哦,好的", who="wang",
                      now=at("11-23", "11:00"))
    assert result.exit_code == 0
    assert "哦" in result.stderr
    # The ledger may make the rule strict for everyone.
    desk.edit_config("strict_language", "true", "tickets")
    desk.refused("ticket", "resolve", ticket, "--solution", "不知道", who="wang", says="不知道")
    assert desk.file(ticket)["status"] == "assigned"
    desk.clean(now=at("11-23", "11:00"))


def test_phrases_fill_in_the_agents_name_and_staff_number(desk: Desk) -> None:
    out = desk.ok("phrases", who="wang")
    assert "您好!测试客服部客服中心小王,请问有什么可以帮您吗?" in out
    assert "我的工号是1023" in out
    assert "哦、嗯、不知道、不清楚" in out
    assert "{" not in out
    addressed = desk.ok("phrases", "--customer", "王先生", who="wang")
    assert "您好!请问您是王先生吗?" in addressed
    rows = json.loads(desk.ok("phrases", "--format", "json", who="mei"))
    values = {row["field"]: row["value"] for row in rows}
    assert values["callback_intro"] == "这里是测试客服部客服部,我的工号是1024,请问您现在方便接听电话吗?"
    assert values["forbidden"] == "哦、嗯、不知道、不清楚"


# ----- 10. reading -----------------------------------------------------------------------------

def test_show_in_the_users_language_and_log_in_order(desk: Desk) -> None:
    ticket = desk.new("--take", "--region", "海淀区", kind="complaint", subject="快递慢", who="wang")
    desk.act(ticket, "note", "已联系快递", now=at("11-23", "10:00"))
    desk.act(ticket, "resolve", "--solution", "已催促快递", now=at("11-23", "11:00"))
    zh = desk.ok("ticket", "show", ticket, lang=None, now=at("11-23", "11:00"))
    for text in ("主题", "快递慢", "状态", "已解决", "投诉", "区域", "海淀区", "首次响应期限", "回访期限",
                 "已联系快递"):
        assert text in zh, text
    en = desk.ok("ticket", "show", ticket, lang="en", now=at("11-23", "11:00"))
    for text in ("subject", "status", "resolved", "complaint", "region", "first response due", "callback due"):
        assert text in en, text
    assert "主题" not in en
    log = desk.ok("ticket", "log", ticket, now=at("11-23", "11:00"))
    positions = [log.index(word) for word in ("created", "taken", "note", "resolved")]
    assert positions == sorted(positions)
    assert "2026-11-23 10:00" in log
    assert "solution: 已催促快递" in log
    events = json.loads(desk.ok("ticket", "log", ticket, "--format", "json"))
    assert [e["action"] for e in events] == ["created", "taken", "noted", "resolved"]
    assert [e["at"] for e in events] == [NOW, NOW, at("11-23", "10:00"), at("11-23", "11:00")]
    desk.clean(now=at("11-23", "11:00"))


def test_list_filters_and_formats(desk: Desk, make_record: MakeRecord) -> None:
    customer = make_record("customer", name="张三").stem
    friday = desk.new("--region", "海淀区", "--take", kind="complaint", channel="online", who="mei",
                      now=at("11-20", "10:00"))
    desk.act(friday, "resolve", "--solution", "已处理", who="mei", now=at("11-20", "11:00"))
    monday = desk.new("--region", "朝阳区", "--take", "--customer", customer, who="wang")
    tuesday = desk.new(kind="suggestion", channel="email", who="lead", now=at("11-24", "10:00"))
    now = at("11-24", "12:00")
    assert desk.listed(now=now) == [friday, monday, tuesday]
    assert desk.listed("--status", "assigned", now=now) == [monday]
    assert desk.listed("--status", "assigned", "--status", "new", now=now) == [monday, tuesday]
    assert desk.listed("--agent", "mei", now=now) == [friday]
    assert desk.listed("--kind", "complaint", now=now) == [friday]
    assert desk.listed("--channel", "email", now=now) == [tuesday]
    assert desk.listed("--region", "朝阳区", now=now) == [monday]
    assert desk.listed("--customer", customer, now=now) == [monday]
    assert desk.listed("--from", "2026-11-23", "--to", "2026-11-23", now=now) == [monday]
    assert desk.listed("--from", "2026-11-23", now=now) == [monday, tuesday]
    assert desk.listed("--to", "2026-11-22", now=now) == [friday]
    assert desk.listed("--open", now=now) == [monday, tuesday]
    assert desk.listed("--kind", "complaint", "--open", now=now) == []
    desk.refused("ticket", "list", "--status", "lost", says="--status")
    desk.refused("ticket", "list", "--from", "yesterday", says="--from")

    rows = json.loads(desk.ok("ticket", "list", "--format", "json", now=now))
    assert list(rows[0]) == ["id", "created", "kind", "urgency", "status", "assignee", "due", "late", "subject"]
    assert (rows[1]["kind"], rows[1]["status"], rows[1]["assignee"]) == ("consultation", "assigned", "wang")
    text = desk.ok("ticket", "list", "--format", "csv", now=now)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert table[0] == ["ID", "created", "kind", "urgency", "status", "assignee", "due", "late", "subject"]
    assert [row[0] for row in table[1:]] == [friday, monday, tuesday]
    markdown = desk.ok("ticket", "list", "--format", "markdown", now=now)
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + 3
    assert re.fullmatch(r"\|[-:| ]+\|", lines[1])
    assert [line.split("|")[1].strip() for line in lines[2:]] == [friday, monday, tuesday]
    # A viewer reads everything.
    assert desk.listed(now=now, who="sales") == [friday, monday, tuesday]
    assert desk.ok("ticket", "show", monday, who="sales")
    desk.clean(now=now)


# ----- 11. back-dating -------------------------------------------------------------------------

def test_at_back_dates_an_action_and_keeps_when_it_was_recorded(desk: Desk) -> None:
    ticket = desk.new("--take", who="wang", now=at("11-20", "15:00"))
    desk.act(ticket, "note", "周一早上客户来电", "--at", "2026-11-23T08:00")
    event = desk.file(ticket)["events"][-1]
    assert event["at"].isoformat() == "2026-11-23T08:00:00+08:00"
    assert event["recorded_at"].isoformat() == NOW
    desk.act(ticket, "note", "现在", now=NOW)
    assert "recorded_at" not in desk.file(ticket)["events"][-1]
    desk.refused("ticket", "note", ticket, "未来", "--at", "2026-11-23T10:00", who="wang", says="future")
    desk.refused("ticket", "note", ticket, "乱写", "--at", "someday", who="wang", says="--at")
    created = desk.new("--at", "2026-11-23T09:00", who="wang")
    assert desk.file(created)["created"].isoformat() == "2026-11-23T09:00:00+08:00"
    assert desk.file(created)["events"][0]["recorded_at"].isoformat() == NOW
    desk.clean()


def test_at_may_not_go_back_before_the_ticket_was_created(desk: Desk) -> None:
    # Else a ticket is answered and resolved before it existed, and counts as on time.
    ticket = desk.new("--take", kind="complaint", who="wang")
    desk.refused("ticket", "note", ticket, "已致电", "--at", "2026-11-20T10:00", who="wang", says="--at")
    desk.refused("ticket", "resolve", ticket, "--solution", "已处理", "--at", "2026-11-20T10:00", who="wang",
                 says="--at")
    assert desk.timing(ticket)["responded_at"] is None
    desk.clean()


def test_an_unknown_agent_as_a_filter_is_exit_2(invoke: Invoke, ledger: Path) -> None:
    for args in (["alerts", "--agent", "ghost"], ["ticket", "list", "--agent", "ghost"]):
        result = invoke("--lang", "en", *args)
        assert result.exit_code == 2, args
        assert result.stderr == "csctl: ghost is not on the roster\n"
