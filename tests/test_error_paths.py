"""The exit contract (SPEC §4) where the world misbehaves: git hooks under autocommit, closed pipes, Ctrl-C,
read-only ledgers, odd stdin, settings that would break every deadline later."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csctl.errors import CsctlError, LockTimeout
from csctl.storage.lock import LENT_VARIABLE, ledger_lock, lend
from tests.conftest import NOW, Invoke, run_csctl


def git(ledger: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=ledger, capture_output=True, text=True, check=True).stdout


def hooked_autocommit(invoke: Invoke, ledger: Path) -> None:
    """Autocommit on, and the pre-commit hook of `git-setup` (which runs `csctl check`) installed."""
    assert invoke("git-setup").exit_code == 0
    config = ledger / "csctl.toml"
    config.write_text(config.read_text().replace("autocommit = false", "autocommit = true"))
    git(ledger, "config", "user.email", "desk@example.cn")
    git(ledger, "config", "user.name", "Desk")
    git(ledger, "add", "-A")
    git(ledger, "commit", "-qm", "the ledger", "--no-verify")


def new_ticket(ledger: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_csctl("ticket", "new", "--kind", "consultation", "--channel", "online", "--subject", "尺码",
                     env={"CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "wang", "CSCTL_NOW": NOW}, timeout=timeout)


def test_autocommit_passes_the_hook_whose_check_reads_under_the_writers_hold(invoke: Invoke, ledger: Path) -> None:
    hooked_autocommit(invoke, ledger)
    started = time.monotonic()
    made = new_ticket(ledger)
    # The hook's check used to wait for the lock the writer held until git was killed (10 s).
    assert time.monotonic() - started < 8
    assert made.returncode == 0, made.stderr
    assert made.stderr == ""
    assert git(ledger, "log", "-1", "--format=%s") == f"csctl ticket new: {made.stdout.strip()}\n"
    assert not (ledger / ".git" / "index.lock").exists()
    assert git(ledger, "status", "--short") == ""


def test_the_hook_still_checks_under_the_lent_hold(invoke: Invoke, ledger: Path) -> None:
    hooked_autocommit(invoke, ledger)
    broken = ledger / "records" / "tickets" / "broken.toml"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("id = [\n")
    made = new_ticket(ledger)
    assert made.returncode == 0  # written, as the command was asked
    assert "not committed" in made.stderr
    assert git(ledger, "log", "-1", "--format=%s") == "the ledger\n"
    assert not (ledger / ".git" / "index.lock").exists()
    broken.unlink()
    assert new_ticket(ledger).stderr == ""  # and the next commit goes through


def test_a_lent_hold_counts_only_while_its_lender_holds_the_lock(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "lock"
    writer = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(writer, fcntl.LOCK_EX)
    with lend(lock) as lent:
        monkeypatch.setenv(LENT_VARIABLE, lent[LENT_VARIABLE])
        with ledger_lock(lock, exclusive=False, timeout=0.1, what="test"):
            pass  # the lender (this process) holds it: read at once
        with pytest.raises(LockTimeout), ledger_lock(lock, exclusive=True, timeout=0.1, what="test"):
            pass  # a hold is lent for reading only
        monkeypatch.setenv(LENT_VARIABLE, "0" * 32)
        with pytest.raises(LockTimeout), ledger_lock(lock, exclusive=False, timeout=0.1, what="test"):
            pass  # a token made up, or another lender's
    monkeypatch.setenv(LENT_VARIABLE, lent[LENT_VARIABLE])
    with pytest.raises(LockTimeout), ledger_lock(lock, exclusive=False, timeout=0.1, what="test"):
        pass  # inherited past the lending, while someone else writes
    os.close(writer)
    with ledger_lock(lock, exclusive=False, timeout=0.1, what="test"):
        pass


def run_into_a_closed_pipe(ledger: Path, *args: str, now: str = NOW) -> int:
    """The exit of csctl run with both outputs on a pipe nobody reads any more (`csctl … 2>&1 | head -0`)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "csctl", *args], stdout=write, stderr=write, timeout=60,
                              env={**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm",
                                   "CSCTL_NOW": now}).returncode
    finally:
        os.close(write)


