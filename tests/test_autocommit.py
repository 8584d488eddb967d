"""`[git] autocommit = true`: each command commits just the paths it wrote (SPEC §6)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import Invoke


def git(ledger: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=ledger, capture_output=True, text=True, check=True).stdout


def autocommit_on(ledger: Path) -> None:
    config = ledger / "csctl.toml"
    config.write_text(config.read_text().replace("autocommit = false", "autocommit = true"))
    git(ledger, "config", "user.email", "desk@example.cn")
    git(ledger, "config", "user.name", "Desk")
    git(ledger, "add", "-A")
    git(ledger, "commit", "-qm", "the ledger")


def test_each_command_commits_what_it_wrote_saying_what_who_and_which(invoke: Invoke, ledger: Path) -> None:
    autocommit_on(ledger)
    (ledger / "notes.txt").write_text("not csctl's to commit")
    ticket = invoke("ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", "快递未到",
                    env={"CSCTL_AGENT": "wang"}).stdout.strip()
    assert invoke("ticket", "take", ticket, env={"CSCTL_AGENT": "wang"}).exit_code == 0
    assert invoke("agent", "add", "mei", "--name", "小美", "--role", "agent").exit_code == 0
    log = git(ledger, "log", "--format=%s|%b", "-3").split("\n")
    assert [line for line in log if line] == [
        "csctl agent add: csctl.toml|by 管理员 (adm)",
        f"csctl ticket take: {ticket}|by 小王 (wang)",
        f"csctl ticket new: {ticket}|by 小王 (wang)",
    ]
    assert git(ledger, "show", "--name-only", "--format=", "HEAD~1").split() == [
        f"records/tickets/2026/11/{ticket}.toml"
    ]
    assert git(ledger, "status", "--short") == "?? notes.txt\n"


def test_nothing_is_committed_when_autocommit_is_off(invoke: Invoke, ledger: Path) -> None:
    git(ledger, "config", "user.email", "desk@example.cn")
    git(ledger, "config", "user.name", "Desk")
    invoke("ticket", "new", "--kind", "consultation", "--channel", "online", "--subject", "尺码")
    assert subprocess.run(["git", "log"], cwd=ledger, capture_output=True).returncode != 0  # no commits yet


def test_a_failed_commit_leaves_the_data_written_and_says_so(invoke: Invoke, ledger: Path) -> None:
    autocommit_on(ledger)
    # A commit needs an author: without one git refuses, and csctl says so in one line.
    git(ledger, "config", "--unset", "user.email")
    git(ledger, "config", "--unset", "user.name")
    result = invoke("ticket", "new", "--kind", "consultation", "--channel", "online", "--subject", "尺码",
                    env={"GIT_AUTHOR_NAME": "", "GIT_COMMITTER_NAME": "", "EMAIL": "", "GIT_AUTHOR_EMAIL": "",
                         "GIT_COMMITTER_EMAIL": ""})
    ticket = result.stdout.strip()
    assert result.exit_code == 0
    assert list(ledger.rglob(f"{ticket}.toml"))
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("csctl: written but not committed: ")
