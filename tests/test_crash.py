"""Nothing lost when a write is cut short: SIGKILL at random moments, a stop at every step of the
writer (the `CSCTL_TEST_CRASH_AT` hook), and a disk that fails (ENOSPC, EIO).

The figures (issue #9): `pytest tests/test_crash.py -k random_kills -s` prints the kills made and
what they hit; `pytest -m slow tests/test_crash.py` runs 10,000 of them.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from csctl.models.kinds import KINDS
from csctl.storage.atomic import CRASH_EXIT, CRASH_HOOK
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store
from tests.conftest import NOW, Invoke

TICKETS = Path("records/tickets/2026/11")
NEW_TICKET = ["ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", "快递三天未到",
              "--urgency", "high", "--description", "买家来电:运单显示派送中,三天未更新"]


def files_of(root: Path) -> dict[str, bytes]:
    """Every file of the ledger (git's and the cache's aside) with its bytes."""
    out = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] not in (".git", ".csctl"):
            out[str(relative)] = path.read_bytes()
    return out


def is_temp(relative: str) -> bool:
    return Path(relative).name.startswith(".") and relative.endswith(".tmp")


def new_ticket(invoke: Invoke, *extra: str) -> str:
    result = invoke(*NEW_TICKET, *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def every_record_reads(root: Path) -> None:
    store = Store(Ledger(root))
    for kind, path in store.iter_paths(KINDS.values()):
        store.load(kind, path)
    assert store.ledger.config.team  # csctl.toml too


# ----- one writer -------------------------------------------------------------------------------

# Where bytes may reach the disk other than through `csctl.storage.atomic`: the lock file (opened,
# never written) alone.
WRITERS_ALLOWED = {"csctl/storage/atomic.py", "csctl/storage/lock.py"}
PACKAGE = Path(__file__).resolve().parent.parent / "csctl"


def _writes(call: ast.Call) -> str | None:
    """What a call is, if it can put bytes on disk or move a file (`os.replace`, `.write_text`, …)."""
    func = call.func
    if isinstance(func, ast.Attribute):
        if func.attr in ("write_text", "write_bytes", "touch", "symlink_to", "hardlink_to"):
            return func.attr
        if isinstance(func.value, ast.Name) and func.value.id in ("os", "shutil") and func.attr in (
                "open", "replace", "rename", "renames", "link", "symlink", "copy", "copyfile", "copy2", "move",
                "copytree"):
            return f"{func.value.id}.{func.attr}"
    if isinstance(func, ast.Name) and func.id == "open":
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        reading = mode is None or (isinstance(mode, ast.Constant) and isinstance(mode.value, str)
                                   and set(mode.value) <= {"r", "b", "t"})
        if not reading:
            return "open"
    return None


def test_every_file_is_written_by_the_one_atomic_writer() -> None:
    """Records, csctl.toml, `--output` files, hooks: all through write_atomic or create_exclusive."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = str(path.relative_to(PACKAGE.parent))
        if relative in WRITERS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and (what := _writes(node)):
                found.append(f"{relative}:{node.lineno}: {what}")
    assert found == []


# ----- a stop at every step of the writer ------------------------------------------------------

@dataclass(frozen=True)
class CrashCase:
    """A command to cut short at each of its steps; `prepare` readies the ledger and gives its arguments."""

    name: str
    prepare: Callable[[Invoke], list[str]]
    # A write in the same folder after the crash (default: the same command again).
    next_write: list[str] | None = None


def _note(invoke: Invoke) -> list[str]:
    ticket = new_ticket(invoke)
    assert invoke("ticket", "note", ticket, "第一条备注").exit_code == 0
    return ["ticket", "note", ticket, "已联系快递网点,\n网点称明天派送"]


def _follow_up(invoke: Invoke) -> list[str]:
    return [*NEW_TICKET, "--follows", new_ticket(invoke)]


def _remit_paid(invoke: Invoke) -> list[str]:
    ordered = invoke("remit", "new", "--buyer", "tb_小雨", "--item", "LY2611-03:M:2",
                     "--address", "杭州市西湖区文三路 1 号", "--amount", "288.00")
    assert ordered.exit_code == 0, ordered.stderr
    return ["remit", "paid", ordered.stdout.strip(), "--date", "2026-11-23", "--method", "网银转账",
            "--bank", "工商银行", "--amount", "288.00"]


