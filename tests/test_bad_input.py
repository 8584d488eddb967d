"""Bad input: one line on stderr starting `csctl: `, exit 2, no traceback, every file as it was
(SPEC §4) — and `check` naming each kind of broken record as `path:line: message`, exit 1.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from csctl.cli.main import cli
from tests.conftest import Invoke, run_csctl, snapshot

MakeRecord = Callable[..., Path]
ISSUE = {"kind": "complaint", "channel": "phone", "subject": "退款"}
ORDER = {"buyer": "张三", "agent": "wang", "address": "北京市朝阳区", "amount": "288.00",
         "items": [{"code": "A1", "size": "L", "qty": 1}]}


def refused(result: Result, message: str | re.Pattern[str] | None = None) -> str:
    """Assert SPEC §4's answer to bad input; return the one line said."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("csctl: ")
    if isinstance(message, str):
        assert lines[0] == f"csctl: {message}"
    elif message is not None:
        assert message.fullmatch(lines[0]), lines[0]
    return lines[0]


def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


# ----- init --------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "message"), [
    (["--admin", "Bad Id"], re.compile(r"csctl: --admin: .*")),
    (["--admin", "a" * 40], re.compile(r"csctl: --admin: .*")),
    (["--admin", "adm", "--timezone", "Mars/Olympus"], re.compile(r"csctl: .*Mars/Olympus.*")),
    (["--admin", "adm", "--name", ""], re.compile(r"csctl: --name: .*")),
    (["--admin", "adm", "--locale", "fr"], re.compile(r"csctl: init: Invalid value for '--locale'.*")),
], ids=lambda value: " ".join(value)[:30] if isinstance(value, list) else "")
def test_init_with_bad_options_writes_nothing(options: list[str], message: re.Pattern[str], tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "README.md").write_text("已有的文件\n")
    before = snapshot(folder)
    args = ["--lang", "en", "init", str(folder), "--name", "管理员", *options]
    refused(run_cli(*args), message)
    assert snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]


def test_init_on_an_existing_ledger_is_refused(ledger: Path) -> None:
    before = snapshot(ledger)
    refused(run_cli("--lang", "en", "init", str(ledger), "--admin", "x", "--name", "X"),
            f"{ledger} already holds a ledger")
    assert snapshot(ledger) == before


def test_init_on_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    refused(run_cli("--lang", "en", "init", str(target), "--admin", "adm", "--name", "A"))
    assert target.read_text() == "x"


# ----- agent add / edit ------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["add", "Bad Id", "--name", "X", "--role", "agent"], re.compile(r"csctl: id: .*")),
    (["add", "-x", "--name", "X", "--role", "agent"], None),
    (["add", "x", "--name", "X", "--role", "boss"],
     re.compile(r"csctl: agent add: Invalid value for '--role': 'boss' is not one of .*")),
    (["add", "wang", "--name", "X", "--role", "agent"], "wang is already on the roster"),
    (["add", "x", "--name", "X", "--role", "agent", "--email", "not-an-email"], re.compile(r"csctl: email: .*")),
    (["add", "x", "--name", "X", "--role", "agent", "--email", "a b@c"], re.compile(r"csctl: email: .*")),
    (["add", "x", "--name", "X", "--role", "agent", "--email", "WANG@shop.example"],
     "e-mail WANG@shop.example already belongs to wang"),
    (["add", "x", "--name", "", "--role", "agent"], re.compile(r"csctl: name: .*")),
    (["add", "x", "--name", "名" * 33, "--role", "agent"], re.compile(r"csctl: name: .*")),
    (["add", "x", "--role", "agent"], re.compile(r"csctl: agent add: Missing option '--name'.*")),
    # BUG-9: click lists the choices of a missing choice option on several lines; one line is due.
    (["add", "x", "--name", "X"], re.compile(r"csctl: agent add: Missing option '--role'.*")),
    (["edit", "ghost", "--name", "X"], "ghost is not on the roster"),
    (["edit", "wang"], re.compile(r"csctl: agent edit: nothing to change.*")),
    (["edit", "wang", "--email", "bad"], re.compile(r"csctl: email: .*")),
    (["edit", "wang", "--email", "ADM@x.example"], None),  # set below to belong to adm
    (["edit", "wang", "--role", "boss"], re.compile(r"csctl: agent edit: Invalid value for '--role'.*")),
    (["edit", "adm", "--inactive"], "the roster must keep one active admin"),
    (["list", "--format", "xml"], re.compile(r"csctl: agent list: Invalid value for '--format'.*")),
], ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_agent_commands_refuse_bad_input(
    args: list[str], message: str | re.Pattern[str] | None, invoke: Invoke, ledger: Path
) -> None:
    if "ADM@x.example" in args:
        assert invoke("agent", "edit", "adm", "--email", "adm@x.example").exit_code == 0
        message = "e-mail ADM@x.example already belongs to adm"
    before = snapshot(ledger)
    refused(invoke("--lang", "en", "agent", *args), message)
    assert snapshot(ledger) == before


