"""The derived index never changes an answer (issue 8, item 5): after random outside edits — new,
changed, deleted, renamed, duplicated and broken files, a `git checkout` of an older commit — every
alert list, listing, report and `check` is byte for byte what csctl says without an index, and what
a fresh index says.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from csctl.cli.main import cli
from tests.conftest import copy_demo

NOW = "2026-11-23T12:30:00+08:00"
QUESTIONS = [
    ("alerts", "--format", "json"),
    ("report", "daily", "--date", "2026-11-20", "--format", "json"),
    ("report", "daily", "--date", "2026-11-22", "--format", "json"),
    ("report", "weekly", "--week", "2026-W47", "--format", "json"),
    ("report", "monthly", "--month", "2026-11", "--format", "json"),
    ("report", "agents", "--from", "2026-11-16", "--to", "2026-11-23", "--format", "json"),
    ("ticket", "list", "--status", "new", "--status", "closed"),
    ("ticket", "list", "--open", "--format", "json"),
    ("ticket", "list", "--overdue", "--format", "csv"),
    ("ticket", "list"),
    ("ticket", "list", "--agent", "wang", "--format", "json"),
    ("ticket", "list", "--agent", "mei", "--status", "closed", "--overdue"),
    ("ticket", "list", "--customer", "C-261008-DK67K", "--format", "json"),
    ("ticket", "list", "--from", "2026-11-20", "--to", "2026-11-21", "--kind", "complaint"),
    ("ticket", "list", "--from", "2026-11-22", "--format", "json"),
    ("remit", "pending", "--format", "json"),
    ("remit", "list", "--open", "--format", "json"),
    ("remit", "list", "--status", "shipped", "--status", "cancelled", "--format", "json"),
    ("remit", "list", "--buyer", "tb_郑浩", "--agent", "lin"),
    ("remit", "list", "--buyer", "tb_郑浩", "--format", "json"),
    ("remit", "list", "--customer", "C-261021-MWEME", "--format", "json"),
    ("remit", "list", "--from", "2026-11-18", "--to", "2026-11-20"),
    ("remit", "register", "--date", "2026-11-21", "--format", "json"),
    ("remit", "register", "--date", "2026-11-22"),
    # Questions answered from the facts the index keeps (citations, customers, remark files' IDs and buyers).
    ("kb", "list", "--format", "json"),
    ("kb", "search", "快递"),
    ("kb", "show", "K-260914-ENAZD", "--format", "json"),
    ("customer", "show", "C-261008-DK67K", "--format", "json"),
    ("customer", "show", "C-261021-MWEME"),
    ("remark", "list", "--format", "json"),
    ("remark", "list", "--order", "3291055820147733"),
    ("remark", "list", "--buyer", "tb_王丽", "--format", "json"),
    ("refund", "list", "--all", "--format", "json"),
    ("balance", "list", "--format", "json"),
    ("balance", "show", "tb_王丽", "--format", "json"),
    ("balance", "show", "tb_王丽丽"),
    ("balance", "list", "--buyer", "tb_王丽", "--format", "json"),
    ("balance", "list", "--buyer", ""),
    ("remark", "list", "--buyer", ""),
    ("remit", "list", "--buyer", " "),
    # Text UTF-8 cannot carry (undecodable bytes on a command line) matches no record, index or not.
    ("balance", "list", "--buyer", "ab\udcffcd"),
    ("balance", "show", "ab\udcffcd"),
    ("remark", "list", "--buyer", "ab\udcffcd", "--format", "json"),
    ("remark", "list", "--order", "33\udcff"),
    ("remit", "list", "--buyer", "ab\udcffcd"),
]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the demo ledger (every kind and state), as a git repository."""
    root = copy_demo(tmp_path / "demo")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "demo")
    return root


