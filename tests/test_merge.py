"""The merge driver: records merged field by field, histories united (SPEC §6).

In-process tests of `csctl.domain.merge` with hypothesis for its properties,
then a matrix of real `git merge` / `git rebase` runs between two clones that
ran `csctl git-setup`.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from csctl.cli.main import cli
from csctl.domain import tickets
from csctl.domain.merge import merge_records, merge_texts, unite
from csctl.models.base import Event, Record
from csctl.models.kinds import CUSTOMER, KINDS, REMARK, TICKET
from csctl.models.records import Customer, RemarkFile, Ticket
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store, parse_record
from csctl.storage.toml_io import dump_record
from tests.conftest import NOW, run_csctl

T0 = dt.datetime.fromisoformat(NOW)
TICKET_PATH = "records/tickets/2026/11/T-261123-0F3KQ.toml"


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def new_ticket(**fields: Any) -> Ticket:
    created = Event(at=T0, by="wang", action="created")
    return Ticket.model_validate({"id": "T-261123-0F3KQ", "created": T0, "kind": "complaint", "channel": "phone",
                                  "subject": "快递未到", **fields, "events": [created.model_dump(exclude_none=True)]})


def act(ticket: Ticket, minutes: int, by: str, action: str, **extra: Any) -> Ticket:
    return tickets.advance(ticket, Event(at=at(minutes), by=by, action=action, **extra))


def edited(record: Record, **changes: Any) -> Record:
    return type(record).model_validate({**record.model_dump(), **changes})


def merged(base: Record | None, ours: Record, theirs: Record) -> Any:
    return merge_records(TICKET if isinstance(ours, Ticket) else KINDS[_kind(ours)], base, ours, theirs)


def _kind(record: Record) -> str:
    return {Customer: "customer", RemarkFile: "remark"}[type(record)]


# ----- the merge, in-process ----------------------------------------------------------------

def test_notes_on_both_sides_are_united_by_time_and_the_status_replayed() -> None:
    base = act(new_ticket(), 1, "wang", "taken")
    ours = act(act(base, 5, "wang", "noted", text="已联系快递"), 20, "wang", "resolved", solution="已补发")
    theirs = act(base, 10, "lead", "noted", text="买家来电催促")
    outcome = merged(base, ours, theirs)
    assert outcome.clean
    result = parse_record(Path(TICKET_PATH), outcome.text, TICKET)
    assert isinstance(result, Ticket)
    assert [e.action for e in result.events] == ["created", "taken", "noted", "noted", "resolved"]
    assert [e.at for e in result.events] == sorted(e.at for e in result.events)
    assert result.status.value == "resolved"
    assert result.assignee == "wang"


def test_different_fields_are_both_kept_and_a_clash_is_marked_on_its_key_alone() -> None:
    base = new_ticket(region="杭州", description="外包装破损")
    ours = edited(base, region="上海", subject="快递未到,外包装破损")
    theirs = edited(base, region="北京", description="外包装破损,内物完好")
    outcome = merged(base, ours, theirs)
    assert outcome.clashes == ["region"]
    lines = outcome.text.splitlines()
    start = lines.index("<<<<<<< ours")
    assert lines[start:start + 5] == ['<<<<<<< ours', 'region = "上海"', "=======", 'region = "北京"',
                                      ">>>>>>> theirs"]
    assert sum(line.startswith(("<<<<<<<", "=======", ">>>>>>>")) for line in lines) == 3
    resolved = "\n".join(lines[:start] + lines[start + 1:start + 2] + lines[start + 5:]) + "\n"
    result = parse_record(Path(TICKET_PATH), resolved, TICKET)
    assert (result.subject, result.description) == ("快递未到,外包装破损", "外包装破损,内物完好")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("field", "ours", "theirs"), [("phone", "13900001111", "13700002222"),
                                                        ("email", "a@shop.example", "b@shop.example")])
def test_personal_data_changed_on_both_sides_is_a_conflict(field: str, ours: str, theirs: str) -> None:
    created = Event(at=T0, by="wang", action="created").model_dump(exclude_none=True)
    base = Customer.model_validate({"id": "C-261123-0F3KQ", "created": T0, "name": "林晓燕", "events": [created]})
    outcome = merge_records(CUSTOMER, base, edited(base, **{field: ours}), edited(base, **{field: theirs}))
    assert outcome.clashes == [field]
    # One side's change, or the same change on both, is no clash.
    assert merge_records(CUSTOMER, base, edited(base, **{field: ours}), base).clean
    assert merge_records(CUSTOMER, base, edited(base, **{field: ours}), edited(base, **{field: ours})).clean


def test_cited_entries_are_a_set_each_side_adds_to() -> None:
    base = new_ticket(kb=["K-261101-00001"])
    outcome = merged(base, edited(base, kb=["K-261101-00001", "K-261101-00003"]),
                     edited(base, kb=["K-261101-00002"]))
    assert outcome.clean
    assert parse_record(Path(TICKET_PATH), outcome.text, TICKET).kb == ["K-261101-00002", "K-261101-00003"]  # type: ignore[attr-defined]


def test_a_united_history_that_does_not_replay_is_a_conflict() -> None:
    base = act(new_ticket(kind="consultation"), 1, "wang", "taken")
    ours = act(act(base, 5, "wang", "resolved", solution="已答复"), 6, "wang", "closed")
    theirs = act(base, 10, "wang", "noted", text="买家又来电")
    outcome = merged(base, ours, theirs)
    assert not outcome.clean
    assert outcome.illegal is not None
    assert outcome.illegal.startswith("events.4:")


def test_the_same_id_created_on_two_sides_is_a_collision() -> None:
    ours = new_ticket()
    later = at(0) + dt.timedelta(seconds=1)
    theirs = Ticket.model_validate({**ours.model_dump(), "subject": "另一个工单", "created": later,
                                    "events": [{"at": later, "by": "lead", "action": "created"}]})
    outcome = merged(None, ours, theirs)
    assert outcome.collision == theirs
    assert outcome.text == dump_record(ours)


def test_remark_files_of_one_order_begun_on_two_clones_keep_every_remark() -> None:
    def remark_file(minutes: int, by: str, text: str) -> RemarkFile:
        return RemarkFile.model_validate({
            "id": "3291055820147733", "created": at(minutes), "buyer": "lin",
            "remarks": [{"at": at(minutes), "by": by, "kind": "refund", "text": text}],
            "events": [{"at": at(minutes), "by": by, "action": "remarked"}]})

    ours, theirs = remark_file(3, "wang", "退款30元+小王/11.23"), remark_file(1, "mei", "补发袜子+小美/11.23")
    outcome = merge_records(REMARK, None, ours, theirs)
    assert outcome.clean
    result = parse_record(Path("records/remarks/2026/11/3291055820147733.toml"), outcome.text, REMARK)
    assert isinstance(result, RemarkFile)
    assert [r.text for r in result.remarks] == ["补发袜子+小美/11.23", "退款30元+小王/11.23"]
    assert result.created == at(1)
    assert outcome.text == merge_records(REMARK, None, theirs, ours).text


def test_an_unreadable_side_is_exit_2_with_git_s_line_merge_left(tmp_path: Path) -> None:
    base = dump_record(new_ticket())
    files = {name: tmp_path / name for name in ("O", "A", "B")}
    files["O"].write_text(base)
    files["A"].write_text(base.replace('subject = "快递未到"', 'subject = "快递未到!"'))
    files["B"].write_text(base.replace('subject = "快递未到"', "subject = 快递未到?"))
    result = CliRunner().invoke(cli, ["--lang", "en", "merge-driver", *map(str, files.values()), "7", TICKET_PATH])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "cannot merge as records" in result.stderr
    assert "<<<<<<< ours" in files["A"].read_text()


def test_a_file_outside_records_is_refused_in_one_line(tmp_path: Path) -> None:
    for name in "OAB":
        (tmp_path / name).write_text(dump_record(new_ticket()))
    files = [str(tmp_path / n) for n in "OAB"]
    result = CliRunner().invoke(cli, ["--lang", "en", "merge-driver", *files, "7", "notes/x.toml"])
    assert result.exit_code == 2
    assert "not a csctl record file" in result.stderr


def test_unite_keeps_each_side_s_order_at_one_moment() -> None:
    created = Event(at=T0, by="wang", action="created")
    ours = [created, Event(at=at(1), by="wang", action="resolved", solution="x"),
            Event(at=at(1), by="wang", action="closed")]
    theirs = [created, Event(at=at(1), by="lead", action="noted", text="y")]
    for first, second in ((ours, theirs), (theirs, ours)):
        actions = [e.action for e in unite(first, second)]
        assert actions.index("resolved") < actions.index("closed")
        assert len(actions) == 4


# ----- properties -----------------------------------------------------------------------------

AGENTS = ["wang", "mei", "lead"]
OPS = st.lists(st.one_of(
    st.tuples(st.just("note"), st.integers(0, 3), st.sampled_from(AGENTS), st.sampled_from(["催单", "已回电", "补发"])),
    st.tuples(st.just("take"), st.integers(0, 3), st.sampled_from(AGENTS), st.none()),
    st.tuples(st.just("field"), st.sampled_from(["region", "description", "why"]),
              st.sampled_from(["杭州", "上海", None]), st.none()),
    st.tuples(st.just("kb"), st.sampled_from(["K-261101-00001", "K-261101-00002"]), st.none(), st.none()),
), max_size=6)


def play(base: Ticket, ops: list[tuple[Any, ...]]) -> Ticket:
    ticket, minutes = base, 10
    for op, a, b, c in ops:
        if op == "note":
            minutes += a
            ticket = act(ticket, minutes, b, "noted", text=c)
        elif op == "take" and ticket.assignee is None:
            minutes += a
            ticket = act(ticket, minutes, b, "taken")
        elif op == "field":
            ticket = edited(ticket, **{a: b})  # type: ignore[assignment]
        elif op == "kb":
            ticket = edited(ticket, kb=sorted({*ticket.kb, a}))  # type: ignore[assignment]
    return ticket


BASE = act(new_ticket(region="杭州"), 5, "wang", "noted", text="受理")


@settings(max_examples=150, deadline=None)
@given(OPS, OPS)
def test_merge_is_symmetric_loses_no_event_and_gives_a_valid_record(ops_a: list[Any], ops_b: list[Any]) -> None:
    ours, theirs = play(BASE, ops_a), play(BASE, ops_b)
    one, other = merged(BASE, ours, theirs), merged(BASE, theirs, ours)
    assert sorted(one.clashes) == sorted(other.clashes)
    if not one.clean:
        return
    assert one.text == other.text
    result = parse_record(Path(TICKET_PATH), one.text, TICKET)
    assert isinstance(result, Ticket)
    assert dump_record(result) == one.text
    texts = Counter(e.model_dump_json() for e in result.events)
    assert all(texts[e.model_dump_json()] for e in [*ours.events, *theirs.events])
    state = tickets.replay(result.id, result.kind, result.events)
    assert (result.status, result.assignee) == (state.status, state.assignee)


@settings(max_examples=100, deadline=None)
@given(OPS)
def test_merging_a_copy_with_itself_gives_it_back(ops: list[Any]) -> None:
    ours = play(BASE, ops)
    assert merged(BASE, ours, ours).text == dump_record(ours)
    assert merged(BASE, ours, BASE).text == dump_record(ours)


# ----- two clones and real git ----------------------------------------------------------------

def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=check)


class Clone:
    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, who: str = "adm", now: str = NOW) -> Result:
        env = {"CSCTL_LEDGER": str(self.root), "CSCTL_AGENT": who, "CSCTL_NOW": now, "CSCTL_LANG": "en"}
        return CliRunner().invoke(cli, ["--lang", "en", *args], env=env, catch_exceptions=False)

    def new(self, subject: str, now: str = NOW, *more: str) -> str:
        made = self("ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", subject, *more, now=now)
        assert made.exit_code == 0, made.stderr
        return made.stdout.strip()

    def commit(self, message: str, *options: str) -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-qm", message, *options)


@pytest.fixture
def clones(ledger: Path, tmp_path: Path) -> tuple[Clone, Clone]:
    """Two clones of the fixture ledger, each set up with `csctl git-setup`."""
    git(ledger, "add", "-A")
    git(ledger, "-c", "user.email=desk@example.cn", "-c", "user.name=Desk", "commit", "-qm", "the ledger")
    pair = []
    for name in ("a", "b"):
        root = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(ledger), str(root)], check=True)
        git(root, "config", "user.email", f"{name}@example.cn")
        git(root, "config", "user.name", name)
        clone = Clone(root)
        assert clone("git-setup").exit_code == 0
        clone.commit("git-setup", "--allow-empty")  # init already routes records to the driver
        pair.append(clone)
    git(pair[1].root, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    return pair[0], pair[1]


def pull(clone: Clone, other: Clone, *extra: str) -> subprocess.CompletedProcess[str]:
    return git(clone.root, "pull", "-q", "--no-edit", *extra, str(other.root), "main", check=False)


def ticket_file(clone: Clone, ticket_id: str) -> Path:
    return next(clone.root.rglob(f"{ticket_id}.toml"))


def test_merge_matrix_different_records_and_both_add_notes(clones: tuple[Clone, Clone]) -> None:
    a, b = clones
    shared = a.new("快递未到")
    a.commit("shared")
    assert pull(b, a, "--no-rebase").returncode == 0
    # Five seconds apart: two IDs of one 2.6 s step collide 1 time in 1,024, which is a test of its own.
    ours, theirs = a.new("尺码不对", "2026-11-23T10:00:00+08:00"), b.new("退款未到", "2026-11-23T10:00:05+08:00")
    assert a("ticket", "note", shared, "已联系快递", now="2026-11-23T10:05:00+08:00").exit_code == 0
    assert b("ticket", "note", shared, "买家来电催促", now="2026-11-23T10:03:00+08:00").exit_code == 0
    a.commit("a")
    b.commit("b")
    done = pull(a, b, "--no-rebase")
    assert done.returncode == 0, done.stderr
    assert ticket_file(a, ours).exists()
    assert ticket_file(a, theirs).exists()
    notes = [line for line in ticket_file(a, shared).read_text().splitlines() if line.startswith("text = ")]
    assert notes == ['text = "买家来电催促"', 'text = "已联系快递"']
    assert a("check").exit_code == 0
    assert git(a.root, "status", "--porcelain").stdout == ""


def test_merge_matrix_same_record_different_fields_then_same_field(clones: tuple[Clone, Clone]) -> None:
    a, b = clones
    made = a("customer", "add", "--name", "林晓燕", "--phone", "13857123456")
    customer = made.stdout.strip()
    a.commit("customer")
    assert pull(b, a, "--no-rebase").returncode == 0
    assert a("customer", "edit", customer, "--region", "杭州", now="2026-11-23T10:00:00+08:00").exit_code == 0
    assert b("customer", "edit", customer, "--wechat", "lin_xy88", now="2026-11-23T10:01:00+08:00").exit_code == 0
    a.commit("region")
    b.commit("wechat")
    assert pull(a, b, "--no-rebase").returncode == 0
    text = next(a.root.rglob(f"{customer}.toml")).read_text()
    assert 'region = "杭州"' in text
    assert 'wechat = "lin_xy88"' in text
    assert a("check").exit_code == 0
    assert pull(b, a, "--no-rebase").returncode == 0

    assert a("customer", "edit", customer, "--phone", "13900001111", now="2026-11-23T11:00:00+08:00").exit_code == 0
    assert b("customer", "edit", customer, "--phone", "13700002222", now="2026-11-23T11:01:00+08:00").exit_code == 0
    a.commit("phone a")
    b.commit("phone b")
    done = pull(a, b, "--no-rebase")
    assert done.returncode != 0
    assert "冲突:双方把 phone 改成了不同的值" in done.stderr  # in the ledger's language
    text = next(a.root.rglob(f"{customer}.toml")).read_text()
    assert text.count("<<<<<<< ours") == 1
    assert '<<<<<<< ours\nphone = "13900001111"\n=======\nphone = "13700002222"\n>>>>>>> theirs\n' in text
    assert "UU " in git(a.root, "status", "--porcelain").stdout


def test_merge_matrix_same_id_created_twice_then_repaired(clones: tuple[Clone, Clone]) -> None:
    a, b = clones
    ours = a.new("快递未到")
    a.commit("a")
    # Another machine made a different ticket under the same ID (1 in 1,024 within 2.6 s), and a follow-up of it.
    theirs = b.new("退款未到", "2026-11-23T09:30:01+08:00")
    path = ticket_file(b, theirs)
    path.rename(path.with_name(f"{ours}.toml"))
    with_name = path.with_name(f"{ours}.toml")
    with_name.write_text(with_name.read_text().replace(theirs, ours))
    followup = b.new("退款后短信通知", "2026-11-23T09:40:00+08:00", "--follows", ours)
    b.commit("b")

    done = pull(a, b, "--no-rebase")
    assert done.returncode != 0
    assert f"两个克隆各自新建了 {ours}" in done.stderr
    assert "csctl check --repair-duplicates" in done.stderr
    found = a("check")
    assert found.exit_code == 1
    assert f"duplicate ID {ours}" in found.stdout

    repaired = a("check", "--repair-duplicates", who="lead", now="2026-11-23T12:00:00+08:00")
    assert repaired.exit_code == 0, (repaired.stdout, repaired.stderr)
    new_id = repaired.stdout.split(" -> ")[1].split(" ")[0]
    assert f"follows {ours} -> {new_id}" in repaired.stdout
    assert '"退款未到"' in ticket_file(a, new_id).read_text()
    assert '"快递未到"' in ticket_file(a, ours).read_text()
    follows = ticket_file(a, followup).read_text()
    assert f'follows = "{new_id}"' in follows
    assert f'action = "renamed"\nfield = "follows"\nnew_id = "{new_id}"\nold_id = "{ours}"' in follows
    git(a.root, "add", "-A")
    committed = git(a.root, "commit", "-qm", "merge b, duplicate repaired", check=False)  # the hook runs check
    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert a("check").exit_code == 0


# Remark files written by hand here, not by the remark workflow: the pre-commit check is skipped for them.
HAND_MADE = ("--no-verify",)


def test_merge_matrix_remark_files_of_one_order(clones: tuple[Clone, Clone]) -> None:
    a, b = clones

    def remark(clone: Clone, minutes: int, by: str, text: str) -> None:
        when = at(minutes)
        record = RemarkFile.model_validate({
            "id": "3291055820147733", "created": when, "buyer": "lin",
            "remarks": [{"at": when, "by": by, "kind": "refund", "text": text}],
            "events": [{"at": when, "by": by, "action": "remarked"}]})
        store = Store(Ledger(clone.root))
        path = store.path_for(REMARK, record.id, when.date())
        if path.exists():
            old = store.load(REMARK, path)
            assert isinstance(old, RemarkFile)
            record = RemarkFile.model_validate({**old.model_dump(), "remarks": [*old.remarks, *record.remarks],
                                                "events": [*old.events, *record.events]})
            with store.ledger.lock(exclusive=True, what="test"):
                store.replace(REMARK, path, old, record)
        else:
            store.create_named(REMARK, record)

    remark(a, 1, "wang", "退款30元+小王/11.23")
    remark(b, 2, "lead", "补发袜子+张主管/11.23")
    a.commit("a", *HAND_MADE)
    b.commit("b", *HAND_MADE)
    assert pull(a, b, "--no-rebase").returncode == 0  # both began the order's file: united
    remark(a, 5, "wang", "已退款+小王/11.23")
    a.commit("a again", *HAND_MADE)
    assert pull(b, a, "--no-rebase").returncode == 0
    remark(b, 6, "lead", "客户满意+张主管/11.23")
    b.commit("b again", *HAND_MADE)
    assert pull(a, b, "--no-rebase").returncode == 0
    text = next(a.root.rglob("3291055820147733.toml")).read_text()
    assert [line for line in text.splitlines() if line.startswith("text = ")] == [
        'text = "退款30元+小王/11.23"', 'text = "补发袜子+张主管/11.23"', 'text = "已退款+小王/11.23"',
        'text = "客户满意+张主管/11.23"']


def test_merge_matrix_rebase_instead_of_merge(clones: tuple[Clone, Clone]) -> None:
    a, b = clones
    shared = a.new("快递未到")
    a.commit("shared")
    assert pull(b, a, "--no-rebase").returncode == 0
    for minutes, text in ((1, "第一次回电"), (3, "第二次回电")):
        assert a("ticket", "note", shared, text, now=at(minutes).isoformat()).exit_code == 0
        a.commit(text)
    assert b("ticket", "take", shared, who="wang", now=at(2).isoformat()).exit_code == 0
    b.commit("take")
    done = pull(b, a, "--rebase")
    assert done.returncode == 0, done.stderr
    text = ticket_file(b, shared).read_text()
    assert [line for line in text.splitlines() if line.startswith("action = ")] == [
        'action = "created"', 'action = "noted"', 'action = "taken"', 'action = "noted"']
    assert 'assignee = "wang"' in text
    assert 'status = "assigned"' in text
    assert len(git(b.root, "log", "--merges", "--oneline").stdout.splitlines()) <= 1  # the setup's pull only
    assert b("check").exit_code == 0


def test_the_driver_runs_as_git_runs_it(tmp_path: Path) -> None:
    """As a real process (what git starts), with the path git gives."""
    base = new_ticket()
    files = {n: tmp_path / n for n in "OAB"}
    files["O"].write_text(dump_record(base))
    files["A"].write_text(dump_record(act(base, 3, "wang", "noted", text="甲")))
    files["B"].write_text(dump_record(act(base, 2, "mei", "noted", text="乙")))
    done = run_csctl("merge-driver", *map(str, files.values()), "7", TICKET_PATH, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert merge_texts(TICKET_PATH, files["O"].read_text(), files["A"].read_text(), files["B"].read_text()).text \
        == files["A"].read_text()
    assert files["A"].read_text().index('text = "乙"') < files["A"].read_text().index('text = "甲"')


def test_a_remittance_paid_on_one_side_and_noted_on_the_other_replays_its_payments() -> None:
    from csctl.domain import remittances
    from csctl.models.kinds import REMITTANCE
    from csctl.models.records import Remittance

    base = Remittance.model_validate({
        "id": "R-261123-0F3KQ", "created": T0, "buyer": "lin", "agent": "wang", "address": "杭州", "amount": "288.00",
        "items": [{"code": "A1", "size": "M", "qty": 1}],
        "events": [Event(at=T0, by="wang", action="created").model_dump(exclude_none=True)]})
    ours = remittances.advance(base, Event(at=at(5), by="wang", action="paid", date="2026-11-23", method="bank",
                                           bank="工商银行", amount="288.00"))
    theirs = remittances.advance(base, Event(at=at(3), by="lead", action="noted", text="买家来电确认地址"))
    outcome = merge_records(REMITTANCE, base, ours, theirs)
    assert outcome.clean
    result = parse_record(Path("records/remittances/2026/11/R-261123-0F3KQ.toml"), outcome.text, REMITTANCE)
    assert isinstance(result, Remittance)
    assert result.status.value == "paid"
    assert [str(p.amount) for p in result.payments] == ["288.00"]
    assert [e.action for e in result.events] == ["created", "noted", "paid"]
