"""Bad input of every kind never gets past the one-line contract of SPEC §4.

Hypothesis writes broken record files (a valid file mutated, random bytes, wrong types, huge values,
Chinese) and draws option values for every command of the tree. Whatever it makes: the exit code is
0, 1, 2 or 3; no traceback and no internal error; a refusal (2, 3) is one line starting `csctl: ` and
leaves every file as it was. `pytest -m slow tests/test_fuzz.py` runs 10,000 examples of each.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csctl.cli.main import cli
from tests.conftest import NOW, snapshot

QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run(root: Path, *args: str) -> Result:
    env = {"CSCTL_LEDGER": str(root), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW, "CSCTL_LOCK_TIMEOUT": "5"}
    with contextlib.chdir(root):  # a relative path given to a command lands in this copy
        return CliRunner().invoke(cli, ["--lang", "en", *args], env=env, input="", catch_exceptions=False)


def keeps_the_contract(root: Path, args: list[str]) -> Result:
    before = snapshot(root)
    result = run(root, *args)
    said = result.stdout + result.stderr
    assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, said)
    assert "Traceback" not in said, (args, said)
    assert "internal error" not in said, (args, said)
    if result.exit_code in (2, 3):
        # A line as a log or `read` sees it: up to "\n" (`splitlines` would also break at \x1e, \x85…).
        assert result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.endswith("\n"), (args, result.stderr)
        assert result.stderr.startswith("csctl: "), (args, result.stderr)
        assert snapshot(root) == before, (args, result.stderr)
    return result


# ----- a ledger with one record of each kind, copied for each example ---------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("fuzz") / "ledger"
    env = {"CSCTL_LEDGER": str(root), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW}

    def make(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.stderr)
        return result.stdout.strip()

    make("init", str(root), "--admin", "adm", "--name", "管理员", "--no-git")
    make("agent", "add", "wang", "--name", "小王", "--role", "agent", "--staff-no", "1023")
    customer = make("customer", "add", "--name", "林晓燕", "--phone", "13857123456", "--region", "杭州")
    entry = make("kb", "add", "--question", "买家说没收到货怎么办?", "--answer", "先查物流,\n再联系快递。")
    ticket = make("ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", "快递三天未到",
                  "--description", "买家来电:\n运单三天未更新", "--customer", customer, "--take")
    make("ticket", "note", ticket, "已联系快递网点")
    files = {kind: next(root.glob(f"records/{folder}/**/{record_id}.toml"))
             for kind, folder, record_id in (("ticket", "tickets", ticket), ("customer", "customers", customer),
                                             ("kb", "kb", entry))}
    return {"root": root, "ids": [ticket, customer, entry, "adm", "wang"], "files": files}


def copy_of(template: dict[str, object], scratch: Path) -> Path:
    target = scratch / f"copy-{len(os.listdir(scratch))}"
    shutil.copytree(str(template["root"]), target)
    return target


# ----- broken record files -------------------------------------------------------------------------------

ODD_VALUES = [
    '"长"', "42", "-1", "3.14", "1e400", "true", "[]", "[1, \"a\"]", "{}", "{a = 1}", '""', '"' + "长" * 20000 + '"',
    "9" * 400, "2026-11-23", "2026-11-23T09:30:00", "2026-02-30T09:30:00+08:00", "1979-05-27T07:32:00Z",
    '"1.005"', '"-288.00"', '"T-261123-00000"', '"nobody"', '"closed"', "inf", "nan",
]
LINES = st.one_of(
    st.sampled_from(["[[events]]", "[events]", "[extra]", "events = []", "id = 1", "status = \"closed\"",
                     "<<<<<<< HEAD", "=======", ">>>>>>> theirs", 'text = """', "'''", "\\", "\x00", "\ufeff"]),
    st.builds(lambda key, value: f"{key} = {value}",
              st.sampled_from(["id", "created", "kind", "status", "subject", "at", "by", "action", "amount",
                               "events", "name", "phone", "question", "assignee", "text", "新字段"]),
              st.sampled_from(ODD_VALUES) | st.text(max_size=20).map(lambda t: '"' + t.replace('"', "") + '"')),
    st.text(max_size=40),
)