def ask(root: Path, args: tuple[str, ...], *, index: bool, who: str = "chen") -> tuple[int, str, str]:
    env = {"CSCTL_LEDGER": str(root), "CSCTL_NOW": NOW, "CSCTL_AGENT": who}
    if not index:
        env["CSCTL_NO_INDEX"] = "1"
    result = CliRunner().invoke(cli, ["--lang", "en", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def questions(root: Path) -> list[tuple[str, ...]]:
    """QUESTIONS, and `check` of the whole ledger and of one folder (judged against the whole)."""
    return [*QUESTIONS, ("check", "--format", "json"), ("check", str(root / "records" / "tickets"))]


def same_answers(root: Path) -> None:
    for args in questions(root):
        without = ask(root, args, index=False)
        assert ask(root, args, index=True) == without, args
    # And a fresh index (rebuilt from nothing) agrees with the one kept up by stat.
    shutil.rmtree(root / ".csctl")
    for args in questions(root):
        assert ask(root, args, index=True) == ask(root, args, index=False), args


def act(root: Path, *args: str, who: str = "wang") -> str:
    result = CliRunner().invoke(cli, list(args), env={"CSCTL_LEDGER": str(root), "CSCTL_NOW": NOW,
                                                      "CSCTL_AGENT": who}, catch_exceptions=False)
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout.strip()


def records(root: Path, folder: str) -> list[Path]:
    return sorted((root / "records" / folder).rglob("*.toml"))


def test_the_index_answers_like_the_files_after_each_kind_of_outside_edit(demo: Path) -> None:
    same_answers(demo)  # builds the index
    assert (demo / ".csctl" / "index.sqlite3").is_file()
    rng = random.Random(8)

    # csctl's own writes (written through), in every workflow.
    ticket = act(demo, "ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", "新投诉",
                 "--take")
    act(demo, "ticket", "note", ticket, "已致电")
    remit = act(demo, "remit", "new", "--buyer", "tb_新", "--item", "Q1:M:1", "--address", "某地址", "--amount",
                "66.60")
    act(demo, "remit", "paid", remit, "--date", "2026-11-23", "--method", "网银", "--bank", "工行", "--amount", "60")
    act(demo, "remark", "add", "3399000011112222", "refund_after_trade", "item=Q1", "kind=邮费", "amount=6",
        "via=支付宝", "account=a@b.cn", "holder=王小二", "--buyer", "tb_新")
    same_answers(demo)

    # Outside edits, as a person or git makes them.
    # One order filed twice, the copy naming another buyer and registering the deduction: registrations
    # are told per order, so the copy registers the buyer's deduction too.
    unregistered = demo / "records" / "remarks" / "2026" / "11" / "3293360014428801.toml"
    text = unregistered.read_text(encoding="utf-8").replace('buyer = "tb_王丽"', 'buyer = "tb_王丽丽"')
    registered = ('[[remarks]]\nat = 2026-11-23T09:00:00+08:00\nby = "zhang"\nkind = "balance_registered"\n'
                  'text = "余额已登记+小张/11.23"\n\n')
    (unregistered.parent / "3000000000000002.toml").write_text(text.replace("[[events]]", registered + "[[events]]", 1),
                                                               encoding="utf-8")
    changed = rng.choice(records(demo, "tickets"))
    changed.write_text(changed.read_text(encoding="utf-8").replace('urgency = "normal"', 'urgency = "urgent"'),
                       encoding="utf-8")
    rng.choice(records(demo, "remittances")).unlink()
    broken = rng.choice(records(demo, "tickets"))
    broken.write_text(broken.read_text(encoding="utf-8")[:40], encoding="utf-8")
    review = rng.choice(records(demo, "reviews"))
    review.write_text(review.read_text(encoding="utf-8")[:30], encoding="utf-8")
    moved = rng.choice(records(demo, "remarks"))
    moved.rename(moved.with_name("3300000000000001.toml"))
    new = demo / "records" / "tickets" / "2026" / "11" / "T-261123-ZZZZZ.toml"
    new.write_text(changed.read_text(encoding="utf-8").replace(changed.stem, "T-261123-ZZZZZ"), encoding="utf-8")
    # A folder beside a month's whose name sorts before it as text, after it as a path ("." < "/").
    aside = demo / "records" / "tickets" / "2026" / "11.bak" / "T-261101-AAAAA.toml"
    aside.parent.mkdir()
    aside.write_text(changed.read_text(encoding="utf-8").replace(changed.stem, aside.stem), encoding="utf-8")
    same_answers(demo)

    # Problems only `check` sees across files: a named customer gone, an ID filed twice.
    named = next(p for p in records(demo, "tickets") if 'customer = "C-' in p.read_text(encoding="utf-8"))
    customer = named.read_text(encoding="utf-8").split('customer = "', 1)[1].split('"', 1)[0]
    next(p for p in records(demo, "customers") if p.stem == customer).unlink()
    twice = rng.choice(records(demo, "tickets"))
    (demo / "records" / "tickets" / "2025" / "01").mkdir(parents=True)
    shutil.copy(twice, demo / "records" / "tickets" / "2025" / "01" / twice.name)
    code, out, _ = ask(demo, ("check",), index=True)
    assert code == 1
    assert customer in out
    assert f"{twice.stem}" in out
    same_answers(demo)

    # A merged history: an event written last but dated earliest, and `created` before the first event.
    merged = rng.choice(records(demo, "remittances"))
    merged.write_text(merged.read_text(encoding="utf-8").replace("created = 2026-11-", "created = 2026-10-", 1)
                      + '\n[[events]]\nat = 2026-11-05T10:00:00+08:00\nby = "wang"\naction = "noted"\n'
                        'recorded_at = 2026-11-23T12:00:00+08:00\ntext = "补记"\n', encoding="utf-8")
    same_answers(demo)

    # A checkout of the first commit puts every file back, with new inodes and times.
    git(demo, "add", "-A")
    git(demo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "edits")
    git(demo, "checkout", "-q", "HEAD~1")
    same_answers(demo)


def test_a_damaged_or_foreign_index_costs_only_time(demo: Path) -> None:
    expected = ask(demo, QUESTIONS[0], index=False)
    assert ask(demo, QUESTIONS[0], index=True) == expected
    index = demo / ".csctl" / "index.sqlite3"
    index.write_bytes(b"this is not a database" * 100)
    assert ask(demo, QUESTIONS[0], index=True) == expected
    # An index written under other settings is rebuilt, not trusted.
    with sqlite3.connect(index) as db:
        db.execute("UPDATE files SET due = NULL, facts = '{}'")
        db.execute("UPDATE meta SET value = 'another csctl' WHERE key = 'context'")
    assert ask(demo, QUESTIONS[0], index=True) == expected
    config = demo / "csctl.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('verify_within = "3d"', 'verify_within = "1d"'),
                      encoding="utf-8")
    assert ask(demo, QUESTIONS[0], index=True) == ask(demo, QUESTIONS[0], index=False)


def test_an_edit_of_the_settings_has_each_command_read_again_only_what_depends_on_it(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding or editing people is the commonest edit of the settings: no fact or brief depends on the roster,
    and of the verdicts only those of remark files (their shapes read the roster's names and roles), so the
    readers read no file again and `check` only the remark files. A person taken off the roster by hand is
    still found in every file naming them, as without the index; a comment or a key's order changes nothing.
    Any other setting (the working hours, a time limit) has each command read every file again."""
    from csctl.domain import indexing

    judged: list[str] = []
    described: list[str] = []
    read_text, describer = indexing.read_text, indexing.describer

    def judging(path: Path) -> str:
        judged.append(path.relative_to(demo / "records").parts[0])
        return read_text(path)

    def counting_describer(store: Any) -> Any:
        describe = describer(store)

        def describing(kind: Any, path: Path) -> Any:
            described.append(path.relative_to(demo / "records").parts[0])
            return describe(kind, path)

        return describing

    def reads(*args: str) -> tuple[set[str], set[str]]:
        """The folders whose files `args` judged and described."""
        judged.clear()
        described.clear()
        ask(demo, args, index=True)
        return set(judged), set(described)

    monkeypatch.setattr(indexing, "read_text", judging)
    monkeypatch.setattr(indexing, "describer", counting_describer)
    for question in (("check",), *QUESTIONS[:5]):
        ask(demo, question, index=True)
    act(demo, "agent", "add", "newbie", "--name", "新人", "--role", "agent", "--staff-no", "9911", who="chen")
    act(demo, "agent", "edit", "zhang", "--role", "agent", who="chen")
    assert reads("check") == ({"remarks"}, set())
    act(demo, "agent", "edit", "zhang", "--name", "张小", who="chen")  # remarks are signed 小张
    assert ask(demo, ("check",), index=True) == ask(demo, ("check",), index=False)
    for question in QUESTIONS[:5]:
        assert reads(*question) == (set(), set()), question
    assert reads("check") == (set(), set())

    config = demo / "csctl.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text("# 名册见下。\n" + text.replace('name = "小林"\nrole = "agent"', 'role = "agent"\nname = "小林"'),
                      encoding="utf-8")
    assert reads("check") == (set(), set())
    config.write_text(text.replace('[[agents]]\nid = "lin"\nname = "小林"\nrole = "agent"\nstaff_no = "1047"\n', ""),
                      encoding="utf-8")
    assert reads("check", "--format", "json") == ({"remarks"}, set())
    code, out, _ = ask(demo, ("check",), index=True)
    assert code == 1
    assert "lin" in out
    assert ask(demo, ("check",), index=True) == ask(demo, ("check",), index=False)
    assert ask(demo, ("check", str(demo / "records" / "tickets")), index=True) == ask(
        demo, ("check", str(demo / "records" / "tickets")), index=False)

    before = [ask(demo, question, index=False) for question in QUESTIONS[:5]]
    config.write_text(config.read_text(encoding="utf-8").replace('sun = "08:30-16:00"', 'sun = ""').replace(
        'resolution = { default = "3d"', 'resolution = { default = "2h"'), encoding="utf-8")
    every = {"tickets", "remittances", "remarks", "customers", "kb", "reviews"}
    assert reads("check") == (every, set())
    assert reads("alerts") == (set(), every)
    after = [ask(demo, question, index=False) for question in QUESTIONS[:5]]
    assert before[0] != after[0]  # more tickets overdue
    assert before[4] != after[4]  # fewer resolved in time
    assert [ask(demo, question, index=True) for question in QUESTIONS[:5]] == after


def test_files_git_holds_unchanged_whose_stamps_moved_are_read_as_new_for_what_their_rows_lack(demo: Path) -> None:
    """A copy of the ledger, or files touched or checked out again with their content as it was: git holds
    them unchanged, so their rows keep their old stamps. A command that needs a part those rows lack (the
    facts, after a `check`; the remark files' verdicts, after a roster edit) reads them as new files, not as
    files changed while read, which it would leave out of its answer."""
    ask(demo, ("check",), index=True)  # the verdicts, and no facts
    an_hour_ago = time.time() - 3600
    for path in [*records(demo, "tickets"), *records(demo, "remarks"), *records(demo, "remittances")]:
        os.utime(path, (an_hour_ago, an_hour_ago))
    for args in QUESTIONS:
        assert ask(demo, args, index=True) == ask(demo, args, index=False), args
    act(demo, "agent", "add", "newbie", "--name", "新人", "--role", "agent", who="chen")
    for path in records(demo, "remarks"):
        os.utime(path, (an_hour_ago - 60, an_hour_ago - 60))
    for args in questions(demo):
        assert ask(demo, args, index=True) == ask(demo, args, index=False), args


def test_a_read_only_ledger_is_answered_without_an_index(demo: Path) -> None:
    expected = ask(demo, QUESTIONS[0], index=False)
    (demo / ".csctl").mkdir(exist_ok=True)
    (demo / ".csctl").chmod(0o500)
    try:
        assert ask(demo, QUESTIONS[0], index=True) == expected
    finally:
        (demo / ".csctl").chmod(0o700)


def test_long_loops_show_a_bar_on_a_terminal_and_nothing_elsewhere(demo: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from csctl import progress
    from csctl.cli import context
    from csctl.domain import integrity
    from csctl.progress import quiet
    from csctl.storage.ledger import Ledger
    from csctl.storage.store import Store

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(progress, "SHOWN_FROM", 1)
    assert context.progress_bar() is quiet  # pytest's stderr is no terminal
    when = dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.UTC)
    for index in (True, False):
        terminal = Terminal()
        monkeypatch.setattr("sys.stderr", terminal)
        monkeypatch.setenv("CSCTL_NO_INDEX", "0" if index else "1")
        report = integrity.check_ledger(Store(Ledger(demo)), when, progress=context.progress_bar())
        assert report.files > 40
        assert "checking" in terminal.getvalue()
        assert "100%" in terminal.getvalue()
    # A report (or a listing) reading many record files: a bar for each kind it reads, on a terminal only.
    from csctl.reports import periods
    from csctl.reports.summary import read_sources

    month = [periods.month("2026-11", when.date())]
    for shown in (True, False):
        terminal = Terminal() if shown else io.StringIO()
        monkeypatch.setattr("sys.stderr", terminal)
        sources = read_sources(Store(Ledger(demo), context.progress_bar()), None, month)
        assert sources.tickets
        bars = terminal.getvalue()
        assert ("reading records: ticket" in bars and "reading records: remittance" in bars and "100%" in bars
                if shown else bars == "")


def test_a_balance_chain_is_followed_through_the_index_as_through_the_files(demo: Path) -> None:
    """tb_王丽's balance is down to 0.00 in the demo: a deduction leaving 10.00 breaks her chain."""
    args = ("remark", "add", "3399000099990001", "balance_deduct", "amount=5", "balance=10", "--buyer", "tb_王丽")
    with_index = ask(demo, args, index=True, who="wang")
    assert with_index == ask(demo, args, index=False, who="wang")
    assert with_index[0] == 2
    assert "tb_王丽" in with_index[2]
    assert not list((demo / "records" / "remarks").rglob("3399000099990001.toml"))


def test_check_and_the_readers_each_read_a_file_once_and_keep_each_others_part(demo: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """check keeps verdicts, the readers facts; neither wipes the other's part of an unchanged file's row, so
    alternating them (a pre-commit hook and cron) reads nothing twice."""
    import io

    from csctl import progress
    from csctl.domain import indexing, integrity
    from csctl.storage.ledger import Ledger
    from csctl.storage.store import Store

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(progress, "SHOWN_FROM", 1)
    when = dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.UTC)

    def read_by(command: str) -> str:
        """What a progress bar said while `command` ran: the files it had to read, if any."""
        from csctl.cli.context import progress_bar

        terminal = Terminal()
        monkeypatch.setattr("sys.stderr", terminal)
        store = Store(Ledger(demo))
        if command == "check":
            assert not integrity.check_ledger(store, when, progress=progress_bar()).errors
        else:
            indexing.open_index(store, progress=progress_bar())
        return terminal.getvalue()

    assert "checking" in read_by("check")
    assert "indexing" in read_by("alerts")
    assert read_by("check") == ""
    assert read_by("alerts") == ""
    edited = records(demo, "tickets")[0]
    edited.write_text(edited.read_text(encoding="utf-8").replace('urgency = "normal"', 'urgency = "urgent"'),
                      encoding="utf-8")
    assert "checking" in read_by("check")  # the edited file (the bar shows from one file to read)
    assert "indexing" in read_by("alerts")


def test_readers_in_several_processes_answer_as_one(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool that shares a big read (forked workers, results written as they come) changes no answer:
    with every file read by workers, `check` and the readers say what one process says."""
    from csctl import parallel
    from csctl.domain import integrity
    from csctl.storage.ledger import Ledger
    from csctl.storage.store import Store

    broken = records(demo, "tickets")[3]
    broken.write_text(broken.read_text(encoding="utf-8").replace("action", "act", 1), encoding="utf-8")
    next(iter(records(demo, "customers"))).unlink()
    when = dt.datetime(2026, 11, 23, 12, 30, tzinfo=dt.UTC)
    alone = integrity.check_ledger(Store(Ledger(demo)), when, jobs=1).sorted_problems()
    shutil.rmtree(demo / ".csctl")
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
    monkeypatch.setattr(parallel, "CHUNK", 3)
    shared = integrity.check_ledger(Store(Ledger(demo)), when, jobs=2).sorted_problems()
    assert shared == alone
    assert any(p.path.endswith(broken.name) for p in shared)
    for args in QUESTIONS:
        monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
        assert ask(demo, args, index=True) == ask(demo, args, index=False), args


def test_git_tells_which_files_changed_and_the_answers_stay_the_same(demo: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the index has seen a HEAD, it stats only what `git status` (and the HEADs between) say may differ,
    plus what differed last time: edits, a revert to HEAD, files under an ignored folder, a commit, a checkout
    of an older commit. With the stat of every file forbidden, every answer is still what the files say."""
    from csctl.storage import index as index_module

    same_answers(demo)  # the index and git's HEAD seen together
    ask(demo, ("check",), index=True)

    scans: list[object] = []
    stat_every_file = index_module._changed

    def every_file(*args: Any) -> Any:
        scans.append(args)
        return stat_every_file(*args)

    monkeypatch.setattr(index_module, "_changed", every_file)

    def same(args: tuple[str, ...]) -> None:
        without = ask(demo, args, index=False)  # an index in memory, built by statting every file
        scans.clear()
        assert ask(demo, args, index=True) == without, args
        assert not scans, args

    rng = random.Random(9)
    edited = rng.choice(records(demo, "tickets"))
    original = edited.read_text(encoding="utf-8")
    edited.write_text(original.replace('urgency = "normal"', 'urgency = "urgent"').replace(
        'status = "', 'status = "x', 1), encoding="utf-8")
    for args in questions(demo):
        same(args)
    git(demo, "checkout", "--", str(edited))  # back as HEAD has it: git no longer lists it
    assert edited.read_text(encoding="utf-8") == original
    for args in questions(demo):
        same(args)
    (demo / ".gitignore").write_text(".csctl/\nrecords/tickets/2019/\n", encoding="utf-8")
    hidden = demo / "records" / "tickets" / "2019" / "01"
    hidden.mkdir(parents=True)
    shutil.copy(edited, hidden / edited.name)
    code, out, _ = ask(demo, ("check",), index=True)
    assert code == 1
    assert "2019/01" in out
    for args in questions(demo):
        same(args)
    rng.choice(records(demo, "remarks")).unlink()
    git(demo, "add", "-A")
    git(demo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "edits")
    for args in questions(demo):
        same(args)
    git(demo, "checkout", "-q", "HEAD~1")
    for args in questions(demo):
        same(args)


def test_git_is_asked_about_the_folders_a_command_reads_and_no_edit_is_lost(demo: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A command on remittances asks `git status` about `remittances/` alone (git stats only those files);
    a ticket edited meanwhile is still seen by the next command that reads tickets."""
    from csctl.storage import worktree

    same_answers(demo)  # the index has seen HEAD for every kind
    asked: list[tuple[str, ...]] = []
    ask_git = worktree._ask

    def recording(records: Path, folders: Collection[str], held: int | None = None) -> worktree._Asked | None:
        asked.append(tuple(sorted(folders)) or (".",))
        return ask_git(records, folders, held)

    monkeypatch.setattr(worktree, "_ask", recording)
    remittance_question = ("remit", "list", "--open", "--format", "json")
    assert ask(demo, remittance_question, index=True) == ask(demo, remittance_question, index=False)
    assert asked == [("remittances",)]
    # A ticket edited and committed (git status no longer lists it; its mtime an hour old, so no racy doubt):
    # only the HEAD the tickets' rows were last seen with tells the next ticket command to read it again.
    edited = records(demo, "tickets")[0]
    edited.write_text(edited.read_text(encoding="utf-8").replace('status = "', 'status = "x', 1), encoding="utf-8")
    hour_ago = edited.stat().st_mtime - 3600
    os.utime(edited, (hour_ago, hour_ago))
    git(demo, "add", "-A")
    git(demo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "a ticket edited")
    asked.clear()
    assert ask(demo, remittance_question, index=True) == ask(demo, remittance_question, index=False)
    assert asked == [("remittances",)]
    for args, folders in [(("ticket", "list", "--open", "--format", "json"), ("tickets",)),
                          (("check", "--format", "json"), (".",))]:  # check reads every kind
        asked.clear()
        assert ask(demo, args, index=True) == ask(demo, args, index=False), args
        assert asked == [folders], args


def test_a_command_that_reads_the_index_has_git_look_once_as_soon_as_it_is_named(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command of `LOOKS_EARLY` has git start on the folders it will ask about before the command is
    imported, and its look takes that answer: git is asked once, and no answer goes unused. A command that
    fails before it looks waits for git (no git is left holding its index lock); with the index turned off,
    git is not asked."""
    from csctl.cli.main import LOOKS_EARLY
    from csctl.storage import worktree

    same_answers(demo)
    events: list[tuple[str, ...]] = []
    ask_git, forget = worktree._ask, worktree.forget_early

    def asking(records: Path, folders: Collection[str], held: int | None = None) -> worktree._Asked | None:
        events.append(("ask", *sorted(folders)))
        return ask_git(records, folders, held)

    def forgetting() -> None:
        if worktree._early is not None:
            events.append(("unused",))
        forget()

    monkeypatch.setattr(worktree, "_ask", asking)
    monkeypatch.setattr(worktree, "forget_early", forgetting)
    covered = set()
    for args in questions(demo):
        events.clear()
        assert ask(demo, args, index=False)[0] in (0, 1)
        assert events == [], args
        early = args[:1] if args[:1] in LOOKS_EARLY else args[:2]
        if early in LOOKS_EARLY:
            covered.add(early)
            ask(demo, args, index=True)
            assert events == [("ask", *LOOKS_EARLY[early])], args
    assert covered == set(LOOKS_EARLY)
    # A command that writes before it asks lets go of the early look as it takes the lock to write: git is
    # asked again, after the write.
    events.clear()
    act(demo, "customer", "show", "C-261008-DK67K", "--reveal", who="chen")
    assert events == [("ask", "remittances", "tickets"), ("unused",), ("ask", "remittances", "tickets")]
    events.clear()
    code, _, err = ask(demo, ("ticket", "list", "--status", "nonsense"), index=True)
    assert code == 2, err
    assert events == [("ask", "tickets"), ("unused",)]
    assert worktree._early is None
    assert not (demo / ".git" / "index.lock").exists()


def test_git_looks_early_only_while_no_csctl_writes(demo: Path) -> None:
    """An early look holds the ledger lock shared until git is done, so its answer is never older than a
    write of another csctl (and `git status`, which takes git's index lock, never meets a writer's
    autocommit); while a writer holds the lock, git is not asked early."""
    from csctl.storage import worktree
    from csctl.storage.lock import ledger_lock, shared_if_free

    ask(demo, ("alerts",), index=True)  # makes .csctl/ and its lock file
    lock_path = demo / ".csctl" / "lock"
    env = {**os.environ, "CSCTL_LEDGER": str(demo), "CSCTL_NOW": NOW, "CSCTL_AGENT": "wang",
           "CSCTL_LOCK_TIMEOUT": "0.5"}
    write = [sys.executable, "-m", "csctl", "ticket", "new", "--kind", "consultation", "--channel", "phone",
             "--subject", "尺码咨询"]
    worktree.look_early(demo, ("tickets",))
    assert worktree._early is not None
    try:
        waited = subprocess.run(write, env=env, capture_output=True, text=True, timeout=60)
        assert waited.returncode == 2, waited.stderr  # gave up waiting for the lock
        assert "0.5" in waited.stderr
    finally:
        worktree.forget_early()
    done = subprocess.run(write, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with ledger_lock(lock_path, exclusive=True, timeout=1, what="a test"):
        assert shared_if_free(lock_path) is None
        worktree.look_early(demo, ("tickets",))
        assert worktree._early is None


def test_a_verdict_kept_in_one_language_is_judged_again_in_another(demo: Path) -> None:
    env = {"CSCTL_LEDGER": str(demo), "CSCTL_NOW": NOW}
    broken = records(demo, "tickets")[2]
    broken.write_text(broken.read_text(encoding="utf-8").replace('status = "', 'status = "x', 1), encoding="utf-8")
    said = {}
    for lang in ("zh", "en", "zh"):
        for index in (True, False):
            extra = {} if index else {"CSCTL_NO_INDEX": "1"}
            result = CliRunner().invoke(cli, ["--lang", lang, "check"], env={**env, **extra})
            said[(lang, index)] = result.stdout
            assert result.exit_code == 1
    assert said[("en", True)] == said[("en", False)]
    assert said[("zh", True)] == said[("zh", False)]
    assert said[("en", True)] != said[("zh", True)]


def test_which_copy_of_a_duplicate_counts_does_not_hang_on_the_order_of_the_rows(demo: Path) -> None:
    """Two files declaring one ticket with different follow-ups, two identical remark files: what check says
    is the same whether the index's rows were written in one order or the other."""
    origin = next(p for p in records(demo, "tickets") if "followups = [" in p.read_text(encoding="utf-8"))
    elsewhere = demo / "records" / "tickets" / "2025" / "02"
    elsewhere.mkdir(parents=True)
    text = origin.read_text(encoding="utf-8")
    start = text.index("followups = [")
    end = text.index("]", start) + 2
    other = next(p.stem for p in records(demo, "tickets") if p.stem not in text)
    (elsewhere / origin.name).write_text(text[:start] + f'followups = [\n    "{other}",\n]\n' + text[end:],
                                         encoding="utf-8")
    remark = next(p for p in records(demo, "remarks") if 'kind = "balance_deduct"' in p.read_text(encoding="utf-8"))
    (demo / "records" / "remarks" / "2025" / "02").mkdir(parents=True)
    shutil.copy(remark, demo / "records" / "remarks" / "2025" / "02" / remark.name)
    first = ask(demo, ("check",), index=True)
    assert first == ask(demo, ("check",), index=False)
    db = sqlite3.connect(demo / ".csctl" / "index.sqlite3")
    with db:
        for table in ("files", "refs"):
            db.execute(f"CREATE TABLE upside AS SELECT * FROM {table} ORDER BY rowid DESC")
            db.execute(f"DELETE FROM {table}")
            db.execute(f"INSERT INTO {table} SELECT * FROM upside")
            db.execute("DROP TABLE upside")
    db.close()
    assert ask(demo, ("check",), index=True) == first
    assert first[0] == 1
    assert "duplicate" in first[1]
    # Of two copies the one last by path counts, as when check read the files in order.
    assert f"records/remarks/2026/11/{remark.name}:9: buyer tb_王丽's balance does not chain" in first[1]


def test_files_the_index_does_not_hold_are_still_checked(demo: Path) -> None:
    """A temp file's name given on the command line, and a link to no file under records/."""
    folder = demo / "records" / "tickets" / "2026" / "11"
    hidden = folder / ".T-261101-AAAAA.toml"
    hidden.write_text("id = [\n", encoding="utf-8")
    code, out, _ = ask(demo, ("check", str(hidden)), index=True)
    assert code == 1
    assert ".T-261101-AAAAA.toml:" in out
    assert (code, out) == ask(demo, ("check", str(hidden)), index=False)[:2]
    # One that reads, naming someone not on the roster (where they are named: a line of its own).
    ticket = next(p for p in records(demo, "tickets") if p != hidden)
    hidden.write_text(re.sub(r'(?m)^by = ".*"$', 'by = "nobody"', ticket.read_text(encoding="utf-8"), count=1),
                      encoding="utf-8")
    code, out, _ = ask(demo, ("check", str(hidden)), index=True)
    assert code == 1
    assert "nobody" in out
    assert (code, out) == ask(demo, ("check", str(hidden)), index=False)[:2]
    hidden.unlink()
    (folder / "T-261101-BBBBB.toml").symlink_to(folder / "nowhere.toml")
    for index in (True, False, True):
        code, out, _ = ask(demo, ("check",), index=index)
        assert code == 1
        assert "T-261101-BBBBB.toml: cannot read: a link to no file" in out


def test_a_file_changed_while_it_is_read_is_read_again(demo: Path) -> None:
    """Its stat before the reading no longer vouches for what was read: the next refresh reads it again,
    though its time is old, git is asked, and nothing else changed."""
    import os

    from csctl.domain import indexing
    from csctl.storage.index import Facts, Index
    from csctl.storage.ledger import Ledger
    from csctl.storage.store import Store

    store = Store(Ledger(demo))
    target = records(demo, "tickets")[0]
    hour_ago = dt.datetime.now().timestamp() - 3600
    os.utime(target, (hour_ago, hour_ago))
    describe = indexing.describer(store)
    read: list[Path] = []
    edits = []

    def describing(kind: Any, path: Path) -> Facts | None:
        read.append(path)
        if path == target and not edits:
            edits.append(path)
            target.write_text(target.read_text(encoding="utf-8") + "\n", encoding="utf-8")
            os.utime(target, (hour_ago + 1, hour_ago + 1))  # still old: only the stamp can tell
        return describe(kind, path)

    def index() -> Index:
        return Index(demo / "records", demo / ".csctl", "test", describing)

    index().refresh()
    assert target in read
    read.clear()
    index().refresh()
    assert read == [target]
    read.clear()
    index().refresh()
    assert read == []


PARTIAL_INDEXES = ("files_open", "files_undescribed")


def test_a_days_questions_read_the_rows_they_need_not_every_row(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a fresh index, a day's report, the open tickets and the overdue ones are answered through sqlite's
    indexes: no statement reads every row, or every row of a kind, so they do not grow with the years."""
    import csctl.storage.index as index_module

    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        db.set_trace_callback(statements.append)
        return db

    chosen = [("report", "daily", "--date", "2026-11-20"), ("ticket", "list", "--open"),
              ("ticket", "list", "--overdue"), ("remit", "list", "--open")]
    for args in chosen:
        assert ask(demo, args, index=True)[0] == 0  # builds the index, fills in every kind's facts
    monkeypatch.setattr(index_module.sqlite3, "connect", traced)
    for args in chosen:
        assert ask(demo, args, index=True)[0] == 0
    questions = [s for s in statements if s.lstrip().upper().startswith("SELECT") and " files " in s]
    assert len(questions) > len(chosen)
    with sqlite3.connect(demo / ".csctl" / index_module.INDEX_NAME) as db:
        for question in questions:
            plan = [step[3] for step in db.execute("EXPLAIN QUERY PLAN " + question)]
            # Every row of a kind, through any index but a partial one (which holds only the few rows it names).
            wide = [step for step in plan if step.startswith("SCAN files") or (
                step.endswith("(kind=?)") and not any(f"INDEX {partial} " in step for partial in PARTIAL_INDEXES))]
            assert wide == [], (question, plan)


def _briefs(root: Path, kind: str) -> dict[str, str | None]:
    with sqlite3.connect(root / ".csctl" / "index.sqlite3") as db:
        return dict(db.execute("SELECT path, brief FROM files WHERE kind = ? AND readable", (kind,)))


def _an_hour_ago(*paths: Path) -> None:
    """Not racy by their mtime: a row is trusted by its stamp only for files older than 2 s. (Their ctime
    is now: the tests that keep briefs, which wait for the ctime too, set `RACY_NS` to 0.)"""
    moment = time.time() - 3600
    for path in paths:
        os.utime(path, (moment, moment))


@pytest.fixture
def no_racy_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    import csctl.storage.index as index_module

    monkeypatch.setattr(index_module, "RACY_NS", 0)


@pytest.mark.usefixtures("no_racy_wait")
def test_a_report_keeps_the_briefs_of_the_files_it_read_and_the_next_reads_them(demo: Path) -> None:
    _an_hour_ago(*(demo / "records").rglob("*.toml"))
    assert ask(demo, ("alerts",), index=True)[0] in (0, 1)  # builds the index: facts, no briefs
    assert set(_briefs(demo, "ticket").values()) == {None}
    args = ("report", "monthly", "--month", "2026-11", "--format", "json")
    first = ask(demo, args, index=True)
    kept = {path: brief for kind in ("ticket", "remark") for path, brief in _briefs(demo, kind).items() if brief}
    assert any(path.startswith("tickets/") for path in kept)
    assert any(path.startswith("remarks/") for path in kept)
    assert ask(demo, args, index=True) == first
    # The next report decodes what the first kept: a brief it could not have made from the file shows.
    with sqlite3.connect(demo / ".csctl" / "index.sqlite3") as db:
        path, brief = next((p, b) for p, b in kept.items() if '"resolved"' in b and p.startswith("tickets/2026/11"))
        db.execute("UPDATE files SET brief = ? WHERE path = ?", (brief.replace('"resolved"', '"noted"'), path))
    assert ask(demo, args, index=True) != first
    assert ask(demo, args, index=False) == first


@pytest.mark.usefixtures("no_racy_wait")
def test_files_whose_stamps_moved_while_git_held_them_unchanged_get_briefs_again(demo: Path) -> None:
    """A ledger copied with its index, or files touched: git holds them unchanged, so their rows keep the old
    stamps, and a brief made from such a file cannot be told to be of the version its row describes. The
    report that reads them has the next refresh stat them again; the report after that keeps their briefs."""
    _an_hour_ago(*(demo / "records").rglob("*.toml"))
    assert ask(demo, ("alerts",), index=True)[0] in (0, 1)  # builds the index: facts, no briefs
    _an_hour_ago(*(demo / "records").rglob("*.toml"))  # other stamps (their ctime), the same content
    args = ("report", "monthly", "--month", "2026-11", "--format", "json")
    expected = ask(demo, args, index=False)
    assert ask(demo, args, index=True) == expected
    assert set(_briefs(demo, "ticket").values()) == {None}  # read, but not known to be the rows' versions
    assert ask(demo, args, index=True) == expected
    assert any(_briefs(demo, "ticket").values())
    assert any(_briefs(demo, "remark").values())
    assert ask(demo, args, index=True) == expected


@pytest.mark.usefixtures("no_racy_wait")
def test_listings_read_the_briefs_a_listing_kept(demo: Path) -> None:
    """The ticket, remark, refund and balance listings keep the briefs of the files they read, and the
    next listing answers from them as from the files."""
    _an_hour_ago(*(demo / "records").rglob("*.toml"))
    listings = [("ticket", "list", "--format", "json"), ("ticket", "list", "--agent", "wang", "--overdue"),
                ("remark", "list", "--format", "json"), ("refund", "list", "--all", "--format", "json"),
                ("balance", "list", "--format", "json"), ("balance", "show", "tb_王丽", "--format", "json")]
    first = [ask(demo, args, index=True) for args in listings]
    for kind in ("ticket", "remark"):
        kept = _briefs(demo, kind)
        assert kept
        assert all(kept.values())
    assert [ask(demo, args, index=True) for args in listings] == first == [ask(demo, args, index=False)
                                                                           for args in listings]
    # The second answers came from the briefs: ones changed in the index show.
    with sqlite3.connect(demo / ".csctl" / "index.sqlite3") as db:
        for kind, was, now in (("ticket", '"wang"', '"mei"'), ("remark", "tb_王丽", "tb_王丽丽")):
            path, brief = next((path, brief) for path, brief in _briefs(demo, kind).items() if was in brief)
            db.execute("UPDATE files SET brief = ? WHERE path = ?", (brief.replace(was, now), path))
    assert ask(demo, listings[0], index=True) != first[0]
    assert ask(demo, listings[2], index=True) != first[2]


@pytest.mark.usefixtures("no_racy_wait")
def test_a_file_rewritten_after_the_report_asked_the_index_gets_no_brief(demo: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A report keeps a brief only of the version its row describes: a file rewritten between the report's
    question to the index and its reading (here by a hook in the store) is counted as read, and its brief
    is not kept; the next report reads the file again, and answers as without an index."""
    from csctl.storage.store import Store

    _an_hour_ago(*(demo / "records").rglob("*.toml"))
    assert ask(demo, ("alerts",), index=True)[0] in (0, 1)  # builds the index: facts, no briefs
    target = demo / "records" / "tickets" / "2026" / "11" / "T-261118-P73M3.toml"
    load = Store.load
    rewritten: list[Path] = []

    def rewriting_load(self: Store, kind: Any, path: Path) -> Any:
        if path == target and not rewritten:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace('subject = "客服回复太慢"', 'subject = "客服回复太慢了"'), encoding="utf-8")
            _an_hour_ago(path)
            rewritten.append(path)
        return load(self, kind, path)

    monkeypatch.setattr(Store, "load", rewriting_load)
    args = ("report", "monthly", "--month", "2026-11", "--format", "json")
    ask(demo, args, index=True)
    assert rewritten
    kept = _briefs(demo, "ticket")
    assert kept["tickets/2026/11/T-261118-P73M3.toml"] is None
    assert any(kept.values())
    assert ask(demo, args, index=True) == ask(demo, args, index=False)


@pytest.mark.usefixtures("no_racy_wait")
def test_a_ticket_whose_brief_json_cannot_carry_is_read_from_its_file(demo: Path) -> None:
    """A report counts each ticket by the brief the index keeps of it. Where a key the figures walk holds
    a value JSON cannot carry (a time), the index keeps that it has none, and each report reads that file:
    the answer stays the one without an index."""
    _an_hour_ago(*(demo / "records").rglob("*.toml"))
    args = ("report", "monthly", "--month", "2026-11", "--format", "json")
    before = ask(demo, args, index=True)
    path = demo / "records" / "tickets" / "2026" / "11" / "T-261118-P73M3.toml"
    path.write_text(path.read_text(encoding="utf-8") + '\n[[events]]\nat = 2026-11-18T17:00:00+08:00\nby = "wang"\n'
                    'action = "linked"\nfollowup = 2026-11-19T09:00:00+08:00\n', encoding="utf-8")
    _an_hour_ago(path)
    for _ in range(2):
        assert ask(demo, args, index=True) == before  # (a link moves no figure)
    assert ask(demo, args, index=False) == before
    kept = _briefs(demo, "ticket")
    assert kept.pop("tickets/2026/11/T-261118-P73M3.toml") == ""
    assert kept
    assert all(brief for brief in kept.values() if brief is not None)


@pytest.mark.usefixtures("no_racy_wait")
def test_a_brief_that_does_not_decode_costs_a_read_not_the_report(demo: Path) -> None:
    """The index is only a cache: a damaged brief (a hand-edited or half-understood row) is passed over
    and its file read."""
    _an_hour_ago(*(demo / "records").rglob("*.toml"))
    args = ("report", "monthly", "--month", "2026-11", "--format", "json")
    before = ask(demo, args, index=True)
    damage = ("UPDATE files SET brief = CASE kind WHEN 'ticket' THEN '[\"T\", \"no such kind\"]' ELSE '{' END "
              "WHERE brief IS NOT NULL AND kind IN ('ticket', 'remark')")
    with sqlite3.connect(demo / ".csctl" / "index.sqlite3") as db:
        damaged = db.execute(damage).rowcount
    assert damaged
    assert ask(demo, args, index=True) == before
    with sqlite3.connect(demo / ".csctl" / "index.sqlite3") as db:  # the rows were passed over, not rebuilt
        still = db.execute("SELECT COUNT(*) FROM files WHERE brief IN ('{', '[\"T\", \"no such kind\"]')")
        assert still.fetchone()[0] == damaged
    assert ask(demo, args, index=False) == before


@pytest.mark.usefixtures("no_racy_wait")
def test_a_row_changed_after_the_selection_costs_a_read(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Briefs are fetched a chunk at a time after the rows are selected: a row whose stamp moved in between
    (another command's refresh, after an outside edit) is not taken from the index; its file is read."""
    from csctl.storage.index import Index

    _an_hour_ago(*(demo / "records").rglob("*.toml"))
    listings = [("ticket", "list", "--format", "json"), ("report", "monthly", "--month", "2026-11", "--format", "json")]
    before = [ask(demo, args, index=True) for args in listings]
    fetched = Index.brief_texts
    moved: list[str] = []

    def texts_of_rows_moved_since(self: Index, paths: list[str]) -> dict[str, tuple[str | None, str]]:
        moved.extend(paths)
        return {path: (brief, "moved") for path, (brief, _) in fetched(self, paths).items()}

    monkeypatch.setattr(Index, "brief_texts", texts_of_rows_moved_since)
    monkeypatch.setattr("csctl.domain.briefs.decode", lambda text: pytest.fail("a brief of another version read"))
    assert [ask(demo, args, index=True) for args in listings] == before
    assert moved


@pytest.mark.parametrize("args", [
    ("refund", "register", "3296630045512908"),
    ("balance", "register", "3293360014428801"),
    ("balance", "register", "3291055820147733"),  # (registered already: refused)
    ("remit", "review", "--date", "2026-11-20"),
    ("remit", "review", "--date", "2026-11-21"),  # (signed already: refused)
    ("customer", "add", "--name", "林晓燕", "--phone", "+86 138 0000 1234"),
])
def test_commands_on_one_record_that_look_at_others_act_alike_with_and_without_the_index(
        tmp_path: Path, args: tuple[str, ...]) -> None:
    """What a writing command finds among the other records (an order's remarks, a day's remittances, a
    phone on file) is the same with the index, after outside edits, as read from the files: same answer,
    same files written."""
    outcomes = []
    for index in (True, False):
        root = copy_demo(tmp_path / f"index-{index}")
        assert ask(root, ("alerts",), index=index)[0] in (0, 1)  # (with the index: built before the edits)
        # A customer file that does not read, and an order's second file that registers its deduction.
        broken = next(p for p in records(root, "customers") if p.stem != "C-261008-DK67K")
        broken.write_text(broken.read_text(encoding="utf-8") + "broken = = 1\n", encoding="utf-8")
        order = root / "records" / "remarks" / "2026" / "11" / "3291055820147733.toml"
        (order.parent / "3000000000000009.toml").write_text(order.read_text(encoding="utf-8"), encoding="utf-8")
        code, out, err = ask(root, args, index=index, who="chen")
        files = {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in (root / "records").rglob("*.toml")}
        outcomes.append(((code, out, err.replace(str(root), "LEDGER")), files))
    assert outcomes[0] == outcomes[1]