def test_a_reader_gone_leaves_the_exit_the_command_has(invoke: Invoke, ledger: Path) -> None:
    invoke("ticket", "new", "--kind", "consultation", "--channel", "online", "--subject", "尺码")
    assert run_into_a_closed_pipe(ledger, "check") == 0
    assert run_into_a_closed_pipe(ledger, "ticket", "list") == 0
    assert run_into_a_closed_pipe(ledger, "--help") == 0
    assert run_into_a_closed_pipe(ledger, "ticket", "show", "T-000000-XXXXX") == 2
    # Two days later the new ticket's first response is overdue: alerts still say so by their exit.
    later = "2026-11-25T09:30:00+08:00"
    assert invoke("alerts", env={"CSCTL_NOW": later}).exit_code == 1
    assert run_into_a_closed_pipe(ledger, "alerts", now=later) == 1


@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_an_output_closed_before_the_start_leaves_the_exit_the_command_has(ledger: Path, closed: str) -> None:
    env = {**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW}
    for args, code in (("ticket list", 0), ("ticket show T-000000-XXXXX", 2)):
        done = subprocess.run(f"{sys.executable} -m csctl {args} {closed}", shell=True, env=env, timeout=60,
                              capture_output=closed == ">&-", text=True)
        assert done.returncode == code, (args, closed, done.stderr)
        assert "Traceback" not in (done.stderr or "")


def test_ctrl_c_exits_130(invoke: Invoke, ledger: Path) -> None:
    invoke("check")  # the lock file made
    writer = os.open(ledger / ".csctl" / "lock", os.O_RDWR)
    fcntl.flock(writer, fcntl.LOCK_EX)
    try:
        with subprocess.Popen([sys.executable, "-m", "csctl", "--lang", "en", "check"], stderr=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True,
                              env={**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm",
                                   "CSCTL_NOW": NOW}) as check:
            assert check.stderr is not None
            notice = check.stderr.readline()  # it says so once it has waited for the lock a while
            assert "wait" in notice
            check.send_signal(signal.SIGINT)
            assert check.wait(timeout=30) == 130
            assert check.stderr.read().strip() == "csctl: interrupted"
    finally:
        os.close(writer)


def in_a_read_only_mount(ledger: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """csctl run where `ledger` is mounted read-only, in a mount namespace of its own (gone when it ends)."""
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(ledger), sys.executable, "-m", "csctl",
                           "--lang", "en", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW})


def test_a_read_only_mount_is_read_and_never_written(invoke: Invoke, ledger: Path) -> None:
    ticket = invoke("ticket", "new", "--kind", "consultation", "--channel", "online",
                    "--subject", "尺码").stdout.strip()
    if shutil.which("unshare") is None or in_a_read_only_mount(ledger, "--version").returncode != 0:
        pytest.skip("no unprivileged mount namespace here (unshare -rm) for a read-only mount")
    checked = in_a_read_only_mount(ledger, "check")
    assert checked.returncode == 0, checked.stderr
    listed = in_a_read_only_mount(ledger, "ticket", "list")
    assert listed.returncode == 0, listed.stderr
    assert ticket in listed.stdout
    refused = in_a_read_only_mount(ledger, "ticket", "note", ticket, "hello")
    assert refused.returncode == 2
    assert refused.stderr == f"csctl: {ledger}/.csctl/lock: cannot open the ledger lock: Read-only file system\n"


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_a_lock_that_cannot_be_opened_for_writing_still_lets_a_reader_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def refuse(*args: object) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("csctl.storage.lock.os.open", refuse)
    lock = tmp_path / ".csctl" / "lock"
    with ledger_lock(lock, exclusive=False, timeout=0.1, what="test"):
        pass
    with pytest.raises(CsctlError, match="ledger lock"), ledger_lock(lock, exclusive=True, timeout=0.1, what="test"):
        pass


def test_a_lock_this_user_may_only_read_still_holds_off_its_owners_writer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shared ledger whose lock file is another user's: read under a shared hold, so never mid-write."""
    lock = tmp_path / ".csctl" / "lock"
    lock.parent.mkdir()
    owner = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(owner, fcntl.LOCK_EX)  # its owner is writing
    opened = os.open

    def read_only(path: object, flags: int, *mode: int) -> int:
        if flags & (os.O_RDWR | os.O_WRONLY):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return opened(path, flags, *mode)  # type: ignore[arg-type]

    monkeypatch.setattr("csctl.storage.lock.os.open", read_only)
    with pytest.raises(LockTimeout), ledger_lock(lock, exclusive=False, timeout=0.1, what="test"):
        pass
    os.close(owner)
    with ledger_lock(lock, exclusive=False, timeout=0.1, what="test"):
        pass


