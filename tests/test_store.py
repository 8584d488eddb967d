"""The store under real conditions: IDs at one frozen moment, append-only history, atomic and
exclusive writes, the ledger lock across processes, and a full disk.
"""

from __future__ import annotations

import datetime as dt
import difflib
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from csctl.errors import CsctlError
from csctl.models.base import Event, Record
from csctl.models.kinds import KINDS, TICKET
from csctl.storage.atomic import create_exclusive, write_atomic
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store
from tests.conftest import NOW, Invoke, run_csctl, snapshot

MakeRecord = Callable[..., Path]
FROZEN = dt.datetime.fromisoformat(NOW)
ISSUE = {"kind": "complaint", "channel": "phone", "subject": "快递三天未到"}


def store_of(ledger: Path) -> Store:
    return Store(Ledger(ledger))


def env_for(ledger: Path, **more: str) -> dict[str, str]:
    return {"CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW, **more}


# ----- creating: IDs and paths -----------------------------------------------------------------

FIELDS: dict[str, dict[str, Any]] = {
    "ticket": ISSUE,
    "remittance": {"buyer": "张三", "agent": "wang", "address": "杭州市西湖区文三路 1 号", "amount": "288.00",
                   "items": [{"code": "A1", "size": "L", "qty": 1}]},
    "customer": {"name": "林晓燕"},
    "kb": {"question": "怎么退货?", "answer": "七天内联系客服。", "author": "wang"},
}


@pytest.mark.parametrize("kind_name", list(FIELDS))
def test_two_records_at_one_frozen_moment_get_distinct_increasing_ids(
    kind_name: str, make_record: MakeRecord, ledger: Path
) -> None:
    first = make_record(kind_name, **FIELDS[kind_name])
    second = make_record(kind_name, **FIELDS[kind_name])
    assert first.stem < second.stem
    kind = KINDS[kind_name]
    for path in (first, second):
        assert path.stem.startswith(f"{kind.prefix}-261123-")
        month = "2026/11/" if kind.dated else ""
        assert path == ledger / "records" / kind.folder / f"{month}{path.stem}.toml"
        assert f'id = "{path.stem}"\n' in path.read_text()
    assert run_csctl("check", cwd=ledger).returncode == 0


def test_a_remark_file_is_filed_by_its_order_number_and_month(make_record: MakeRecord, ledger: Path) -> None:
    path = make_record("remark", order="3287740021559812", buyer="tb_小雨")
    assert path == ledger / "records" / "remarks" / "2026" / "11" / "3287740021559812.toml"
    with pytest.raises(CsctlError, match="already exists"):
        make_record("remark", order="3287740021559812", buyer="tb_小雨")


def test_a_stray_file_in_the_month_folder_does_not_break_creation(make_record: MakeRecord, ledger: Path) -> None:
    """BUG-5: a hand-made name such as `T-261123-notes.toml` beside the records must not crash `new`."""
    first = make_record("ticket", **ISSUE)
    (first.parent / "T-261123-notes.toml").write_text("# 草稿\n")
    (first.parent / "t-261123-0f3kq.toml").write_text("# 草稿\n")
    second = make_record("ticket", **ISSUE)
    assert second.stem > first.stem


CREATE_TICKETS = """
import datetime as dt, sys
from pathlib import Path
from csctl.models.base import Event
from csctl.models.kinds import TICKET
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store

now = dt.datetime.fromisoformat(sys.argv[2])
store = Store(Ledger(Path(sys.argv[1])))
for _ in range(int(sys.argv[3])):
    record = store.create(TICKET, now, lambda rid: TICKET.model.model_validate({
        "id": rid, "created": now, "kind": "consultation", "channel": "online", "subject": "尺码",
        "events": [Event(at=now, by="wang", action="created").model_dump(exclude_none=True)]}))
    print(record.id, flush=True)
"""


def test_processes_creating_at_one_frozen_moment_never_share_an_id(ledger: Path) -> None:
    processes = [
        subprocess.Popen([sys.executable, "-c", CREATE_TICKETS, str(ledger), NOW, "5"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    made: list[str] = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        ids_of_process = out.split()
        assert ids_of_process == sorted(ids_of_process)  # each process sees its own in order
        made.extend(ids_of_process)
    assert len(set(made)) == 20
    on_disk = sorted(p.stem for p in (ledger / "records" / "tickets" / "2026" / "11").glob("*.toml"))
    assert on_disk == sorted(made)
    assert run_csctl("check", cwd=ledger).returncode == 0


# ----- updating: history only grows -------------------------------------------------------------

def later(minutes: int) -> dt.datetime:
    return FROZEN + dt.timedelta(minutes=minutes)


def changed_lines(old: bytes, new: bytes) -> list[str]:
    diff = difflib.unified_diff(old.decode().splitlines(), new.decode().splitlines(), lineterm="", n=0)
    return [line for line in diff if not line.startswith(("---", "+++", "@@"))]


def test_update_appends_an_event_and_the_diff_is_only_added_lines(make_record: MakeRecord, ledger: Path) -> None:
    path = make_record("ticket", **ISSUE)
    store = store_of(ledger)
    notes: list[dict[str, Any]] = [
        {"text": "客户来电催件,已联系快递"},
        {"text": "多行说明:\n第一行 \"引号\"\n第二行\t制表符 \\ 反斜杠", "tags": ["催件", "快递"], "calls": 2},
        {"text": "很长的备注" * 40, "refs": [f"T-261123-{n:05d}" for n in range(8)]},
    ]
    for minute, extra in enumerate(notes, start=1):
        before = path.read_bytes()
        event = Event(at=later(minute), by="wang", action="noted", **extra)

        def append(record: Record, event: Event = event) -> Record:
            return record.with_event(event)

        updated = store.update(TICKET, path.stem, append)
        after = path.read_bytes()
        diff = changed_lines(before, after)
        assert diff, "nothing was written"
        assert all(line.startswith("+") for line in diff), diff
        assert after.startswith(before)
        assert len(updated.events) == minute + 1
    assert run_csctl("check", cwd=ledger).returncode == 0


def test_a_field_change_shows_as_that_line_and_the_new_event(make_record: MakeRecord, ledger: Path) -> None:
    path = make_record("ticket", **ISSUE)
    store = store_of(ledger)
    before = path.read_bytes()
    event = Event(at=later(5), by="lead", action="assign", to="wang")
    store.update(TICKET, path.stem, lambda r: r.with_event(event, status="assigned", assignee="wang"))
    diff = changed_lines(before, path.read_bytes())
    assert [line for line in diff if line.startswith("-")] == ['-status = "new"']
    assert diff[:3] == ['-status = "new"', '+status = "assigned"', '+assignee = "wang"']
    assert diff[3:] == ["+", "+[[events]]", "+at = 2026-11-23T09:35:00+08:00", '+by = "lead"',
                        '+action = "assign"', '+to = "wang"']


def _drop_first_event(record: Record) -> Record:
    return type(record).model_validate({**record.model_dump(), "events": record.model_dump()["events"][1:]})


def _edit_first_event(record: Record) -> Record:
    events = record.model_dump()["events"]
    events[0]["by"] = "lead"
    return type(record).model_validate({**record.model_dump(), "events": events})


def _insert_before_first(record: Record) -> Record:
    events = record.model_dump()["events"]
    early = {"at": FROZEN - dt.timedelta(hours=1), "by": "wang", "action": "noted"}
    return type(record).model_validate({**record.model_dump(), "events": [early, *events]})


@pytest.mark.parametrize("rewrite", [_drop_first_event, _edit_first_event, _insert_before_first])
def test_an_update_that_rewrites_history_is_refused_and_writes_nothing(
    rewrite: Callable[[Record], Record], make_record: MakeRecord, ledger: Path
) -> None:
    path = make_record("ticket", **ISSUE)
    store = store_of(ledger)
    store.update(TICKET, path.stem, lambda r: r.with_event(Event(at=later(1), by="wang", action="noted", text="x")))
    before = snapshot(ledger)
    with pytest.raises(CsctlError, match="never rewrite"):
        store.update(TICKET, path.stem, rewrite)
    assert snapshot(ledger) == before
    assert not list(path.parent.glob(".*.tmp"))


# ----- atomic and exclusive writes ---------------------------------------------------------------

@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "records" / "tickets"
    target.mkdir(parents=True)
    return target


def test_write_atomic_leaves_no_temp_file_and_never_a_toml_one(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = folder / "T-261123-0F3KQ.toml"
    target.write_bytes(b"old\n")
    seen: list[list[str]] = []
    real_replace = os.replace

    def watching_replace(src: str | Path, dst: str | Path) -> None:
        seen.append(sorted(os.listdir(folder)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", watching_replace)
    write_atomic(target, "新内容\n".encode())
    assert target.read_text() == "新内容\n"
    assert sorted(os.listdir(folder)) == ["T-261123-0F3KQ.toml"]
    (during,) = seen
    temps = [name for name in during if name != target.name]
    assert len(temps) == 1
    assert temps[0].startswith(".")
    assert temps[0].endswith(".tmp")
    assert not temps[0].endswith(".toml")
    write_atomic(folder / "new.toml", b"x")  # a file that did not exist
    assert sorted(os.listdir(folder)) == ["T-261123-0F3KQ.toml", "new.toml"]


def test_write_atomic_that_fails_leaves_the_old_bytes_and_no_temp(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = folder / "T-261123-0F3KQ.toml"
    target.write_bytes(b"old\n")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(CsctlError, match="the disk is full"):
        write_atomic(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert os.listdir(folder) == [target.name]


def test_create_exclusive_refuses_an_existing_file_and_leaves_it_unchanged(folder: Path) -> None:
    target = folder / "T-261123-0F3KQ.toml"
    assert create_exclusive(target, "第一\n".encode()) is True
    assert create_exclusive(target, "第二\n".encode()) is False
    assert target.read_text() == "第一\n"
    assert os.listdir(folder) == [target.name]


def test_create_exclusive_makes_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "records" / "tickets" / "2026" / "11" / "T-261123-0F3KQ.toml"
    assert create_exclusive(target, b"x") is True
    assert os.listdir(target.parent) == [target.name]


# ----- the ledger lock across processes ------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from pathlib import Path
from csctl.storage.lock import ledger_lock
with ledger_lock(Path(sys.argv[1]), exclusive=True, timeout=5, what="test"):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def hold_lock(ledger: Path) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """Start a process holding the ledger's exclusive lock; it is ended after the test."""
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ledger / ".csctl" / "lock"), "60"],
                                  stdout=subprocess.PIPE, text=True)
        started.append(holder)
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        return holder

    yield start
    for holder in started:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=10)
        assert holder.stdout is not None
        holder.stdout.close()


def run_timed(args: list[str], env: dict[str, str]) -> tuple[int, list[tuple[float, str]], float]:
    """Run csctl; (exit code, each stderr line with the seconds since start, seconds to exit)."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "csctl", *args], env={**os.environ, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append((time.monotonic() - started, line.rstrip("\n")))

    reader = threading.Thread(target=read)
    reader.start()
    code = process.wait(timeout=60)
    ended = time.monotonic() - started
    reader.join(timeout=10)
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    process.stderr.close()
    return code, lines, ended


ADD_ZHAO = ["--lang", "en", "agent", "add", "zhao", "--name", "小赵", "--role", "tech"]


def test_a_writer_waits_for_the_lock_says_so_and_gives_up(
    ledger: Path, hold_lock: Callable[[], subprocess.Popen[str]]
) -> None:
    hold_lock()
    before = snapshot(ledger)
    code, lines, ended = run_timed(ADD_ZHAO, env_for(ledger, CSCTL_LOCK_TIMEOUT="1.5"))
    assert code == 2
    assert [text for _, text in lines] == [
        "waiting for the ledger lock (csctl.toml)…",
        "csctl: gave up after 1.5 s waiting for the ledger lock: another csctl command is writing",
    ]
    (noticed, _), (gave_up, _) = lines
    assert noticed >= 1.0  # not before a wait is long enough to be noticed
    assert gave_up >= 1.5
    assert noticed < gave_up
    assert ended < 15
    assert snapshot(ledger) == before


def test_a_killed_holder_never_blocks_the_next_command(
    ledger: Path, hold_lock: Callable[[], subprocess.Popen[str]]
) -> None:
    holder = hold_lock()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    code, lines, _ = run_timed(ADD_ZHAO, env_for(ledger, CSCTL_LOCK_TIMEOUT="1.5"))
    assert code == 0, lines
    assert lines == []
    assert "zhao" in (ledger / "csctl.toml").read_text()


def test_a_holder_killed_while_a_writer_waits_lets_the_writer_finish(
    ledger: Path, hold_lock: Callable[[], subprocess.Popen[str]]
) -> None:
    holder = hold_lock()
    killer = threading.Timer(0.8, lambda: os.kill(holder.pid, signal.SIGKILL))
    killer.start()
    try:
        code, lines, _ = run_timed(ADD_ZHAO, env_for(ledger, CSCTL_LOCK_TIMEOUT="20"))
    finally:
        killer.cancel()
    assert code == 0, lines
    assert "zhao" in (ledger / "csctl.toml").read_text()


def test_readers_share_the_lock_with_each_other(ledger: Path) -> None:
    script = HOLD_LOCK.replace("exclusive=True", "exclusive=False")
    reader = subprocess.Popen([sys.executable, "-c", script, str(ledger / ".csctl" / "lock"), "60"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline() == "locked\n"
        check = run_csctl("--lang", "en", "check", env=env_for(ledger, CSCTL_LOCK_TIMEOUT="1.5"))
        assert check.returncode == 0, check.stderr
        assert "waiting" not in check.stderr
        writer = run_csctl(*ADD_ZHAO, env=env_for(ledger, CSCTL_LOCK_TIMEOUT="1.5"))
        assert writer.returncode == 2  # a shared holder still keeps writers out
    finally:
        reader.kill()
        reader.wait(timeout=10)
        assert reader.stdout is not None
        reader.stdout.close()


def test_eight_concurrent_agent_adds_all_land(ledger: Path) -> None:
    env = {**os.environ, **env_for(ledger)}
    processes = [
        subprocess.Popen([sys.executable, "-m", "csctl", "agent", "add", f"p{n}", "--name", f"新人{n}",
                          "--role", "agent", "--email", f"p{n}@shop.example"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(8)
    ]
    for n, process in enumerate(processes):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert out == f"p{n}\n"
    listed = run_csctl("agent", "list", "--format", "json", env=env_for(ledger))
    roster = [a["id"] for a in json.loads(listed.stdout)]
    assert roster[:5] == ["adm", "lead", "wang", "li", "sales"]
    assert sorted(roster[5:]) == [f"p{n}" for n in range(8)]
    check = run_csctl("check", env=env_for(ledger))
    assert check.returncode == 0, check.stdout + check.stderr


# ----- a full disk ---------------------------------------------------------------------------------

def _no_space(*args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("call", ["fsync", "replace"])
def test_a_full_disk_during_agent_add_is_one_line_and_changes_nothing(
    call: str, invoke: Invoke, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(ledger)
    with monkeypatch.context() as patch:
        patch.setattr(os, call, _no_space)
        result = invoke("--lang", "en", "agent", "add", "zhao", "--name", "小赵", "--role", "tech")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"csctl: {ledger / 'csctl.toml'}: cannot write: the disk is full; the file was left as it was\n"
    )
    assert snapshot(ledger) == before
    assert not [p for p in ledger.iterdir() if p.name.endswith(".tmp")]


def test_a_full_disk_during_fmt_changes_nothing(
    invoke: Invoke, make_record: MakeRecord, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_record("ticket", **ISSUE)
    path.write_text(path.read_text().replace('kind = "complaint"', "kind = 'complaint'"))
    before = snapshot(ledger)
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _no_space)
        result = invoke("--lang", "en", "fmt")
    assert result.exit_code == 2
    assert result.stderr == f"csctl: {path}: cannot write: the disk is full; the file was left as it was\n"
    assert snapshot(ledger) == before
    assert not list(path.parent.glob(".*.tmp"))


def test_a_full_disk_while_creating_a_record_leaves_no_file(
    make_record: MakeRecord, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(ledger)
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _no_space)
        with pytest.raises(CsctlError, match="the disk is full"):
            make_record("ticket", **ISSUE)
    assert snapshot(ledger) == before


def test_a_full_disk_during_init_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from csctl.cli.main import cli

    root = tmp_path / "desk"
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _no_space)
        result = CliRunner().invoke(cli, ["--lang", "en", "init", str(root), "--admin", "adm", "--name", "管理员",
                                          "--no-git"], catch_exceptions=False)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("csctl: ")
    assert "the disk is full" in result.stderr
    assert not root.exists() or snapshot(root) == {}