@st.composite
def broken_files(draw: st.DrawFn, original: bytes) -> bytes:
    lines = original.decode().splitlines()
    how = draw(st.sampled_from(["bytes", "truncate", "lines", "lines", "lines", "replace value"]))
    if how == "bytes":
        return draw(st.binary(max_size=2000))
    if how == "truncate":
        return original[: draw(st.integers(0, len(original)))]
    if how == "replace value":
        index = draw(st.sampled_from([i for i, line in enumerate(lines) if " = " in line]))
        key = lines[index].split(" = ")[0]
        lines[index] = f"{key} = {draw(st.sampled_from(ODD_VALUES))}"
        return "\n".join(lines).encode() + b"\n"
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(lines)))
        edit = draw(st.sampled_from(["insert", "delete", "duplicate"]))
        if edit == "insert" or not lines:
            lines.insert(where, draw(LINES))
        elif edit == "delete":
            del lines[min(where, len(lines) - 1)]
        else:
            lines.insert(where, lines[draw(st.integers(0, len(lines) - 1))])
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def commands_on(kind: str, record_id: str) -> list[list[str]]:
    reads = [["check"], ["fmt", "--check"], ["alerts"]]
    if kind == "ticket":
        return [*reads, ["ticket", "show", record_id], ["ticket", "log", record_id], ["ticket", "list"],
                ["ticket", "note", record_id, "补充说明"], ["ticket", "resolve", record_id, "--solution", "已补发"],
                ["customer", "show", "C-261123-00000"], ["fmt"]]
    if kind == "customer":
        return [*reads, ["customer", "show", record_id], ["customer", "list"],
                ["customer", "edit", record_id, "--region", "上海"], ["ticket", "list"], ["fmt"]]
    return [*reads, ["kb", "show", record_id], ["kb", "list"], ["kb", "search", "物流"], ["kb", "submit", record_id],
            ["fmt"]]


def _fuzz_record_files(template: dict[str, object], scratch: Path, kind: str, data: st.DataObject) -> None:
    files: dict[str, Path] = template["files"]  # type: ignore[assignment]
    root = copy_of(template, scratch)
    original = files[kind]
    path = root / original.relative_to(str(template["root"]))
    path.write_bytes(data.draw(broken_files(original.read_bytes()), label="file"))
    for args in commands_on(kind, path.stem):
        keeps_the_contract(root, args)


@QUICK
@given(kind=st.sampled_from(["ticket", "customer", "kb"]), data=st.data())
def test_broken_record_files_keep_the_contract(template: dict[str, object], tmp_path: Path, kind: str,
                                               data: st.DataObject) -> None:
    _fuzz_record_files(template, tmp_path, kind, data)


@pytest.mark.slow
@SLOW
@given(kind=st.sampled_from(["ticket", "customer", "kb"]), data=st.data())
def test_broken_record_files_keep_the_contract_at_length(template: dict[str, object], tmp_path: Path, kind: str,
                                                         data: st.DataObject) -> None:
    _fuzz_record_files(template, tmp_path, kind, data)


# ----- option values for every command ----------------------------------------------------------------------

def every_command() -> list[tuple[list[str], click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[list[str], click.Command]] = []

    def walk(group: click.Group, path: list[str]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                walk(command, [*path, name])
            elif command is not None:
                found.append(([*path, name], command))

    walk(cli, [])
    return found


COMMANDS = every_command()
SPECIAL = ["", " ", "\n", "-", "--", "0", "-1", "1.005", "288.00", "1e309", "nan", "9" * 400, "长" * 5000,
           "2026-11-23", "2026-11-23T09:30", "2026-13-45", "2026-11-23T25:00", "2026-W47", "2026-11", "yesterday",
           "ab\udcffcd", "13857123456", "+86 138 5712 3456", "T-261123-00000", "t-261123-0f3kq", "C-000000-00000",
           "A1:L:2", "A1:L:0", "A1::-3", "records", "csctl.toml", "a,b,,c", "x=1", "=", "%s {0} {x}"]


def safe(value: str) -> bool:
    """A value that, taken as a path, stays inside the example's own folder."""
    return not value.startswith(("/", "~")) and ".." not in value and "\x00" not in value


def values(ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(SPECIAL),
        st.sampled_from(ids),
        st.text(max_size=30),
        st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=30),
        st.integers(-(10**20), 10**20).map(str),
    ).filter(safe)


@st.composite
def command_lines(draw: st.DrawFn, ids: list[str]) -> list[str]:
    path, command = draw(st.sampled_from(COMMANDS), label="command")
    args = list(path)
    for param in command.params:
        if isinstance(param, click.Argument):
            count = param.nargs if param.nargs > 0 else draw(st.integers(0, 2))
            if draw(st.integers(0, 9)) > 0:  # usually given, sometimes missing
                args.extend(draw(values(ids)) for _ in range(count))
            continue
        assert isinstance(param, click.Option)
        if not draw(st.booleans()):
            continue
        name = max(param.opts, key=len)
        if param.is_flag:
            args.append(draw(st.sampled_from([*param.opts, *param.secondary_opts])))
        elif isinstance(param.type, click.Choice) and draw(st.booleans()):
            args.extend([name, draw(st.sampled_from(list(param.type.choices)))])
        else:
            args.extend([name, draw(values(ids))])
    return args


def real_stdin_only(args: list[str]) -> bool:
    """`customer import -` reads stdin's name, which a real process has and CliRunner's lacks."""
    return not (args[:2] == ["customer", "import"] and "-" in args)


def _fuzz_options(template: dict[str, object], scratch: Path, data: st.DataObject) -> None:
    ids: list[str] = template["ids"]  # type: ignore[assignment]
    args = data.draw(command_lines(ids).filter(real_stdin_only), label="args")
    keeps_the_contract(copy_of(template, scratch), args)


@settings(QUICK, max_examples=200)
@given(data=st.data())
def test_any_option_values_keep_the_contract(template: dict[str, object], tmp_path: Path, data: st.DataObject) -> None:
    _fuzz_options(template, tmp_path, data)


@pytest.mark.slow
@SLOW
@given(data=st.data())
def test_any_option_values_keep_the_contract_at_length(template: dict[str, object], tmp_path: Path,
                                                       data: st.DataObject) -> None:
    _fuzz_options(template, tmp_path, data)


def test_every_command_is_fuzzed() -> None:
    """A new command joins the fuzzing by being in the tree; none is left out."""
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"ticket note", "customer add", "kb add", "check", "fmt", "init", "agent add"} <= names


