"""`csctl git-setup`, the check warning for an unconfigured clone, the textconv and `.pre-commit-hooks.yaml`."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from tests.conftest import Invoke

ROOT = Path(__file__).resolve().parents[1]
PHONE = "13857123456"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def config(root: Path, key: str) -> str:
    return subprocess.run(["git", "config", "--get", key], cwd=root, capture_output=True, text=True).stdout.strip()


def test_setup_registers_driver_hook_and_attributes_and_is_idempotent(invoke: Invoke, ledger: Path) -> None:
    first = invoke("--lang", "en", "git-setup")
    assert first.exit_code == 0, first.stderr
    driver = config(ledger, "merge.csctl.driver")
    assert driver.endswith(" merge-driver %O %A %B %L %P")
    assert "-m csctl" in driver or driver.split()[0].endswith("csctl")
    assert config(ledger, "diff.csctl.textconv").endswith(" textconv")
    hook = ledger / ".git" / "hooks" / "pre-commit"
    assert hook.stat().st_mode & 0o111
    assert " check && exec " in hook.read_text()
    assert " fmt --check" in hook.read_text()
    attributes = git(ledger, "check-attr", "merge", "diff", "--", "records/tickets/2026/11/T-261123-0F3KQ.toml")
    assert attributes.splitlines() == ["records/tickets/2026/11/T-261123-0F3KQ.toml: merge: csctl",
                                       "records/tickets/2026/11/T-261123-0F3KQ.toml: diff: csctl"]
    before = {p: p.read_bytes() for p in (hook, ledger / ".gitattributes", ledger / ".git" / "config")}

    again = invoke("--lang", "en", "git-setup")
    assert again.exit_code == 0
    assert all(line.endswith("already set") for line in again.stdout.splitlines()), again.stdout
    assert {p: p.read_bytes() for p in before} == before


def test_the_driver_command_survives_a_path_with_spaces(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from csctl.cli.main import cli

    root = tmp_path / "客服 台账"
    assert CliRunner().invoke(cli, ["init", str(root), "--admin", "adm", "--name", "管理员"]).exit_code == 0
    assert CliRunner().invoke(cli, ["--ledger", str(root), "git-setup"]).exit_code == 0
    hook = root / ".git" / "hooks" / "pre-commit"
    done = subprocess.run([str(hook)], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # the quoted command runs: check and fmt --check pass


def test_a_foreign_hook_is_left_alone_unless_forced(invoke: Invoke, ledger: Path) -> None:
    hook = ledger / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nmake lint\n")
    refused = invoke("--lang", "en", "git-setup")
    assert refused.exit_code == 2
    assert "--force" in refused.stderr
    assert hook.read_text() == "#!/bin/sh\nmake lint\n"
    assert config(ledger, "merge.csctl.driver") == ""  # nothing was changed
    assert invoke("git-setup", "--force").exit_code == 0
    assert "csctl" in hook.read_text()


def test_the_hook_stops_a_commit_of_a_broken_record(invoke: Invoke, ledger: Path) -> None:
    assert invoke("git-setup").exit_code == 0
    made = invoke("ticket", "new", "--kind", "consultation", "--channel", "online", "--subject", "尺码")
    path = next(ledger.rglob(f"{made.stdout.strip()}.toml"))
    path.write_text(path.read_text().replace('status = "new"', 'status = "closed"'))
    git(ledger, "add", "-A")
    done = subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"], cwd=ledger,
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "status" in done.stderr  # git shows a hook's output on stderr


def test_check_warns_when_the_attributes_name_the_driver_but_the_clone_lacks_it(invoke: Invoke,
                                                                                ledger: Path) -> None:
    assert invoke("--lang", "en", "check").stdout == ""  # no remote yet: nobody to merge with
    git(ledger, "remote", "add", "origin", "https://git.example.cn/desk/ledger.git")
    before = invoke("--lang", "en", "check")
    assert before.exit_code == 0  # a warning only
    assert before.stdout.startswith(".gitattributes:3: .gitattributes names the csctl merge driver")
    assert "(warning)" in before.stdout
    assert invoke("git-setup").exit_code == 0
    assert invoke("--lang", "en", "check").stdout == ""


def test_git_log_p_never_shows_a_phone_whole(invoke: Invoke, ledger: Path) -> None:
    assert invoke("git-setup").exit_code == 0
    git(ledger, "add", "-A")
    git(ledger, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "ledger")
    customer = invoke("customer", "add", "--name", "林晓燕", "--phone", PHONE, "--email", "lin.xy@example.cn",
                      "--address", "浙江省杭州市西湖区文三路90号").stdout.strip()
    ticket = invoke("ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", "快递未到",
                    "--phone", "13900001111").stdout.strip()
    invoke("ticket", "note", ticket, "买家留了新号码 139 0000 2222,请回电")
    git(ledger, "add", "-A")
    git(ledger, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "records")
    invoke("customer", "edit", customer, "--phone", "13700003333")
    log = git(ledger, "log", "-p") + git(ledger, "diff")
    assert customer in log
    assert "138****3456" in log
    assert "137****3333" in log
    for whole in (PHONE, "13900001111", "139 0000 2222", "13700003333", "lin.xy@", "文三路90号"):
        assert whole not in log
    # The stored files are untouched: only what git shows is masked.
    stored = next(ledger.rglob(f"{customer}.toml"))
    assert "13700003333" in stored.read_text()
    assert PHONE in git(ledger, "cat-file", "-p", f"HEAD:{stored.relative_to(ledger)}")
    assert "13700003333" in git(ledger, "diff", "--no-textconv")


def test_pre_commit_hooks_file_runs_check_and_fmt(invoke: Invoke) -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    hooks = re.findall(r"(?m)^- id: (\S+)\n(?:  .*\n)*?  entry: (.+)\n", text)
    assert [hook_id for hook_id, _ in hooks] == ["csctl-check", "csctl-fmt"]
    assert text.count("language: python") == 2
    assert text.count("pass_filenames: false") == 2
    for _, entry in hooks:
        program, *args = shlex.split(entry)
        assert program == "csctl"
        assert invoke(*args).exit_code == 0  # each entry is a working command (on a clean ledger)


def test_a_machine_without_git_still_keeps_a_ledger(tmp_path: Path) -> None:
    """No git on PATH: `init` makes the ledger without a repository, and commands work on it."""
    import os
    import sys

    from tests.conftest import NOW, run_csctl

    root = tmp_path / "ledger"
    env = {"PATH": str(tmp_path / "no-git-here"), "HOME": str(tmp_path), "CSCTL_NOW": NOW,
           "PYTHONPATH": os.pathsep.join(sys.path)}
    made = run_csctl("init", str(root), "--admin", "adm", "--name", "管理员", env=env)
    assert made.returncode == 0, made.stderr
    assert not (root / ".git").exists()
    env.update({"CSCTL_LEDGER": str(root), "CSCTL_AGENT": "adm"})
    filed = run_csctl("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "询问余额", env=env)
    assert filed.returncode == 0, filed.stderr
    assert run_csctl("ticket", "show", filed.stdout.strip(), env=env).returncode == 0
    checked = run_csctl("check", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