def test_unknown_command_and_option(invoke: Invoke, ledger: Path) -> None:
    before = snapshot(ledger)
    refused(invoke("--lang", "en", "bogus"))
    refused(invoke("--lang", "en", "check", "--bogus"))
    refused(invoke("--lang", "fr", "check"))
    assert snapshot(ledger) == before


# ----- check and fmt: paths --------------------------------------------------------------------

@pytest.mark.parametrize("command", ["check", "fmt"])
def test_check_and_fmt_refuse_paths_outside_the_ledger_or_missing(
    command: str, invoke: Invoke, ledger: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.toml"
    outside.write_text('id = "x"\n')
    before = snapshot(ledger)
    refused(invoke("--lang", "en", command, str(outside)), f"{outside} is not inside the ledger {ledger}")
    missing = ledger / "records" / "tickets" / "nope.toml"
    refused(invoke("--lang", "en", command, str(missing)), f"{missing}: no such file or folder")
    assert snapshot(ledger) == before
    assert outside.read_text() == 'id = "x"\n'


def test_fmt_with_a_malformed_record_writes_nothing_at_all(
    invoke: Invoke, make_record: MakeRecord, ledger: Path
) -> None:
    broken = make_record("ticket", **ISSUE)
    untidy = make_record("remittance", **ORDER)
    untidy.write_text(untidy.read_text().replace('amount = "288.00"', 'amount = "288.0"'))
    broken.write_text(broken.read_text().replace('subject = "退款"', "subject = 退款"))
    before = snapshot(ledger)
    for args in (["fmt"], ["fmt", "--check"], ["fmt", str(untidy), str(broken)]):
        result = invoke("--lang", "en", *args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
        # One line: the file and line to fix, and that nothing was written.
        assert result.stderr == (
            f"csctl: cannot format: {broken.relative_to(ledger)}:5: TOML syntax: string values must be quoted, "
            "expected literal string; nothing was written\n"
        )
        assert snapshot(ledger) == before


# ----- the environment, --ledger, csctl.toml ---------------------------------------------------

def test_a_csctl_now_that_is_not_a_date_is_refused(invoke: Invoke, ledger: Path) -> None:
    before = snapshot(ledger)
    refused(invoke("--lang", "en", "check", "--repair-duplicates", env={"CSCTL_NOW": "yesterday"}),
            "CSCTL_NOW: not an ISO date-time: 'yesterday' (e.g. 2026-11-23T09:30 or 2026-11-23T09:30+08:00)")
    refused(invoke("--lang", "en", "check", "--repair-duplicates", env={"CSCTL_NOW": "2026-13-45"}),
            re.compile(r"csctl: CSCTL_NOW: not an ISO date-time: '2026-13-45' .*"))
    assert snapshot(ledger) == before


def test_a_time_outside_the_years_a_ledger_holds_is_refused_as_typed(invoke: Invoke, ledger: Path) -> None:
    # A year 1 CSCTL_NOW stopped every command with an overflow; a year 1800 `--at` was named in Shanghai's
    # local mean time of then (+08:05:43), not as typed.
    before = snapshot(ledger)
    new = ("ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject", "退款", "--description", "x")
    refused(invoke("--lang", "en", *new, env={"CSCTL_NOW": "0001-01-01T00:00:00+08:00"}),
            "CSCTL_NOW: a time must fall in the years 1900 to 2999: 0001-01-01T00:00:00+08:00")
    refused(invoke("--lang", "en", *new, "--at", "1800-01-01T10:00"),
            "--at: a time must fall in the years 1900 to 2999: 1800-01-01T10:00")
    assert snapshot(ledger) == before


def test_a_ledger_option_pointing_elsewhere_is_refused(invoke: Invoke, ledger: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = snapshot(ledger)
    for args in (["agent", "list"], ["check"], ["fmt"], ["agent", "add", "x", "--name", "X", "--role", "agent"]):
        refused(invoke("--lang", "en", "--ledger", str(elsewhere), *args),
                f"{elsewhere}: no csctl.toml here, so not a csctl ledger")
        refused(invoke("--lang", "en", *args, env={"CSCTL_LEDGER": str(tmp_path / "missing")}),
                f"{tmp_path / 'missing'}: no csctl.toml here, so not a csctl ledger")
    assert snapshot(ledger) == before
    assert list(elsewhere.iterdir()) == []


def test_the_same_answer_from_a_real_process(ledger: Path, tmp_path: Path) -> None:
    result = run_csctl("--lang", "en", "--ledger", str(tmp_path), "agent", "list")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"csctl: {tmp_path}: no csctl.toml here, so not a csctl ledger\n"


def _break_config(ledger: Path, old: str, new: str) -> int:
    """Replace the first `old` line of csctl.toml by `new`; the line number changed."""
    path = ledger / "csctl.toml"
    lines = path.read_text().split("\n")
    number = lines.index(old)
    lines[number] = new
    path.write_text("\n".join(lines))
    return number + 1


CONFIG_BREAKS = [
    ("timeout = 30", "timeout = 30 seconds", "TOML syntax: string values must be quoted, expected literal string"),
    ('role = "agent"', 'role = "boss"',
     "agents.2.role: Input should be 'admin', 'supervisor', 'agent', 'assistant', 'tech' or 'viewer'"),
    ("timeout = 30", "timeout = -1", "lock.timeout: Input should be greater than 0"),
    ('date_format = "%m.%d"', 'date_fmt = "%m.%d"', "remarks.date_fmt: is not a known field"),
]
CONFIG_IDS = ["syntax", "unknown role", "negative timeout", "unknown key"]


@pytest.mark.parametrize(("old", "new", "message"), CONFIG_BREAKS, ids=CONFIG_IDS)
@pytest.mark.parametrize("args", [
    ["agent", "list"],
    ["agent", "add", "x", "--name", "X", "--role", "agent"],
    ["check", "--repair-duplicates"],
], ids=["agent list", "agent add", "repair"])
def test_a_broken_csctl_toml_is_named_with_its_line(
    args: list[str], old: str, new: str, message: str, invoke: Invoke, ledger: Path
) -> None:
    number = _break_config(ledger, old, new)
    before = snapshot(ledger)
    line = refused(invoke("--lang", "en", *args))
    assert re.fullmatch(rf"csctl: (\S*/)?csctl\.toml:{number}: {re.escape(message)}", line), line
    assert snapshot(ledger) == before


@pytest.mark.parametrize(("old", "new", "message"), CONFIG_BREAKS, ids=CONFIG_IDS)
def test_check_reports_a_broken_csctl_toml_as_a_problem(
    old: str, new: str, message: str, invoke: Invoke, ledger: Path
) -> None:
    """BUG-8: `check` is how one finds what is wrong: it lists csctl.toml's problem and exits 1."""
    number = _break_config(ledger, old, new)
    before = snapshot(ledger)
    result = invoke("--lang", "en", "check")
    assert result.exit_code == 1, result.stderr
    assert result.stdout == f"csctl.toml:{number}: {message}\n"
    assert snapshot(ledger) == before


# ----- check: each kind of broken record ---------------------------------------------------------

def checked(invoke: Invoke, ledger: Path, expected: str) -> None:
    before = snapshot(ledger)
    result = invoke("--lang", "en", "check")
    assert result.exit_code == 1, result.stderr
    assert result.stdout == expected + "\n"
    assert "Traceback" not in result.stderr
    assert snapshot(ledger) == before


def edit(path: Path, old: str, new: str) -> str:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return str(path.relative_to(path.parents[4]))


def test_check_names_a_toml_syntax_error(invoke: Invoke, make_record: MakeRecord, ledger: Path) -> None:
    where = edit(make_record("ticket", **ISSUE), 'subject = "退款"', 'subject = "退款')
    checked(invoke, ledger, f'{where}:5: TOML syntax: invalid basic string, expected `"`')


def test_check_names_an_unknown_field(invoke: Invoke, make_record: MakeRecord, ledger: Path) -> None:
    where = edit(make_record("ticket", **ISSUE), 'status = "new"\n', 'status = "new"\ncolour = "red"\n')
    checked(invoke, ledger, f"{where}:8: colour: is not a known field")


def test_check_names_money_written_as_a_float(invoke: Invoke, make_record: MakeRecord, ledger: Path) -> None:
    where = edit(make_record("remittance", **ORDER), 'amount = "288.00"', "amount = 288.0")
    checked(invoke, ledger, f'{where}:6: amount: money must be written as a string such as "288.00", not a number')


def test_check_names_money_with_three_decimals(invoke: Invoke, make_record: MakeRecord, ledger: Path) -> None:
    where = edit(make_record("remittance", **ORDER), 'amount = "288.00"', 'amount = "288.005"')
    checked(invoke, ledger, f"{where}:6: amount: not an amount in yuan with at most two decimals: '288.005'")


def test_check_names_a_naive_datetime(invoke: Invoke, make_record: MakeRecord, ledger: Path) -> None:
    where = edit(make_record("ticket", **ISSUE), "at = 2026-11-23T09:30:00+08:00", "at = 2026-11-23T09:30:00")
    checked(invoke, ledger, f"{where}:10: events.0.at: a time must carry its offset, e.g. 2026-11-23T09:30:00+08:00")


@pytest.mark.parametrize("year", ["0001", "9999", "1899"])
def test_check_names_a_time_outside_the_years_a_ledger_holds(year: str, invoke: Invoke, make_record: MakeRecord,
                                                              ledger: Path) -> None:
    # Without the bound, a year-1 time reached the deadlines and the index and stopped `alerts` and every
    # report with an overflow.
    where = edit(make_record("ticket", **ISSUE), "at = 2026-11-23T09:30:00+08:00", f"at = {year}-11-23T09:30:00+08:00")
    checked(invoke, ledger, f"{where}:10: events.0.at: a time must fall in the years 1900 to 2999: "
                            f"{year}-11-23T09:30:00+08:00")
    for args, code in ((("alerts", "--format", "json"), 1), (("report", "monthly", "--month", "2026-11"), 0)):
        result = invoke(*args)
        assert result.exit_code == code, result.stderr
        assert "internal error" not in result.stderr


@pytest.mark.parametrize(("value", "message"), [
    ('[1.5, "2.00"]', "amounts.0: numbers with a fraction must be strings (money)"),
    ('["2.00", { yuan = 2 }]', "amounts.1: an event value cannot be a table"),
    ('[["2.00"]]', "amounts.0: an event list holds single values, not lists"),
    ("[2026-11-23T09:30:00]", "amounts.0: a time must carry its offset, e.g. 2026-11-23T09:30:00+08:00"),
], ids=["float", "table", "nested list", "time without offset"])
def test_check_names_a_bad_value_inside_an_event_list(
    value: str, message: str, invoke: Invoke, make_record: MakeRecord, ledger: Path
) -> None:
    where = edit(make_record("ticket", **ISSUE), 'action = "created"\n', f'action = "created"\namounts = {value}\n')
    checked(invoke, ledger, f"{where}:9: events.0: {message}")


def test_check_names_an_id_that_does_not_match_the_file(
    invoke: Invoke, make_record: MakeRecord, ledger: Path
) -> None:
    path = make_record("ticket", **ISSUE)
    other = path.stem[:-1] + ("0" if path.stem[-1] != "0" else "1")
    where = edit(path, f'id = "{path.stem}"', f'id = "{other}"')
    checked(invoke, ledger, f"{where}:1: ID {other} does not match the file name {path.stem}")


def test_check_names_a_record_in_the_wrong_month_folder(
    invoke: Invoke, make_record: MakeRecord, ledger: Path
) -> None:
    path = make_record("ticket", **ISSUE)
    moved = ledger / "records" / "tickets" / "2026" / "10" / path.name
    moved.parent.mkdir()
    path.rename(moved)
    checked(invoke, ledger, f"records/tickets/2026/10/{path.name}:1: belongs at records/tickets/2026/11/{path.name}")


def test_check_names_an_unknown_agent_in_the_history(
    invoke: Invoke, make_record: MakeRecord, ledger: Path
) -> None:
    where = edit(make_record("ticket", **ISSUE), 'by = "wang"', 'by = "ghost"')
    checked(invoke, ledger, f"{where}:11: events.0.by: unknown agent ghost")


def test_check_names_events_out_of_order(invoke: Invoke, make_record: MakeRecord, ledger: Path) -> None:
    path = make_record("ticket", **ISSUE)
    where = edit(path, 'action = "created"\n',
                 'action = "created"\n\n[[events]]\nat = 2026-11-23T09:00:00+08:00\nby = "wang"\naction = "noted"\n'
                 'text = "已联系买家"\n')
    checked(invoke, ledger, f"{where}:15: events.1: written at 2026-11-23T09:00:00+08:00, "
                            "before the event above it (2026-11-23T09:30:00+08:00)")


def test_check_ignores_other_files_in_a_kind_folder(invoke: Invoke, make_record: MakeRecord, ledger: Path) -> None:
    make_record("ticket", **ISSUE)
    (ledger / "records" / "tickets" / "notes.txt").write_text("会议记录\n")
    result = invoke("--lang", "en", "check")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_check_names_a_toml_file_that_is_not_a_record_when_asked(
    invoke: Invoke, make_record: MakeRecord, ledger: Path
) -> None:
    stray = ledger / "records" / "other" / "x.toml"
    stray.parent.mkdir()
    shutil.copy(make_record("ticket", **ISSUE), stray)
    result = invoke("--lang", "en", "check", str(stray))
    assert result.exit_code == 1
    assert result.stdout == "records/other/x.toml: not a csctl record file\n"


def test_check_of_the_whole_ledger_names_a_toml_file_that_is_not_a_record(
    invoke: Invoke, make_record: MakeRecord, ledger: Path
) -> None:
    """BUG-10: a `.toml` under records/ outside the five kind folders (a typo such as `ticket/`)
    is lost to every command; the whole-ledger check must say so."""
    stray = ledger / "records" / "other" / "x.toml"
    stray.parent.mkdir()
    shutil.copy(make_record("ticket", **ISSUE), stray)
    (ledger / "records" / "tickets" / "notes.txt").write_text("会议记录\n")
    checked(invoke, ledger, "records/other/x.toml: not a csctl record file")