def test_remark_lint_reads_stdin_as_bytes_like_a_file(ledger: Path) -> None:
    env = {"CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW}
    gbk = subprocess.run([sys.executable, "-m", "csctl", "--lang", "en", "remark", "lint", "-"],
                         input="你好\n".encode("gbk"), capture_output=True, env={**os.environ, **env}, timeout=60)
    assert (gbk.returncode, gbk.stdout, gbk.stderr) == (2, b"", b"csctl: -: cannot read: not UTF-8 text\n")
    closed = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", sys.executable, "-m", "csctl", "--lang", "en",
                             "remark", "lint", "-"], capture_output=True, text=True, env={**os.environ, **env},
                            timeout=60)
    assert (closed.returncode, closed.stderr) == (2, "csctl: -: cannot read: stdin is closed\n")
    # A BOM (Windows Notepad's) is dropped, as from a file.
    bom = subprocess.run([sys.executable, "-m", "csctl", "--lang", "en", "remark", "lint", "-"],
                         input="\ufeff你好\n".encode(), capture_output=True, env={**os.environ, **env}, timeout=60)
    assert bom.returncode == 1
    assert bom.stdout.decode().startswith("line 1: 你好: ")


@pytest.mark.parametrize(("setting", "replacement", "field"), [
    (r'(?m)^(mon|tue|wed|thu|fri|sat|sun) = ".*"$', r'\1 = ""', "calendar: hours: at least one weekday"),
    (r'(?m)^resolution = \{ default = "3d"', 'resolution = { default = "99999999d"',
     "tickets.resolution.default: a limit of at most 1000d"),
    (r'(?m)^callback = "1d"', 'callback = "24001h"', "tickets.callback: a limit of at most 1000d"),
])
def test_settings_that_would_break_every_deadline_are_refused_at_load(invoke: Invoke, ledger: Path, setting: str,
                                                                        replacement: str, field: str) -> None:
    config = ledger / "csctl.toml"
    text = config.read_text()
    assert "workdays = [\n" in text  # (make-up workdays listed: they used to pass for working days)
    changed = re.sub(setting, replacement, text)
    assert changed != text
    config.write_text(changed)
    for command in (["ticket", "list"], ["alerts"], ["report", "daily"]):
        result = invoke("--lang", "en", *command)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert field in result.stderr
        assert "internal error" not in result.stderr


def test_a_long_limit_on_a_week_of_few_working_hours_is_one_line_not_a_crash(invoke: Invoke, ledger: Path) -> None:
    """Each setting passes alone: 23,999 working hours at a minute a week ends past the year 9999."""
    config = ledger / "csctl.toml"
    text = re.sub(r'(?m)^(tue|wed|thu|fri|sat|sun) = ".*"$', r'\1 = ""', config.read_text())
    text = re.sub(r'(?m)^mon = ".*"$', 'mon = "08:00-08:01"', text)
    config.write_text(re.sub(r"(?m)^response = \{[^}]*\}", 'response = { default = "23999h" }', text))
    assert invoke("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "询价").exit_code == 0
    for command in (["ticket", "list"], ["alerts"]):
        result = invoke("--lang", "en", *command)
        assert result.exit_code == 2
        assert result.stderr == ("csctl: csctl.toml: [calendar.hours] opens too little for a limit counted in "
                                 "working hours: its deadline would fall past the year 9999 (shorten the limit or "
                                 "open longer)\n")


def test_agent_add_keeps_a_roster_of_inline_tables_one(invoke: Invoke, ledger: Path) -> None:
    config = ledger / "csctl.toml"
    text = config.read_text()
    people = ['{ id = "adm", name = "管理员", role = "admin" }', '{ id = "wang", name = "小王", role = "agent" }']
    # (A top-level key goes before the first table.)
    config.write_text("agents = [\n" + "".join(f"    {p},\n" for p in people) + "]\n"
                      + text[:text.index("[[agents]]")])
    added = invoke("agent", "add", "mei", "--name", "小美", "--role", "agent", "--staff-no", "1024")
    assert added.exit_code == 0, added.stderr
    people.append('{id = "mei", name = "小美", role = "agent", staff_no = "1024"}')
    assert config.read_text().startswith("agents = [\n" + "".join(f"    {p},\n" for p in people) + "]\n")
    assert invoke("agent", "edit", "mei", "--staff-no", "1025").exit_code == 0
    assert invoke("--lang", "en", "check").exit_code == 0
