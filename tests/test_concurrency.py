"""Many commands at once, and the ledger lock: nothing lost or mixed, readers never see half a file,
and no write while git is in the middle of a merge or a record holds conflict markers.

The figures (issue #9): `pytest tests/test_concurrency.py -k figures -s` prints them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW, Invoke, run_csctl, snapshot

WRITERS = 8
EACH = 25
READS = 1000
TICKETS = Path("records/tickets/2026/11")
NEW_TICKET = ["ticket", "new", "--kind", "consultation", "--channel", "online", "--subject", "尺码怎么选"]

# Runs csctl commands in-process in a loop, in its own process: the processes race for real while
# each skips Python's start-up per command. Writers wait, before their j-th command, until the
# readers have done READS·j/(EACH-1) reads, so at least READS reads happen while writes are still
# to come, however the machine schedules them.
WORKER = r"""
import json, os, random, sys, time
from pathlib import Path
from click.testing import CliRunner
from csctl.cli.main import cli

role, gate, number, reads_wanted = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
args = json.loads(sys.argv[5])
runner = CliRunner()

def run(*command):
    return runner.invoke(cli, list(command), catch_exceptions=False)

def reads_done():
    return sum(int(p.read_text() or 0) for p in gate.glob("reads-*.count"))

if role == "writer":
    out = []
    for j in range(args["each"]):
        while reads_done() < reads_wanted * j // (args["each"] - 1):
            time.sleep(0.005)
        result = run(*args["command"])
        out.append({"code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr})
    print(json.dumps(out))
else:
    rng = random.Random(number)
    reads, errors, seen_notes = 0, [], 0
    counter = gate / f"reads-{number}.count"
    while not (gate / "writers-done").exists():
        ids = sorted(p.stem for p in Path(args["folder"]).glob("*.toml"))
        if args["ticket"]:
            command = ["ticket", "show", args["ticket"], "--format", "json"]
        elif reads % 25 == 0 or not ids:
            command = ["ticket", "list", "--format", "json"]
        else:
            command = ["ticket", "show", rng.choice(ids), "--format", "json"]
        result = run(*command)
        reads += 1
        try:
            assert result.exit_code == 0 and result.stderr == "", result.stderr
            shown = json.loads(result.stdout)
            if args["ticket"]:
                notes = sum(event["action"] == "noted" for event in shown["events"])
                assert notes >= seen_notes, f"{notes} notes after {seen_notes}"
                seen_notes = notes
        except (AssertionError, ValueError, KeyError) as err:
            errors.append(f"{' '.join(command)}: {err}")
        if reads % 10 == 0:
            tmp = gate / f".reads-{number}.tmp"
            tmp.write_text(str(reads))
            os.replace(tmp, counter)
    print(json.dumps({"reads": reads, "errors": errors}))
"""


def race(ledger: Path, gate: Path, command: list[str], ticket: str | None = None) -> tuple[list[Any], list[Any]]:
    """WRITERS processes each running `command` EACH times, two readers reading all along."""
    gate.mkdir()
    env = {**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "wang", "CSCTL_NOW": NOW}

    def start(role: str, number: int, args: dict[str, Any]) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", WORKER, role, str(gate), str(number), str(READS),
                                 json.dumps(args)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    folder = str(ledger / TICKETS)
    readers = [start("reader", n, {"folder": folder, "ticket": ticket}) for n in range(2)]
    writers = [start("writer", n, {"each": EACH, "command": command}) for n in range(WRITERS)]
    try:
        written = []
        for writer in writers:
            out, err = writer.communicate(timeout=600)
            assert writer.returncode == 0, err
            written.append(json.loads(out))
        (gate / "writers-done").touch()
        read = []
        for reader in readers:
            out, err = reader.communicate(timeout=600)
            assert reader.returncode == 0, err
            read.append(json.loads(out))
        return written, read
    finally:
        (gate / "writers-done").touch()
        for process in (*readers, *writers):
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=60)


def assert_reads_clean(read: list[Any]) -> int:
    errors = [error for reader in read for error in reader["errors"]]
    assert errors == []
    total: int = sum(reader["reads"] for reader in read)
    assert total >= READS
    return total


def test_figures_eight_processes_creating_tickets(ledger: Path, tmp_path: Path) -> None:
    written, read = race(ledger, tmp_path / "gate", NEW_TICKET)
    results = [result for writer in written for result in writer]
    assert [r for r in results if r["code"] != 0] == []
    made = [r["stdout"].strip() for r in results]
    for writer in written:  # each process sees its own tickets in creation order
        own = [r["stdout"].strip() for r in writer]
        assert own == sorted(own)
    files = sorted(p.stem for p in (ledger / TICKETS).glob("*.toml"))
    assert len(made) == len(set(made)) == len(files) == WRITERS * EACH
    assert sorted(made) == files
    check = run_csctl("check", env={"CSCTL_LEDGER": str(ledger), "CSCTL_NOW": NOW})
    assert check.returncode == 0, check.stdout + check.stderr
    reads = assert_reads_clean(read)
    print(f"\n{WRITERS}×{EACH} `ticket new`: {len(files)} files, {len(set(made))} distinct IDs, check clean; "
          f"{reads} show/list reads meanwhile, 0 errors")


def test_figures_eight_processes_noting_one_ticket(ledger: Path, invoke: Invoke, tmp_path: Path) -> None:
    ticket = invoke(*NEW_TICKET).stdout.strip()
    written, read = race(ledger, tmp_path / "gate", ["ticket", "note", ticket, "买家来电催件"], ticket=ticket)
    assert [r for writer in written for r in writer if r["code"] != 0 or r["stdout"] != f"{ticket}\n"] == []
    shown = json.loads(invoke("ticket", "show", ticket, "--format", "json").stdout)
    notes = [event for event in shown["events"] if event["action"] == "noted"]
    assert len(notes) == WRITERS * EACH
    assert {(note["by"], note["text"]) for note in notes} == {("wang", "买家来电催件")}
    assert invoke("check").exit_code == 0
    reads = assert_reads_clean(read)
    print(f"\n{WRITERS}×{EACH} `ticket note` on one ticket: {len(notes)} notes; "
          f"{reads} show reads meanwhile, 0 errors")


# ----- the lock: who takes it how ---------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from pathlib import Path
from csctl.storage.lock import ledger_lock
with ledger_lock(Path(sys.argv[1]), exclusive=True, timeout=5, what="test"):
    print("locked", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def held(ledger: Path) -> Iterator[None]:
    """Another process holds the ledger lock exclusively (a write in progress) during the test."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ledger / ".csctl" / "lock")],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    yield
    holder.kill()
    holder.wait(timeout=10)
    holder.stdout.close()


def env_for(ledger: Path, **more: str) -> dict[str, str]:
    return {"CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW, **more}


@pytest.mark.parametrize("args", [["check"], ["alerts"], ["ticket", "list"], ["customer", "list"], ["kb", "list"]],
                         ids=" ".join)
def test_readers_of_many_records_wait_for_a_write_to_finish(
    args: list[str], ledger: Path, held: None
) -> None:
    """They take the lock shared, so they never see half of a change of two records."""
    result = run_csctl("--lang", "en", *args, env=env_for(ledger, CSCTL_LOCK_TIMEOUT="0.3"))
    assert result.returncode == 2
    assert result.stderr.endswith("csctl: gave up after 0.3 s waiting for the ledger lock: "
                                  "another csctl command is writing\n")


@pytest.fixture
def a_ticket(invoke: Invoke) -> str:
    return invoke(*NEW_TICKET).stdout.strip()


def test_a_one_record_read_needs_no_lock(a_ticket: str, ledger: Path, held: None) -> None:
    """A single file is replaced whole, so `show` reads it while a write is going on."""
    for args, shown in ((["ticket", "show", a_ticket], a_ticket), (["ticket", "log", a_ticket], "adm")):
        result = run_csctl(*args, env=env_for(ledger, CSCTL_LOCK_TIMEOUT="0.3"))
        assert result.returncode == 0, result.stderr
        assert shown in result.stdout


def test_the_give_up_time_comes_from_csctl_toml(ledger: Path, held: None) -> None:
    config = ledger / "csctl.toml"
    text = config.read_text()
    assert "\ntimeout = 30\n" in text
    config.write_text(text.replace("\ntimeout = 30\n", "\ntimeout = 0.4\n"))
    result = run_csctl("--lang", "en", *NEW_TICKET, env=env_for(ledger))
    assert result.returncode == 2
    assert result.stderr == ("csctl: gave up after 0.4 s waiting for the ledger lock: "
                             "another csctl command is writing\n")


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf", "7200"])
def test_a_bad_lock_timeout_in_the_environment_is_one_line(value: str, invoke: Invoke, ledger: Path) -> None:
    before = snapshot(ledger)
    result = invoke("--lang", "en", *NEW_TICKET, env={"CSCTL_LOCK_TIMEOUT": value})
    assert result.exit_code == 2
    assert result.stderr == (f"csctl: CSCTL_LOCK_TIMEOUT={value!r}: not a number of seconds "
                             "between 0 and 3600\n")
    assert snapshot(ledger) == before


# ----- git in the middle of something ---------------------------------------------------------------

def git(ledger: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args], cwd=ledger,
                          capture_output=True, text=True, timeout=60)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def clash(ledger: Path, invoke: Invoke) -> Callable[[str], tuple[str, str]]:
    """Two branches that noted one ticket differently, and a second ticket untouched; `clash("merge")`
    (or "rebase") stops git in the middle; gives (the clashing ticket, the other one)."""

    def make(operation: str) -> tuple[str, str]:
        ticket = invoke(*NEW_TICKET).stdout.strip()
        other = invoke(*NEW_TICKET).stdout.strip()
        git(ledger, "add", "-A")
        git(ledger, "commit", "-qm", "start")
        git(ledger, "checkout", "-qb", "theirs")
        assert invoke("ticket", "note", ticket, "他们的备注").exit_code == 0
        git(ledger, "commit", "-qam", "theirs")
        git(ledger, "checkout", "-q", "main")
        assert invoke("ticket", "note", ticket, "我们的备注").exit_code == 0
        git(ledger, "commit", "-qam", "ours")
        stopped = git(ledger, operation, "theirs", ok=False)
        assert stopped.returncode != 0
        assert "CONFLICT" in stopped.stdout + stopped.stderr
        return ticket, other

    return make


@pytest.mark.parametrize("operation", ["merge", "rebase"])
def test_no_write_while_git_is_stopped_in_a_merge_or_rebase(
    operation: str, clash: Callable[[str], tuple[str, str]], invoke: Invoke, ledger: Path
) -> None:
    ticket, other = clash(operation)
    before = snapshot(ledger)
    for args in (["ticket", "note", other, "补充"], NEW_TICKET, ["customer", "add", "--name", "林晓燕"],
                 ["agent", "add", "zhao", "--name", "小赵", "--role", "tech"]):
        result = invoke("--lang", "en", *args)
        assert result.exit_code == 2, args
        assert result.stderr == (
            f"csctl: a git {operation} is unfinished in {ledger}: finish it (resolve, then git commit or "
            f"git rebase --continue) or abort it (git {operation} --abort) before changing the ledger\n"
        )
    assert snapshot(ledger) == before
    # Reading goes on, and the conflicted file is named as such.
    assert invoke("ticket", "show", other).exit_code == 0
    shown = invoke("--lang", "en", "ticket", "show", ticket)
    assert shown.exit_code == 2
    assert "holds git conflict markers" in shown.stderr
    git(ledger, operation, "--abort")
    assert invoke("ticket", "note", other, "补充").exit_code == 0


def test_a_record_left_with_conflict_markers_refuses_writes_to_it_alone(
    clash: Callable[[str], tuple[str, str]], invoke: Invoke, ledger: Path
) -> None:
    ticket, other = clash("merge")
    git(ledger, "commit", "-qam", "merged without looking")  # markers and all
    path = ledger / TICKETS / f"{ticket}.toml"
    marker_line = path.read_text().splitlines().index("<<<<<<< HEAD") + 1
    before = path.read_bytes()
    note = invoke("--lang", "en", "ticket", "note", ticket, "再补充")
    assert note.exit_code == 2
    assert note.stderr == (f"csctl: {path}:{marker_line}: holds git conflict markers (<<<<<<< … >>>>>>>): "
                           "resolve the conflict, then run csctl check\n")
    assert path.read_bytes() == before
    assert invoke("ticket", "note", other, "补充").exit_code == 0  # other records are not held up
    assert invoke(*NEW_TICKET).exit_code == 0
    check = invoke("--lang", "en", "check")
    assert check.exit_code == 1
    assert f"{TICKETS / ticket}.toml:{marker_line}: holds git conflict markers" in check.stdout


def test_markers_inside_a_multi_line_text_are_a_conflict_too(invoke: Invoke, ledger: Path) -> None:
    """Both sides edited one long text: the merged file still parses, but is not data."""
    ticket = invoke(*NEW_TICKET, "--description", "第一行\n第二行").stdout.strip()
    path = ledger / TICKETS / f"{ticket}.toml"
    text = path.read_text()
    assert 'description = """\n第一行\n第二行"""' in text
    path.write_text(text.replace("第一行\n第二行", "第一行\n<<<<<<< HEAD\n第二行\n=======\n第 2 行\n>>>>>>> theirs"))
    result = invoke("--lang", "en", "ticket", "note", ticket, "补充")
    assert result.exit_code == 2
    assert "holds git conflict markers" in result.stderr
    # A lone marker-like line is just text.
    path.write_text(text.replace("第一行\n第二行", "第一行\n=======\n第二行"))
    assert invoke("ticket", "note", ticket, "补充").exit_code == 0