def _agent_add(invoke: Invoke) -> list[str]:
    return ["agent", "add", "zhao", "--name", "小赵", "--role", "tech", "--staff-no", "3001"]


# One row per writing command; a new command that writes is one more row.
CRASH_CASES = [
    CrashCase("ticket new", lambda invoke: NEW_TICKET),
    CrashCase("ticket note", _note),
    CrashCase("ticket new --follows", _follow_up),  # two files: the new ticket and its origin
    CrashCase("remit paid", _remit_paid),
    CrashCase("agent add", _agent_add, ["agent", "add", "qian", "--name", "小钱", "--role", "agent"]),  # csctl.toml
]


def _same_modulo_new_ids(crashed: dict[str, bytes], after: dict[str, bytes],
                         before: dict[str, bytes]) -> dict[str, bytes]:
    """`crashed` with the IDs of its new records renamed to the reference run's (IDs carry random bits)."""
    made = sorted(set(crashed) - set(before))
    reference = sorted(set(after) - set(before))
    if len(made) != 1 or len(reference) != 1:
        return crashed
    old_id, new_id = Path(made[0]).stem, Path(reference[0]).stem
    return {path.replace(old_id, new_id): data.replace(old_id.encode(), new_id.encode())
            for path, data in crashed.items()}


def run_with_crash_at(step: int, ledger: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW,
           CRASH_HOOK: str(step)}
    return subprocess.run([sys.executable, "-m", "csctl", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("case", CRASH_CASES, ids=lambda case: case.name)
def test_a_stop_at_any_step_leaves_every_file_as_before_or_after(
    case: CrashCase, invoke: Invoke, ledger: Path, tmp_path: Path
) -> None:
    args = case.prepare(invoke)
    before = files_of(ledger)

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(ledger, target, ignore=shutil.ignore_patterns(".git"))
        return target

    reference = copy("reference")
    done = run_with_crash_at(0, reference, args)
    assert done.returncode == 0, done.stderr
    after = files_of(reference)
    assert after != before

    step = 0
    while True:
        step += 1
        assert step < 50, "the command never finished"
        crashed_root = copy(f"crash-{step}")
        run = run_with_crash_at(step, crashed_root, args)
        if run.returncode == 0:  # no step left to stop at: the command ran to its end
            break
        assert run.returncode == CRASH_EXIT, run.stderr
        assert run.stdout == ""  # nothing acknowledged
        crashed = files_of(crashed_root)
        temps = [name for name in crashed if is_temp(name)]
        assert not [name for name in temps if name.endswith(".toml")]
        kept = _same_modulo_new_ids({k: v for k, v in crashed.items() if k not in temps}, after, before)
        for name in sorted(set(kept) | set(before) | set(after)):
            assert kept.get(name) in (before.get(name), after.get(name)), f"step {step}: {name} is torn"
        every_record_reads(crashed_root)
        # The next write goes through, and leaves none of the dead writer's temp files behind.
        again = run_with_crash_at(0, crashed_root, case.next_write or args)
        assert again.returncode == 0, again.stderr
        assert not [name for name in files_of(crashed_root) if is_temp(name)], f"step {step}"
    assert step > 5  # at the least: create, write, fsync, replace or link, fsync the folder
    print(f"\n`{case.name}` stopped at each of its {step - 1} steps: every file the before or the after")


# ----- a disk that fails -----------------------------------------------------------------------

FAILURES = {"ENOSPC": (errno.ENOSPC, "the disk is full"), "EIO": (errno.EIO, os.strerror(errno.EIO))}
# Each step of a write that can fail: creating the temp file, writing, syncing, and putting it in
# place (a new record is linked, a changed file replaced).
WRITERS: dict[str, Callable[[Invoke], list[str]]] = {
    "ticket new": lambda invoke: NEW_TICKET, "ticket note": _note, "agent add": _agent_add,
}
STEPS = [(command, call) for command in WRITERS
         for call in ("open", "write", "fsync", "link" if command == "ticket new" else "replace")]


def _failing(number: int, name: str, real: Callable[..., object]) -> Callable[..., object]:
    def fail(*args: object, **kwargs: object) -> object:
        if name == "open" and not str(args[0]).endswith(".tmp"):
            return real(*args, **kwargs)  # only the temp file's creation fails, not reading or locking
        raise OSError(number, os.strerror(number))

    return fail


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize(("command", "call"), STEPS)
def test_a_failing_disk_is_one_line_exit_2_and_changes_nothing(
    command: str, call: str, failure: str, invoke: Invoke, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = WRITERS[command](invoke)
    before = files_of(ledger)
    number, reason = FAILURES[failure]
    with monkeypatch.context() as patch:
        patch.setattr(os, call, _failing(number, call, getattr(os, call)))
        result = invoke("--lang", "en", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("csctl: ")
    assert lines[0].endswith(f"cannot write: {reason}; the file was left as it was")
    assert files_of(ledger) == before  # no temp file either


def test_a_folder_that_cannot_be_synced_says_the_write_may_not_last(
    invoke: Invoke, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _note(invoke)
    path = next((ledger / TICKETS).glob("*.toml"))
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        result = invoke("--lang", "en", *args)
    assert result.exit_code == 2
    assert result.stderr == (f"csctl: {path}: written, but its folder could not be synced to disk "
                             f"({os.strerror(errno.EIO)}); it may not survive a power cut\n")
    assert "网点称明天派送" in path.read_text()  # the bytes are there, whole: it is durability in doubt


def test_a_short_write_is_completed(invoke: Invoke, ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`os.write` may take fewer bytes than given (a signal, a pipe-like mount): the rest follows."""
    args = _note(invoke)
    real_write = os.write
    calls: list[int] = []

    def write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real_write(fd, bytes(data[:7]))

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", write)
        result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    path = next((ledger / TICKETS).glob("*.toml"))
    assert path.read_text().endswith('text = """\n已联系快递网点,\n网点称明天派送"""\n')
    assert len(calls) > 10
    every_record_reads(ledger)


# ----- SIGKILL at random moments ------------------------------------------------------------------

# Imports csctl once, then forks one child per `ticket note` and SIGKILLs it after a random delay
# within the time a note takes; after each child, checks the file (in this process, no csctl code
# path shared with the child but the reading). Prints its figures as JSON.
KILLER = r"""
import datetime as dt, json, os, random, signal, sys, time
from pathlib import Path
from csctl.cli.main import cli
from csctl.models.kinds import TICKET
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store
from csctl.errors import RecordError

ledger, tickets, kills, seed = Path(sys.argv[1]), sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
folder = ledger / "records/tickets/2026/11"
errors = ledger.parent / "child-stderr.txt"

START = dt.datetime.fromisoformat("2026-11-23T10:00:00+08:00")

def note(ticket, text, second):
    pid = os.fork()
    if pid == 0:
        os.environ["CSCTL_NOW"] = (START + dt.timedelta(seconds=second)).isoformat()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.dup2(os.open(errors, os.O_WRONLY | os.O_CREAT | os.O_APPEND), 2)
        code = 1
        try:
            cli.main(["ticket", "note", ticket, text])
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        finally:
            os._exit(code)
    return pid

def notes_of(ticket):
    record = Store(Ledger(ledger)).read(TICKET, ticket)
    return [event.model_extra["text"] for event in record.events if event.action == "noted"]

def temps():
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]

# How long a note takes, to spread the kills over it; adjusted as the files grow, so that about one
# note in ten finishes (x0.95 on a finish, x1.0055 on a kill).
started = time.monotonic()
for n in range(5):
    os.waitpid(note(tickets[0], f"calibration {n}", n), 0)
span = (time.monotonic() - started) / 5

figures = dict(kills=0, finished=0, killed_with_temp_left=0, killed_and_written=0, killed_and_not_written=0,
               unparsable=0, acknowledged_lost=0, torn=0, temps_after_a_finished_write=0, other_exits=0,
               note_seconds=round(span, 4))
acknowledged = {ticket: notes_of(ticket) for ticket in tickets}
for attempt in range(kills):
    ticket = tickets[attempt % len(tickets)]
    text = f"第{attempt}条:买家来电催件 {rng.random():.6f}"
    before = (folder / f"{ticket}.toml").read_bytes()
    left_before = set(temps())
    pid = note(ticket, text, 5 + attempt)
    time.sleep(rng.uniform(0, span * 1.2))
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    try:
        now = notes_of(ticket)
    except RecordError:
        figures["unparsable"] += 1
        continue
    after = (folder / f"{ticket}.toml").read_bytes()
    kept = now[:len(acknowledged[ticket])] == acknowledged[ticket]
    figures["acknowledged_lost"] += not kept
    if os.WIFEXITED(status):
        figures["finished"] += 1
        figures["other_exits"] += os.WEXITSTATUS(status) != 0
        figures["temps_after_a_finished_write"] += bool(temps())
        whole = now == acknowledged[ticket] + [text] and after.startswith(before)
    else:
        figures["kills"] += 1
        figures["killed_with_temp_left"] += bool(set(temps()) - left_before)  # killed inside the write
        if now == acknowledged[ticket] + [text]:
            figures["killed_and_written"] += 1  # killed after the rename: written whole
            whole = after.startswith(before)
        else:
            figures["killed_and_not_written"] += 1
            whole = after == before
    figures["torn"] += not whole
    span *= 0.95 if os.WIFEXITED(status) else 1.0055
    acknowledged[ticket] = now
# The next write after all that leaves no temp file behind.
os.waitpid(note(tickets[0], "收尾", kills + 10), 0)
figures["temps_after_the_last_write"] = len(temps())
print(json.dumps(figures))
"""


def random_kills(ledger: Path, invoke: Invoke, kills: int, seed: int) -> dict[str, int]:
    tickets = [new_ticket(invoke) for _ in range(10)]
    env = {**os.environ, "CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_LOCK_TIMEOUT": "20"}
    killer = subprocess.run([sys.executable, "-c", KILLER, str(ledger), ",".join(tickets), str(kills), str(seed)],
                            env=env, capture_output=True, text=True, timeout=3600)
    assert killer.returncode == 0, killer.stderr
    figures: dict[str, int] = json.loads(killer.stdout)
    print(f"\nSIGKILL at random moments of `ticket note`: {figures}")
    errors = ledger.parent / "child-stderr.txt"
    assert not errors.exists() or errors.read_text() == ""
    return figures


def assert_nothing_lost(figures: dict[str, int], kills: int) -> None:
    assert figures["kills"] + figures["finished"] == kills
    for count in ("unparsable", "acknowledged_lost", "torn", "temps_after_a_finished_write", "other_exits",
                  "temps_after_the_last_write"):
        assert figures[count] == 0, count
    # Some kills came after the rename (the write, then the command's last steps): written whole. How
    # many land inside the write itself depends on the disk's fsync; the step sweep stops at each.
    assert figures["killed_and_written"] > 0


def test_random_kills_during_ticket_note_lose_nothing(ledger: Path, invoke: Invoke) -> None:
    figures = random_kills(ledger, invoke, kills=1000, seed=9)
    assert_nothing_lost(figures, 1000)
    assert figures["kills"] >= 500
    every_record_reads(ledger)
    result = invoke("check")
    assert result.exit_code == 0, result.stdout


@pytest.mark.slow
def test_ten_thousand_random_kills_lose_nothing(ledger: Path, invoke: Invoke) -> None:
    figures = random_kills(ledger, invoke, kills=10_000, seed=10)
    assert_nothing_lost(figures, 10_000)
    every_record_reads(ledger)
    result = invoke("check")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_the_crash_hook_is_read_once_and_off_unless_set() -> None:
    """The hook costs a test of one int when unset, and is set only from the environment at import."""
    probe = "import csctl.storage.atomic as a; print(a._crash_at)"
    env = {k: v for k, v in os.environ.items() if k != CRASH_HOOK}
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout == "0\n"
    env[CRASH_HOOK] = "3"
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout == "3\n"
