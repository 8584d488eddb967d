"""A one-record command loads what it uses and no more (issue #8): the root command imports no models,
`--help` no command module, and `ticket new/show` and `remark add` build only the models they validate
and print tables without tabulate, whose output the plain-table path must match byte for byte.

Structure only, never time: each probe runs a real process and reports what it imported and built.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import wcwidth
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from tabulate import tabulate

from csctl.cli import render
from csctl.cli.main import COMMANDS, SUMMARIES, cli
from csctl.reports.summary import SPARKS
from tests.conftest import NOW

# Runs a command in a fresh process, then reports on stderr which modules it imported and
# which models pydantic built for it.
PROBE = """
import json, sys
from csctl.cli.main import cli
code = None
try:
    cli.main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
modules = sorted(sys.modules)
from csctl.models.base import Event, Model

def family(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from family(sub)

built = sorted({model.__name__ for model in [Event, *family(Model)] if model.__pydantic_complete__})
print(json.dumps({"code": code, "built": built, "modules": modules}), file=sys.stderr)
"""

# Modules that only some commands need; none of them belongs to a one-record command.
HEAVY = ("tabulate", "wcwidth", "openpyxl", "tomlkit", "chinese_calendar", "sqlite3", "csctl.reports",
         "csctl.domain.integrity", "csctl.domain.merge",
         "importlib.metadata")  # read by pydantic's plugin discovery, which csctl.models skips


def probe(*args: str, ledger: Path) -> dict[str, Any]:
    env = {**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "wang", "CSCTL_NOW": NOW}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True,
                          timeout=60)
    report: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), done.stderr
    report["stdout"] = done.stdout
    return report


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.startswith(HEAVY)]


# ----- what is imported and built ------------------------------------------------------------

def test_the_root_command_imports_no_models_and_no_command() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import json, sys, csctl.cli.main; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    )
    modules = json.loads(done.stdout)
    assert [m for m in modules if m.startswith(("pydantic", "csctl.models", "csctl.domain"))] == []
    # Only what finds the ledger and asks git early (`LOOKS_EARLY`), without sqlite or subprocess.
    assert [m for m in modules if m.startswith("csctl.storage")] == [
        "csctl.storage", "csctl.storage.layout", "csctl.storage.lock", "csctl.storage.worktree"]
    assert "sqlite3" not in modules
    assert "subprocess" not in modules
    assert [m for m in modules if m.startswith("csctl.cli.") and m != "csctl.cli.main"] == []


def test_git_is_asked_before_a_command_that_reads_the_index_is_imported(ledger: Path) -> None:
    """`git status` runs while Python imports the command (`LOOKS_EARLY`): it is asked before the command's
    module is imported."""
    script = """
import sys
from csctl.storage import worktree
from csctl.cli.main import cli
ask = worktree._ask
def asking(records, folders, held=None):
    print("tickets imported" if "csctl.cli.tickets" in sys.modules else "tickets not imported", file=sys.stderr)
    return ask(records, folders, held)
worktree._ask = asking
cli.main(sys.argv[1:])
"""
    env = {**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "wang", "CSCTL_NOW": NOW}
    subprocess.run([sys.executable, "-m", "csctl", "alerts"], env=env, capture_output=True, timeout=60)  # .csctl/
    done = subprocess.run([sys.executable, "-c", script, "ticket", "list"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == "tickets not imported"


def test_help_lists_the_commands_without_importing_them(ledger: Path) -> None:
    report = probe("--help", ledger=ledger)
    assert [m for m in report["modules"] if m.startswith(("pydantic", "csctl.cli."))] == ["csctl.cli.main"]
    assert "  ticket        Tickets (工单)" in report["stdout"]


def test_ticket_new_and_show_build_the_settings_and_the_ticket_only(ledger: Path) -> None:
    new = probe("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "尺码咨询",
                "--description", "买家来电:身高165厘米,穿M码还是L码?", "--take", ledger=ledger)
    ticket_id = new["stdout"].strip()
    assert new["built"] == ["Event", "LedgerConfig", "Ticket"]
    assert heavy(new["modules"]) == []

    show = probe("ticket", "show", ticket_id, ledger=ledger)
    assert show["built"] == ["Event", "LedgerConfig", "Ticket"]
    assert heavy(show["modules"]) == []  # its two tables are plain text: no tabulate
    assert "尺码咨询" in show["stdout"]


def test_remark_add_builds_the_remark_file_only(ledger: Path) -> None:
    report = probe("remark", "add", "3801234567890", "price_plain", ledger=ledger)
    assert report["built"] == ["Event", "LedgerConfig", "Remark", "RemarkFile"]
    assert heavy(report["modules"]) == []


# ----- the help's summaries ------------------------------------------------------------------

@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_summary_is_the_first_paragraph_of_the_commands_help(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert SUMMARIES[name] == inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")


@pytest.mark.parametrize("width", [40, 80, 200])
def test_help_lists_the_commands_as_click_would(width: int) -> None:
    ctx = click.Context(cli, terminal_width=width)
    ours, clicks = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    cli.format_commands(ctx, ours)
    click.Group.format_commands(cli, ctx, clicks)  # imports every command to ask it
    assert ours.getvalue() == clicks.getvalue()
    assert CliRunner().invoke(cli, ["--help"], terminal_width=width).stdout.endswith(ours.getvalue())


def test_a_validation_error_escaping_a_command_is_one_line_exit_2() -> None:
    class Probe(BaseModel):
        qty: int

    @cli.command("probe-validation")
    def probe_validation() -> None:
        Probe.model_validate({"qty": "many"})

    try:
        result = CliRunner().invoke(cli, ["probe-validation"])
    finally:
        cli.commands.pop("probe-validation")
    assert result.exit_code == 2
    assert result.stderr.startswith("csctl: qty: ")
    assert len(result.stderr.splitlines()) == 1


# ----- plain tables are tabulate's tables ----------------------------------------------------

def test_every_plain_character_has_the_width_wcwidth_gives_it() -> None:
    plain = {chr(code): render._plain_width(chr(code)) for code in range(0x10000) if render._plain_width(chr(code)) > 0}
    assert len(plain) > 27_000  # printable ASCII and the CJK blocks
    assert [(f"U+{ord(c):04X}", width) for c, width in plain.items() if wcwidth.wcwidth(c) != width] == []


# Plain text (the edges of the width table among it), and text that must send a table to tabulate.
PLAIN = ["a", "Z", "0", " ", "-", "|", ":", "~", "True", "False", "288.00", "\u3000", "，", "。", "、", "“", "”",
         "…", "·", "中", "龥", "㐀", "ア", "ー", "￥", "！", "§", "–", "Ⅰ", "Ⅻ", "←", "→", "↙", "−", "①", "⑳",
         "▁", "█"]
OTHER = ["\n", "\r", "\t", "\x1b[31m", "\x01", "😀", "é", "\u0301", "\u200b", "\u302a", "\u4db6", "\u9fa6", "한"]
CELL = (st.lists(st.sampled_from(PLAIN), max_size=5) | st.lists(st.sampled_from(PLAIN + OTHER), max_size=3)).map(
    "".join)


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 4).flatmap(lambda columns: st.tuples(
    st.lists(CELL, min_size=columns, max_size=columns),
    st.lists(st.lists(CELL, min_size=columns, max_size=columns), max_size=4),
)), st.booleans())
def test_tables_are_laid_out_as_tabulate_lays_them_out(table: tuple[list[str], list[list[str]]],
                                                       markdown: bool) -> None:
    headers, body = table
    expected = tabulate(body, headers=headers, tablefmt="pipe" if markdown else "simple", disable_numparse=True)
    assert render.table_text(headers, body, markdown=markdown) == expected


def test_a_reports_sparklines_take_the_plain_path() -> None:
    """A weekly or monthly report's volume per day (▁…█) needs no tabulate (~20-60 ms of the report)."""
    headers, body = ["日", "新建"], [["11-01", SPARKS], ["11-02", SPARKS[::-1]]]
    plain = render._plain_table(headers, body, markdown=False)
    assert plain is not None
    assert plain == tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True)


def test_a_ticket_as_shown_takes_the_plain_path() -> None:
    headers = ["字段", "内容"]
    body = [["编号", "T-261120-QZ9A4"], ["问题描述", "买家购买雪纺衫3件,询问能否开具电子普通发票。"], ["处理及时", "…"],
            ["联系电话", "189****7024"], ["备注", "  "], ["扣款", "LY2502-27 折扣 52.00 → 支付宝 mm.67799@163.com"]]
    for markdown in (False, True):
        plain = render._plain_table(headers, body, markdown=markdown)
        assert plain is not None
        assert plain == tabulate(body, headers=headers, tablefmt="pipe" if markdown else "simple",
                                 disable_numparse=True)
