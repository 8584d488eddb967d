"""Robustness through the CLI: broken histories, random histories, the roster under concurrency,
forbidden words, kept permissions, a broken calendar or phrase book, a stopped clock (SPEC §4).

Every reader must keep working when one ticket's history is broken: `check` names the event
(`path:line: events.N …`, exit 1), `ticket list` lists the rest and says what it skipped in one
`csctl: ` line, `alerts` raises `record.unreadable`, `show` / `log` work or refuse in one line.
Nothing here may end in a traceback or an "internal error".
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csctl.domain.tickets import CHOICES, MOVES
from tests.conftest import NOW, Invoke, snapshot

LATER = "2026-11-23T10:30:00+08:00"
EARLIER = "2026-11-23T09:00:00+08:00"
BLOCK = "\n[[events]]\n"
CRASH = ("Traceback", "internal error")


# ----- helpers ----------------------------------------------------------------------------

def en(invoke: Invoke, *args: str, who: str = "adm", now: str = NOW) -> Result:
    """csctl in English, acting as `who` at `now`."""
    return invoke("--lang", "en", *args, env={"CSCTL_AGENT": who, "CSCTL_NOW": now})


def ok(invoke: Invoke, *args: str, who: str = "adm", now: str = NOW) -> str:
    result = en(invoke, *args, who=who, now=now)
    assert result.exit_code == 0, (args, result.exit_code, result.stdout, result.stderr)
    return result.stdout


def no_crash(result: Result) -> None:
    for word in CRASH:
        assert word not in result.stderr, result.stderr
        assert word not in result.stdout, result.stdout


# The one line a command waiting for the lock prints besides its own (not an error).
WAITING = re.compile(r"waiting for the ledger lock \(.*\)…")


def csctl_lines(stderr: str) -> list[str]:
    """The `csctl: ` lines of stderr; any other line must be the lock-waiting notice."""
    lines = stderr.splitlines()
    others = [line for line in lines if not line.startswith("csctl: ")]
    assert all(WAITING.fullmatch(line) for line in others), stderr
    return [line for line in lines if line.startswith("csctl: ")]


def one_line(result: Result) -> str:
    """The one `csctl: ` line a failed (or warned) command prints on stderr."""
    no_crash(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("csctl: "), lines[0]
    return lines[0]


def new_ticket(invoke: Invoke, kind: str = "consultation", *extra: str, who: str = "wang") -> str:
    out = ok(invoke, "ticket", "new", "--kind", kind, "--channel", "phone", "--subject", "询问会员卡余额",
             *extra, who=who)
    return out.strip()


def ticket_path(ledger: Path, ticket_id: str) -> Path:
    day = ticket_id[2:8]
    return ledger / "records" / "tickets" / f"20{day[:2]}" / day[2:4] / f"{ticket_id}.toml"


def edit_event(path: Path, index: int, change: Callable[[str], str]) -> None:
    """Change the text of the `index`-th `[[events]]` block of a record file."""
    head, *events = path.read_text(encoding="utf-8").split(BLOCK)
    events[index] = change(events[index])
    path.write_text(BLOCK.join([head, *events]), encoding="utf-8")


def event_lines(path: Path) -> list[int]:
    """The line number of each `[[events]]` header."""
    return [n for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1)
            if line == "[[events]]"]


# ----- 1. malformed histories never blind the readers ----------------------------------------

def _no_events(invoke: Invoke, ledger: Path) -> tuple[str, int]:
    ticket_id = new_ticket(invoke)
    path = ticket_path(ledger, ticket_id)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index(BLOCK)] + "\n", encoding="utf-8")
    return ticket_id, 0


def _judged(invoke: Invoke, ledger: Path) -> str:
    ticket_id = new_ticket(invoke, "complaint")
    ok(invoke, "ticket", "judge", ticket_id, "--invalid", "--explanation", "商品无质量问题", who="lead")
    return ticket_id


def _judged_without_verdict(invoke: Invoke, ledger: Path) -> tuple[str, int]:
    ticket_id = _judged(invoke, ledger)
    edit_event(ticket_path(ledger, ticket_id), 1, lambda block: re.sub(r"(?m)^verdict = .*\n", "", block))
    return ticket_id, 1


def _judged_maybe(invoke: Invoke, ledger: Path) -> tuple[str, int]:
    ticket_id = _judged(invoke, ledger)
    edit_event(ticket_path(ledger, ticket_id), 1,
               lambda block: re.sub(r'(?m)^verdict = .*$', 'verdict = "maybe"', block))
    return ticket_id, 1


def _called_back(invoke: Invoke, ledger: Path, old: str, new: str) -> tuple[str, int]:
    ticket_id = new_ticket(invoke, "complaint", "--take")
    ok(invoke, "ticket", "resolve", ticket_id, "--solution", "已补发", who="wang")
    ok(invoke, "ticket", "callback", ticket_id, "--accepted", "--satisfaction", "5", who="wang")
    path = ticket_path(ledger, ticket_id)
    actions = re.findall(r'(?m)^action = "(\w+)"$', path.read_text(encoding="utf-8"))
    assert actions == ["created", "taken", "resolved", "callback"]

    def change(block: str) -> str:
        assert old in block
        return block.replace(old, new)

    edit_event(path, 3, change)
    return ticket_id, 3


def _bogus_outcome(invoke: Invoke, ledger: Path) -> tuple[str, int]:
    return _called_back(invoke, ledger, 'outcome = "accepted"', 'outcome = "bogus"')


def _satisfaction_9(invoke: Invoke, ledger: Path) -> tuple[str, int]:
    return _called_back(invoke, ledger, "satisfaction = 5", "satisfaction = 9")


def _judged_consultation(invoke: Invoke, ledger: Path) -> tuple[str, int]:
    ticket_id = new_ticket(invoke)
    path = ticket_path(ledger, ticket_id)
    path.write_text(path.read_text(encoding="utf-8") + f'{BLOCK}at = {NOW}\nby = "lead"\naction = "judged"\n'
                    'department = "质检部"\nverdict = "valid"\n', encoding="utf-8")
    return ticket_id, 1


def _frobbed(invoke: Invoke, ledger: Path) -> tuple[str, int]:
    ticket_id = new_ticket(invoke)
    ok(invoke, "ticket", "note", ticket_id, "客户稍后再来电", who="wang")
    edit_event(ticket_path(ledger, ticket_id), 1,
               lambda block: block.replace('action = "noted"', 'action = "frobbed"'))
    return ticket_id, 1


BROKEN: dict[str, Callable[[Invoke, Path], tuple[str, int]]] = {
    "no-events": _no_events,
    "judged-without-verdict": _judged_without_verdict,
    "verdict-maybe": _judged_maybe,
    "callback-outcome-bogus": _bogus_outcome,
    "callback-satisfaction-9": _satisfaction_9,
    "judged-consultation": _judged_consultation,
    "unknown-action": _frobbed,
}


class Broken:
    def __init__(self, invoke: Invoke, ledger: Path, case: str) -> None:
        self.good = [new_ticket(invoke), new_ticket(invoke, "complaint", who="adm")]
        self.id, self.index = BROKEN[case](invoke, ledger)
        self.path = ticket_path(ledger, self.id)
        self.relative = str(self.path.relative_to(ledger))
        assert self.path.is_file()


@pytest.fixture(params=sorted(BROKEN))
def broken(request: pytest.FixtureRequest, invoke: Invoke, ledger: Path) -> Broken:
    return Broken(invoke, ledger, request.param)


def test_check_names_the_bad_event_with_its_line(broken: Broken, invoke: Invoke) -> None:
    result = en(invoke, "check")
    no_crash(result)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    errors = [line for line in result.stdout.splitlines() if not line.endswith("(warning)")]
    assert errors, result.stdout
    assert all(line.startswith(f"{broken.relative}:") for line in errors), result.stdout
    pattern = re.compile(rf"{re.escape(broken.relative)}:(\d+): (.*)")
    found = [m for m in map(pattern.fullmatch, errors) if m]
    assert found, f"no `path:LINE: …` line: {errors}"
    headers = event_lines(broken.path)
    total = len(broken.path.read_text(encoding="utf-8").split("\n"))
    named = rf"\bevents\.{broken.index}\b" if headers else r"\bevents\b"
    good = []
    for match in found:
        line, message = int(match.group(1)), match.group(2)
        if headers:
            start = headers[broken.index]
            stop = headers[broken.index + 1] if broken.index + 1 < len(headers) else total + 1
            within = start <= line < stop
        else:
            within = 1 <= line <= total
        if within and re.search(named, message):
            good.append(match.group(0))
    assert good, f"no line names events.{broken.index} at its own line: {found[0].group(0)!r}"


def test_list_skips_the_bad_ticket_and_says_so_once(broken: Broken, invoke: Invoke) -> None:
    result = en(invoke, "ticket", "list", "--format", "json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    listed = [row["id"] for row in json.loads(result.stdout)]
    assert sorted(listed) == sorted(broken.good)
    line = one_line(result)
    assert "could not be read" in line


def test_alerts_raise_the_unreadable_record(broken: Broken, invoke: Invoke) -> None:
    result = en(invoke, "alerts", "--format", "json")
    no_crash(result)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    rows = json.loads(result.stdout)
    assert {"alert": "record.unreadable", "record": broken.relative} in [
        {"alert": row["alert"], "record": row["record"]} for row in rows
    ], rows


@pytest.mark.parametrize("command", ["show", "log"])
@pytest.mark.parametrize("style", ["table", "json"])
def test_show_and_log_work_or_refuse_in_one_line(broken: Broken, invoke: Invoke, ledger: Path, command: str,
                                                 style: str) -> None:
    before = snapshot(ledger)
    result = en(invoke, "ticket", command, broken.id, "--format", style)
    if result.exit_code == 0:
        no_crash(result)
        assert broken.id in result.stdout or command == "log"
    else:
        assert result.exit_code == 2, (result.stdout, result.stderr)
        one_line(result)
    assert snapshot(ledger) == before


# ----- 2. random histories: readers answer 0 or 1, never crash ---------------------------------

AGENT_IDS = ["adm", "lead", "wang", "li", "sales", "nobody"]
KEYS = sorted({key for move in MOVES.values() for key in move.carries} | {"satisfaction", "retry_by"})
CHOICE_VALUES = sorted({str(v) for values in CHOICES.values() for v in values if isinstance(v, str)})
VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-2, 10),
    st.sampled_from(CHOICE_VALUES),
    st.sampled_from(AGENT_IDS),
)


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    actions = draw(st.lists(st.sampled_from(sorted(MOVES)), min_size=1, max_size=8))
    if draw(st.booleans()):
        actions[0] = "created"  # get past the first event more often than by chance
    events = []
    for action in actions:
        extras: dict[str, Any] = draw(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3))
        if draw(st.booleans()):  # usually carry what the move needs, often with a valid value
            for key in MOVES[action].carries:
                pool = sorted(map(str, CHOICES[key])) if key in CHOICES else AGENT_IDS
                extras.setdefault(key, draw(st.sampled_from(pool) | VALUES))
        events.append({"action": action, "by": draw(st.sampled_from(AGENT_IDS)), **extras})
    return events


@pytest.fixture
def random_ticket(invoke: Invoke, ledger: Path) -> Path:
    new_ticket(invoke)  # a good one beside it
    return ticket_path(ledger, new_ticket(invoke, "complaint"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=histories())
def test_random_histories_never_crash_the_readers(events: list[dict[str, Any]], random_ticket: Path,
                                                  invoke: Invoke) -> None:
    text = random_ticket.read_text(encoding="utf-8")
    head = text[:text.index(BLOCK)]
    start = dt.datetime.fromisoformat(NOW)
    blocks = []
    for minute, event in enumerate(events):
        at = (start + dt.timedelta(minutes=minute)).isoformat()
        extras = {k: v for k, v in event.items() if k not in ("action", "by")}
        blocks.append(f'at = {at}\nby = "{event["by"]}"\naction = "{event["action"]}"\n' + tomli_w.dumps(extras))
    random_ticket.write_text(head + "\n" + "\n".join(BLOCK.lstrip("\n") + b for b in blocks), encoding="utf-8")
    later = (start + dt.timedelta(days=3)).isoformat()
    for args in (("check",), ("alerts", "--format", "json"), ("ticket", "list", "--format", "json")):
        result = en(invoke, *args, now=later)
        no_crash(result)
        assert result.exit_code in (0, 1), (args, events, result.exit_code, result.stdout, result.stderr)


# ----- 3. the roster under concurrency -----------------------------------------------------

HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from csctl.storage.lock import ledger_lock
    with ledger_lock(Path(sys.argv[1]) / '.csctl' / 'lock', exclusive=True, timeout=5, what='test'):
        print('locked', flush=True)
        time.sleep(1.5)
""")