def test_bytes_a_terminal_could_not_decode_are_named_not_written(template: dict[str, object], tmp_path: Path) -> None:
    """`csctl ticket note ID $'\\xff'` in a UTF-8 shell hands Python a lone surrogate."""
    root = copy_of(template, tmp_path)
    ticket = str(template["ids"][0])  # type: ignore[index]
    result = keeps_the_contract(root, ["ticket", "note", ticket, "第一行\n损坏的\udcff字节"])
    assert result.exit_code == 2
    assert result.stderr == ("csctl: text: holds bytes that are not UTF-8 text (check the terminal's encoding); "
                             "nothing was written\n")


def test_an_id_too_long_for_a_file_name_is_a_problem_not_a_crash(template: dict[str, object],
                                                                  tmp_path: Path) -> None:
    """Found by the fuzzing: the path an ID of 20,000 characters would have cannot even be looked at."""
    root = copy_of(template, tmp_path)
    files: dict[str, Path] = template["files"]  # type: ignore[assignment]
    path = root / files["customer"].relative_to(str(template["root"]))
    path.write_text(path.read_text().replace(path.stem, "长" * 20000, 1))
    result = keeps_the_contract(root, ["check"])
    assert result.exit_code == 1
    assert f"{path.relative_to(root)}:1: id: " in result.stdout


@pytest.mark.parametrize("args", [["fmt", "第一行\n第二行"], ["ticket", "show", "T-261123\r\n"],
                                  ["customer", "edit", "C-1\n", "--region", "上海"]])
def test_a_value_with_a_line_break_is_quoted_on_one_line(args: list[str], template: dict[str, object],
                                                         tmp_path: Path) -> None:
    """Found by the fuzzing: `csctl fmt $'\\n'` said `csctl: ` and `: no such file` on two lines."""
    result = keeps_the_contract(copy_of(template, tmp_path), args)
    assert result.exit_code == 2
    assert "\\n" in result.stderr


@pytest.mark.parametrize("args", [["check", "9" * 400], ["fmt", "--check", "长" * 200],
                                  ["check", " ", "--repair-duplicates"]])
def test_paths_no_file_can_have_are_refused_before_anything_is_done(args: list[str], template: dict[str, object],
                                                                   tmp_path: Path) -> None:
    """Found by the fuzzing: a name too long was an internal error, and a repair ran before a bad PATH was seen."""
    result = keeps_the_contract(copy_of(template, tmp_path), args)
    assert result.exit_code == 2
    assert result.stderr.endswith(": no such file or folder\n")


def test_a_name_the_system_refuses_is_one_line_not_an_internal_error(tmp_path: Path) -> None:
    """Found by the fuzzing: `csctl init` with a folder name of 400 characters."""
    with contextlib.chdir(tmp_path):
        result = CliRunner().invoke(cli, ["--lang", "en", "init", "9" * 400, "--admin", "adm", "--name", "管理员"],
                                    catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"csctl: {'9' * 400}")
    assert result.stderr.endswith(f": {os.strerror(errno.ENAMETOOLONG)}\n")
    assert os.listdir(tmp_path) == []
