"""The command tree of SPEC §3 exists, and every command explains itself."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from csctl.cli.main import COMMANDS, cli

SPEC_GROUPS = ["init", "agent", "git-setup", "ticket", "remit", "remark", "refund", "balance", "customer", "kb",
               "alerts", "report", "check", "fmt", "merge-driver"]
EXTRA_COMMANDS = ["phrases", "textconv"]


def all_commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(group: click.Group, path: list[str]) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            found.append([*path, name])
            if isinstance(command, click.Group):
                walk(command, [*path, name])

    walk(cli, [])  # type: ignore[arg-type]
    return found


def test_help_lists_every_group_of_spec_section_3() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in SPEC_GROUPS:
        assert f"\n  {name} " in result.stdout, name
    assert sorted(COMMANDS) == sorted(SPEC_GROUPS + EXTRA_COMMANDS)


def test_no_arguments_prints_help_and_succeeds() -> None:
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0
    assert "Usage: csctl" in result.stdout


@pytest.mark.parametrize("path", all_commands(), ids=" ".join)
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.stderr
    assert "Usage: csctl " + " ".join(path) in result.stdout
    body = result.stdout.split("\n\n", 2)[1].strip()
    assert body, f"{' '.join(path)} has no help text"


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("csctl, version ")


def test_unknown_command_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(cli, ["tickets"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("csctl: ")