def _race(ledger: Path, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Run `commands` as csctl processes at once while another process holds the ledger lock."""
    env = {**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW}
    done = []
    with subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ledger)], stdout=subprocess.PIPE, text=True,
                          env=env) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        racers = [subprocess.Popen([sys.executable, "-m", "csctl", "--lang", "en", *args], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for args in commands]
        for args, racer in zip(commands, racers, strict=True):
            with racer:
                out, err = racer.communicate(timeout=30)
            done.append(subprocess.CompletedProcess(args, racer.returncode, out, err))
    assert holder.returncode == 0
    for proc in done:
        assert not any(word in proc.stderr for word in CRASH), proc.stderr
    return done


def _roster(invoke: Invoke) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in json.loads(ok(invoke, "agent", "list", "--all", "--format", "json"))}


def test_two_edits_of_one_person_at_once_both_land(ledger: Path, invoke: Invoke) -> None:
    done = _race(ledger, ["agent", "edit", "wang", "--name", "王小明"],
                 ["agent", "edit", "wang", "--staff-no", "9999"])
    assert [proc.returncode for proc in done] == [0, 0], [(p.stdout, p.stderr) for p in done]
    assert [proc.stdout for proc in done] == ["wang\n", "wang\n"]
    wang = _roster(invoke)["wang"]
    assert (wang["name"], wang["staff_no"], wang["role"], wang["email"]) == (
        "王小明", "9999", "agent", "wang@shop.example")
    assert en(invoke, "check").exit_code == 0


def test_two_admins_stepping_down_at_once_leave_one(ledger: Path, invoke: Invoke) -> None:
    ok(invoke, "agent", "add", "lead2", "--name", "二号管理员", "--role", "admin")
    done = _race(ledger, ["agent", "edit", "adm", "--role", "agent"],
                 ["--as", "lead2", "agent", "edit", "lead2", "--role", "agent"])
    winners = [proc for proc in done if proc.returncode == 0]
    assert len(winners) <= 1, [(p.args, p.stdout, p.stderr) for p in done]
    for proc in done:
        if proc.returncode != 0:
            assert proc.returncode in (2, 3), (proc.args, proc.returncode, proc.stderr)
            assert len(csctl_lines(proc.stderr)) == 1, proc.stderr
            assert proc.stdout == ""
    roster = _roster(invoke)
    admins = [who for who, row in roster.items() if row["role"] == "admin" and row["active"]]
    assert len(admins) == 2 - len(winners), roster
    assert admins
    result = en(invoke, "check")
    assert result.exit_code == 0, (result.stdout, result.stderr)


# ----- 4. forbidden words: warnings and failures ---------------------------------------------

def test_forbidden_words_never_hide_the_real_error_and_warn_after_a_write(ledger: Path, invoke: Invoke) -> None:
    closed = new_ticket(invoke, "consultation", "--take")
    ok(invoke, "ticket", "resolve", closed, "--solution", "已为您查询余额", who="wang")
    ok(invoke, "ticket", "close", closed, who="wang")
    solution = "这个我也不知道,您再问问"
    before = snapshot(ledger)

    refused = en(invoke, "ticket", "resolve", closed, "--solution", solution, who="wang")
    assert refused.exit_code == 2, (refused.stdout, refused.stderr)
    assert refused.stdout == ""
    line = one_line(refused)
    assert closed in line, line
    assert "closed" in line, line
    assert "forbidden" not in line, line
    assert "不知道" not in line, line
    assert snapshot(ledger) == before

    viewer = en(invoke, "ticket", "resolve", closed, "--solution", solution, "--strict", who="sales")
    assert viewer.exit_code == 3, (viewer.stdout, viewer.stderr)
    assert viewer.stdout == ""
    assert "viewer" in one_line(viewer)
    assert snapshot(ledger) == before

    ticket_id = new_ticket(invoke, "consultation", "--take")
    done = en(invoke, "ticket", "resolve", ticket_id, "--solution", solution, who="wang")
    assert done.exit_code == 0, (done.stdout, done.stderr)
    assert done.stdout == f"{ticket_id}\n"
    warning = one_line(done)
    assert "forbidden" in warning, warning
    assert "不知道" in warning, warning
    text = ticket_path(ledger, ticket_id).read_text(encoding="utf-8")
    assert f'solution = "{solution}"' in text
    assert 'status = "resolved"' in text


# ----- 5. permissions are kept -----------------------------------------------------------------

def test_a_write_keeps_the_permissions_of_the_file(ledger: Path, invoke: Invoke) -> None:
    ticket_id = new_ticket(invoke)
    path = ticket_path(ledger, ticket_id)
    path.chmod(0o600)
    ok(invoke, "ticket", "note", ticket_id, "客户要求保密", who="wang")
    assert "客户要求保密" in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    config = ledger / "csctl.toml"
    config.chmod(0o640)
    ok(invoke, "agent", "add", "mei", "--name", "小美", "--role", "agent")
    assert 'id = "mei"' in config.read_text(encoding="utf-8")
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


# ----- 6. a calendar with no working time ------------------------------------------------------

def test_a_calendar_without_working_hours_is_found_and_refused(ledger: Path, invoke: Invoke) -> None:
    new_ticket(invoke)
    config = ledger / "csctl.toml"
    text = re.sub(r'(?m)^(mon|tue|wed|thu|fri|sat|sun) = ".*"$', r'\1 = ""', config.read_text(encoding="utf-8"))
    text = re.sub(r"(?m)^workdays = \[[^\]]*\]\n", "", text)
    assert not re.search(r"(?m)^workdays =", text)
    assert '"08:30' not in text
    config.write_text(text, encoding="utf-8")
    before = snapshot(ledger)

    result = en(invoke, "check")
    no_crash(result)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert any(re.match(r"csctl\.toml:\d+: .*calendar.*hours", line) for line in result.stdout.splitlines()), (
        result.stdout)

    listing = en(invoke, "ticket", "list")
    assert listing.exit_code == 2, (listing.stdout, listing.stderr)
    assert listing.stdout == ""
    one_line(listing)
    assert snapshot(ledger) == before


# ----- 7. repairing duplicates with a clock behind the history ---------------------------------

def test_repair_with_a_clock_behind_the_duplicate_changes_nothing(ledger: Path, invoke: Invoke) -> None:
    ticket_id = new_ticket(invoke)
    ok(invoke, "ticket", "note", ticket_id, "一小时后回电", who="wang", now=LATER)
    path = ticket_path(ledger, ticket_id)
    copy = path.parent.parent / "10" / path.name  # a duplicate, as a merge may leave one
    copy.parent.mkdir(parents=True)
    shutil.copy2(path, copy)
    assert en(invoke, "check", now=LATER).exit_code == 1
    before = snapshot(ledger)

    result = en(invoke, "check", "--repair-duplicates", now=EARLIER)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "clock" in one_line(result)
    assert snapshot(ledger) == before


# ----- 8. a broken phrase book ----------------------------------------------------------------

def test_a_script_with_a_stray_brace_is_named(ledger: Path, invoke: Invoke) -> None:
    phrases = ledger / "templates" / "phrases.toml"
    text, count = re.subn(r'(?m)^(closing_goodbye) = ".*"$', r'\1 = "您好{"', phrases.read_text(encoding="utf-8"))
    assert count == 1
    phrases.write_text(text, encoding="utf-8")
    before = snapshot(ledger)

    result = en(invoke, "phrases")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "templates/phrases.toml" in one_line(result)

    check = en(invoke, "check")
    no_crash(check)
    assert check.exit_code == 1, (check.stdout, check.stderr)
    assert any(line.startswith("templates/phrases.toml") for line in check.stdout.splitlines()), check.stdout
    assert snapshot(ledger) == before


# ----- 9. a `.csctl` that is a file ------------------------------------------------------------

@pytest.mark.parametrize("args", [["fmt"], ["fmt", "--check"]])
def test_fmt_with_a_cache_that_is_a_file_fails_in_one_line(ledger: Path, invoke: Invoke, args: list[str]) -> None:
    new_ticket(invoke)
    shutil.rmtree(ledger / ".csctl", ignore_errors=True)
    (ledger / ".csctl").write_text("not a folder\n", encoding="utf-8")
    before = snapshot(ledger)
    result = en(invoke, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    one_line(result)
    assert snapshot(ledger) == before
    assert (ledger / ".csctl").read_text(encoding="utf-8") == "not a folder\n"
