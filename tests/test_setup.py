"""`csctl init`, ledger discovery, the roster and roles."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from csctl.cli.main import cli
from tests.conftest import Invoke, run_csctl, snapshot


def test_init_writes_the_layout_of_spec_section_1(tmp_path: Path) -> None:
    root = tmp_path / "desk"
    result = CliRunner().invoke(cli, ["init", str(root), "--admin", "adm", "--name", "管理员"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert (root / "records").is_dir()
    assert (root / "templates" / "remarks.toml").is_file()
    assert (root / "templates" / "phrases.toml").is_file()
    assert "records/**/*.toml merge=csctl" in (root / ".gitattributes").read_text()
    assert ".csctl/" in (root / ".gitignore").read_text()
    config = (root / "csctl.toml").read_text()
    for section in ("[team]", "[calendar]", "[calendar.hours]", "[remarks]", "[git]", "[[agents]]"):
        assert section in config
    assert 'timezone = "Asia/Shanghai"' in config
    assert "# " in config  # commented for the people who will edit it
    assert (root / ".git").is_dir()
    check = run_csctl("check", cwd=root)
    assert check.returncode == 0, check.stdout + check.stderr


def test_init_refuses_a_folder_that_holds_a_ledger(ledger: Path) -> None:
    before = snapshot(ledger)
    result = CliRunner().invoke(cli, ["init", str(ledger), "--admin", "x", "--name", "X"])
    assert result.exit_code == 2
    assert "already holds a ledger" in result.stderr or "已经是一个账本" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(ledger) == before


def test_init_refuses_a_bad_admin_id_and_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "x"), "--admin", "Bad Id", "--name", "X"])
    assert result.exit_code == 2
    assert result.stderr.startswith("csctl: --admin:")
    assert not (tmp_path / "x" / "csctl.toml").exists()


def test_init_refuses_an_unknown_time_zone(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["init", str(tmp_path / "x"), "--admin", "a", "--name", "A", "--timezone", "Mars/Olympus"]
    )
    assert result.exit_code == 2
    assert "Mars/Olympus" in result.stderr
    assert not (tmp_path / "x" / "csctl.toml").exists()


def test_the_ledger_is_found_by_option_then_environment_then_parent_folders(ledger: Path, tmp_path: Path) -> None:
    nested = ledger / "records" / "tickets"
    nested.mkdir(parents=True)
    assert run_csctl("agent", "list", cwd=nested).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = run_csctl("agent", "list", cwd=elsewhere)
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert run_csctl("agent", "list", cwd=elsewhere, env={"CSCTL_LEDGER": str(ledger)}).returncode == 0
    assert run_csctl("--ledger", str(ledger), "agent", "list", cwd=elsewhere).returncode == 0
    wrong = run_csctl("--ledger", str(elsewhere), "agent", "list", cwd=ledger)
    assert wrong.returncode == 2
    assert "csctl.toml" in wrong.stderr


def test_agent_add_prints_the_id_and_keeps_the_comments(invoke: Invoke, ledger: Path) -> None:
    result = invoke("agent", "add", "zhao", "--name", "小赵", "--role", "tech", "--staff-no", "2001")
    assert result.exit_code == 0
    assert result.stdout == "zhao\n"
    config = (ledger / "csctl.toml").read_text()
    assert "# The team (SPEC §2)." in config
    assert 'id = "zhao"\nname = "小赵"\nrole = "tech"\nstaff_no = "2001"\n' in config
    listed = invoke("agent", "list", "--format", "json")
    assert [a["id"] for a in __import__("json").loads(listed.stdout)] == ["adm", "lead", "wang", "li", "sales", "zhao"]


def test_agent_list_table_aligns_chinese_names(invoke: Invoke) -> None:
    table = invoke("agent", "list").stdout.splitlines()
    from wcwidth import wcswidth

    widths = {wcswidth(line.rstrip()) for line in table[2:]}
    header = table[1]
    # Every column starts where the dashes of the header rule start.
    starts = [i for i, c in enumerate(header) if c == "-" and (i == 0 or header[i - 1] == " ")]
    for line in table[2:]:
        for start in starts[1:]:
            prefix = ""
            width = 0
            for char in line:
                if width >= start:
                    break
                prefix += char
                width += wcswidth(char)
            assert width == start, (line, start)
    assert widths


def test_agent_edit_changes_fields_and_an_empty_value_removes_one(invoke: Invoke, ledger: Path) -> None:
    assert invoke("agent", "edit", "wang", "--name", "王小明", "--email", "").exit_code == 0
    config = (ledger / "csctl.toml").read_text()
    assert 'name = "王小明"' in config
    assert "wang@shop.example" not in config
    assert invoke("agent", "edit", "wang", "--inactive").exit_code == 0
    assert "wang" not in invoke("agent", "list").stdout
    assert "wang" in invoke("agent", "list", "--all").stdout


def test_an_inactive_person_cannot_act(invoke: Invoke) -> None:
    invoke("agent", "edit", "lead", "--inactive")
    result = invoke("agent", "add", "x", "--name", "X", "--role", "agent", env={"CSCTL_AGENT": "lead"})
    assert result.exit_code == 2
    assert "lead" in result.stderr


def test_roles_are_refused_with_exit_3_naming_role_and_action(invoke: Invoke, ledger: Path) -> None:
    before = snapshot(ledger)
    result = invoke("--lang", "en", "agent", "add", "x", "--name", "X", "--role", "agent", env={"CSCTL_AGENT": "wang"})
    assert result.exit_code == 3
    assert result.stderr == "csctl: a agent may not add people to the roster\n" or "agent" in result.stderr
    assert "add people to the roster" in result.stderr
    zh = invoke("--lang", "zh", "agent", "add", "x", "--name", "X", "--role", "agent", env={"CSCTL_AGENT": "sales"})
    assert zh.exit_code == 3
    assert zh.stderr == "csctl: 只读 无权执行 添加人员\n"
    assert snapshot(ledger) == before


def test_a_supervisor_manages_agents_but_only_an_admin_makes_supervisors(invoke: Invoke) -> None:
    lead = {"CSCTL_AGENT": "lead"}
    assert invoke("agent", "add", "new", "--name", "新人", "--role", "agent", env=lead).exit_code == 0
    assert invoke("agent", "add", "boss", "--name", "B", "--role", "supervisor", env=lead).exit_code == 3
    assert invoke("agent", "edit", "new", "--role", "admin", env=lead).exit_code == 3
    assert invoke("agent", "edit", "adm", "--name", "X", env=lead).exit_code == 3
    assert invoke("agent", "edit", "new", "--role", "tech", env=lead).exit_code == 0


def test_the_last_admin_cannot_be_removed(invoke: Invoke) -> None:
    result = invoke("--lang", "en", "agent", "edit", "adm", "--role", "agent")
    assert result.exit_code == 2
    assert "one active admin" in result.stderr


def test_unknown_acting_person_is_exit_2(invoke: Invoke) -> None:
    result = invoke("--lang", "en", "agent", "add", "x", "--name", "X", "--role", "agent", env={"CSCTL_AGENT": "ghost"})
    assert result.exit_code == 2
    assert result.stderr == "csctl: ghost is not on the roster\n"


def test_acting_person_from_as_then_env_then_git_email(ledger: Path) -> None:
    env = {"CSCTL_LEDGER": str(ledger)}
    # No --as, no CSCTL_AGENT, no git e-mail: nobody is acting.
    nobody = run_csctl("--lang", "en", "agent", "add", "x", "--name", "X", "--role", "agent", env=env)
    assert nobody.returncode == 2
    assert "who is acting" in nobody.stderr
    subprocess.run(["git", "config", "user.email", "Wang@Shop.example"], cwd=ledger, check=True)
    # The git e-mail names wang, an agent, who may not add people.
    by_git = run_csctl("agent", "add", "x", "--name", "X", "--role", "agent", env=env)
    assert by_git.returncode == 3
    by_env = run_csctl("agent", "add", "x", "--name", "X", "--role", "agent", env={**env, "CSCTL_AGENT": "lead"})
    assert by_env.returncode == 0, by_env.stderr
    by_option = run_csctl("--as", "wang", "agent", "add", "y", "--name", "Y", "--role", "agent",
                          env={**env, "CSCTL_AGENT": "lead"})
    assert by_option.returncode == 3
