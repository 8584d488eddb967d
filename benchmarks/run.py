"""How long csctl's commands take on a big ledger, against what reading the files costs.

    python benchmarks/run.py --records N [--runs R] [--ledger DIR] [--seed S] [--keep]

Without `--ledger`, writes a ledger of N records with `benchmarks/generate.py`
(`--no-fsync`) into a temporary folder first, and removes it after (`--keep`
keeps it and prints where). With `--ledger`, measures that ledger as it is
(one `generate.py` made, whose clock `--now` must match).

Each figure is the median of R runs of a whole process, started through the
console script `csctl` of the running Python's environment (the installed
entry point a team runs, not `python -m`), with the clock fixed by
`CSCTL_NOW` so the figures do not drift as the calendar moves:

- the floor: one Python process listing `records/` and reading every file's
  bytes (`os.scandir`, `read_bytes`), with the page cache warm — what any
  reader of every file must pay;
- with no cache (`.csctl/` deleted before each run): `alerts` (which reads
  every file for the index's facts), `check --jobs 1` (one process) and
  `check` (a process per core);
- with a warm cache (whatever the runs before left in `.csctl/`): `check`,
  then — after one unmeasured `alerts` fills in the facts `check` does not
  keep — `alerts`, the first `report monthly` since the index was built
  (each run with the briefs a report keeps dropped first: it reads its
  files), then `report daily`, `report monthly`, `report agents` (with the
  briefs the first kept), `ticket list --status new`, `ticket list
  --open`, and the questions about one agent's tickets, one buyer's
  remittances, one order's remarks, one customer's history and the
  knowledge base's uses (`kb list`);
- the import floor, `python -c "import click, tomli_w; from pydantic import
  BaseModel"`, and the one-record commands `ticket show`, `ticket new`,
  `remark add` (the writing ones on a copy of the ledger, so the measured
  ledger never changes), `agent list` and `--help`;
- on that copy, `check` and `alerts` each after an `agent add` (a new hire:
  what an edit of the roster costs them);
- in this process, parsing every file with rtoml and with the standard
  tomllib, and rtoml plus pydantic validation (why the store reads with rtoml).

Prints a markdown table: seconds, µs per record file, the ratio to the floor
(to the import floor for one-record commands) and the peak memory of the child
process (ru_maxrss: the largest process, a worker of `check` included). Speed
is measured here, never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rtoml

import csctl
from csctl.models.kinds import KIND_BY_FOLDER

HERE = Path(__file__).resolve().parent
# The generator's default last day is 2026-11-20; the benchmark's clock is the next morning.
DEFAULT_NOW = "2026-11-21T09:00:00"
FLOOR = """\
import os, sys
def walk(folder):
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            yield from walk(entry.path)
        elif entry.name.endswith(".toml") and not entry.name.startswith("."):
            yield entry.path
total = 0
for path in walk(sys.argv[1]):
    with open(path, "rb") as f:
        total += len(f.read())
print(total)
"""
IMPORT_FLOOR = "import click, tomli_w; from pydantic import BaseModel"
# Starts every measured process, from a small process of its own: a child's ru_maxrss counts the memory
# of the process it was forked from, and this one holds little (about 10 MiB, less than any Python child).
RUNNER = """\
import json, os, subprocess, sys, tempfile, time
for line in sys.stdin:
    job = json.loads(line)
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(job["args"], env=job["env"], stdout=subprocess.DEVNULL, stderr=err,
                                 stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        print(json.dumps({"seconds": seconds, "peak_kib": usage.ru_maxrss, "code": child.returncode,
                          "stderr": err.read()[-2000:].decode(errors="replace")}), flush=True)
"""


@dataclass
class Figure:
    name: str
    seconds: float
    base: str  # "floor", "import" or "" (no ratio: the floor itself, or in-process figures)
    peak_kib: int | None
    per_file: bool


class Bench:
    def __init__(self, root: Path, runs: int, now: str) -> None:
        self.root = root
        self.runs = runs
        self.csctl = Path(sys.executable).parent / "csctl"
        if not self.csctl.exists():
            raise SystemExit(f"run.py: no console script at {self.csctl}: run with the Python of the virtual "
                             "environment csctl is installed in")
        self.env = {**os.environ, "CSCTL_LEDGER": str(root), "CSCTL_AGENT": "chen", "CSCTL_NOW": now,
                    "LANG": "C.UTF-8"}
        self.env.pop("CSCTL_DEBUG", None)
        self.figures: list[Figure] = []
        self.files = sorted(self._record_files())
        self.runner = subprocess.Popen([sys.executable, "-c", RUNNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)

    def close(self) -> None:
        assert self.runner.stdin is not None
        self.runner.stdin.close()
        self.runner.wait()

    def _record_files(self) -> list[Path]:
        return [path for folder in KIND_BY_FOLDER for path in (self.root / "records" / folder).rglob("*.toml")
                if not path.name.startswith(".")]

    # ----- running ------------------------------------------------------------------------------
    def process(self, args: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
                ) -> tuple[float, int]:
        """(wall seconds, peak memory in KiB) of one process; stops the benchmark if it failed."""
        assert self.runner.stdin is not None
        assert self.runner.stdout is not None
        self.runner.stdin.write(json.dumps({"args": args, "env": env or self.env}) + "\n")
        self.runner.stdin.flush()
        result = json.loads(self.runner.stdout.readline())
        if result["code"] not in ok:
            raise SystemExit(f"run.py: {' '.join(args)} exited {result['code']}:\n{result['stderr']}")
        return result["seconds"], result["peak_kib"]

    def measure(self, name: str, args: list[str] | Callable[[int], list[str]], base: str, *,
                before: Callable[[], None] | None = None, env: dict[str, str] | None = None,
                ok: tuple[int, ...] = (0,), per_file: bool = True) -> None:
        """The median seconds and the highest peak memory over the runs (`args` may differ by run)."""
        print(f"  {name} …", file=sys.stderr, flush=True)
        times, peaks = [], []
        for run in range(self.runs):
            if before is not None:
                before()
            seconds, peak = self.process(args(run) if callable(args) else args, env, ok)
            times.append(seconds)
            peaks.append(peak)
        self.figures.append(Figure(name, statistics.median(times), base, max(peaks), per_file))

    def in_process(self, name: str, action: Callable[[], object]) -> None:
        print(f"  {name} …", file=sys.stderr, flush=True)
        times = []
        for _ in range(self.runs):
            started = time.perf_counter()
            action()
            times.append(time.perf_counter() - started)
        self.figures.append(Figure(name, statistics.median(times), "floor", None, True))

    # ----- the figures --------------------------------------------------------------------------
    def run(self, parse: bool) -> None:
        csctl = str(self.csctl)
        self.process([sys.executable, "-c", FLOOR, str(self.root / "records")])  # warm the page cache
        self.measure("floor: list + read every record file", [sys.executable, "-c", FLOOR, str(self.root / "records")],
                     "")

        def no_cache() -> None:
            shutil.rmtree(self.root / ".csctl", ignore_errors=True)

        self.measure("`csctl alerts`, no cache (`.csctl/` deleted: reads every file)", [csctl, "alerts"], "floor",
                     before=no_cache, ok=(0, 1))
        self.measure("`csctl check --jobs 1`, no cache (one process)", [csctl, "check", "--jobs", "1"], "floor",
                     before=no_cache)
        self.measure("`csctl check`, no cache (a process per core)", [csctl, "check"], "floor", before=no_cache)
        self.measure("`csctl check`, warm cache", [csctl, "check"], "floor")
        # check keeps verdicts, not the readers' facts: one run of a reader fills them in, as cron would.
        self.process([csctl, "alerts"], ok=(0, 1))
        self.measure("`csctl alerts`, warm cache", [csctl, "alerts"], "floor", ok=(0, 1))

        def no_briefs() -> None:
            with sqlite3.connect(self.root / ".csctl" / "index.sqlite3") as db:
                db.execute("UPDATE files SET brief = NULL")

        # A report keeps the briefs of the files it reads (`csctl.domain.briefs`); the first one after the
        # index is built (or its briefs dropped) reads its files, the next ones their briefs.
        self.measure("`csctl report monthly`, first since the index was built (keeps its files' briefs)",
                     [csctl, "report", "monthly"], "floor", before=no_briefs)
        self.measure("`csctl report daily`", [csctl, "report", "daily"], "floor")
        self.measure("`csctl report monthly`", [csctl, "report", "monthly"], "floor")
        self.measure("`csctl report agents`", [csctl, "report", "agents"], "floor")
        self.measure("`csctl ticket list --status new`", [csctl, "ticket", "list", "--status", "new"], "floor")
        self.measure("`csctl ticket list --open`", [csctl, "ticket", "list", "--open"], "floor")
        # Questions about one agent, customer, order or buyer, answered from the facts the index keeps.
        for name, args in self.lookups():
            self.measure(f"`csctl {name}`", [csctl, *args], "floor")
        if parse:
            texts = [(KIND_BY_FOLDER[p.relative_to(self.root / "records").parts[0]].model,
                      p.read_text(encoding="utf-8")) for p in self.files]
            self.in_process("parse every file: rtoml (in process)", lambda: [rtoml.loads(t) for _, t in texts])
            self.in_process("parse every file: tomllib (in process)", lambda: [tomllib.loads(t) for _, t in texts])
            self.in_process("parse + validate every file: rtoml, pydantic (in process)",
                            lambda: [model.model_validate(rtoml.loads(t)) for model, t in texts])
        self.measure("import floor: `python -c \"import click, tomli_w; from pydantic import BaseModel\"`",
                     [sys.executable, "-c", IMPORT_FLOOR], "", per_file=False)
        ticket = next(p.stem for p in reversed(self.files) if p.stem.startswith("T-"))
        self.measure(f"`csctl ticket show {ticket}`", [csctl, "ticket", "show", ticket], "import", per_file=False)
        self.measure("`csctl agent list`", [csctl, "agent", "list"], "import", per_file=False)
        self.measure("`csctl --help`", [csctl, "--help"], "import", per_file=False)
        with tempfile.TemporaryDirectory(prefix="csctl-bench-copy-", dir=self.root.parent) as work:
            copy = Path(work) / "ledger"
            print("  copying the ledger for the writing commands …", file=sys.stderr, flush=True)
            copy_ledger(self.root, copy)
            env = {**self.env, "CSCTL_LEDGER": str(copy), "CSCTL_AGENT": "wang"}
            self.measure("`csctl ticket new …` (on a copy)",
                         [csctl, "ticket", "new", "--kind", "consultation", "--channel", "phone", "--subject",
                          "连衣裙M码和L码尺寸对比", "--description",
                          "买家来电咨询:身高165厘米,体重55公斤,穿M码还是L码?", "--take"],
                         "import", env=env, per_file=False)
            # Each run remarks a new shop order (a new remark file), as most remarks begin one.
            self.measure("`csctl remark add ORDER price_plain` (on a copy)",
                         lambda run: [csctl, "remark", "add", str(10**15 + run), "price_plain"], "import", env=env,
                         per_file=False)
            # A new hire, the commonest edit of the settings: check judges the remark files again (their
            # shapes read the roster), the readers read nothing again. Measured on the copy's own index: one
            # copied with the ledger holds the stamps of the original files (other inodes, other ctimes), so
            # each file it must read for a part would be read as new, and its other part with it.
            shutil.rmtree(copy / ".csctl", ignore_errors=True)
            self.process([csctl, "check"], env=env)
            self.process([csctl, "alerts"], env=env, ok=(0, 1))
            hires = iter(range(10**6))

            def hire() -> None:
                number = next(hires)
                self.process([csctl, "agent", "add", f"hire{number}", "--name", f"新人{number}", "--role", "agent"],
                             env={**env, "CSCTL_AGENT": "chen"})

            self.measure("`csctl check` after an `agent add` (on a copy)", [csctl, "check"], "floor", before=hire,
                         env=env)
            self.measure("`csctl alerts` after an `agent add` (on a copy)", [csctl, "alerts"], "floor", before=hire,
                         env=env, ok=(0, 1))

    def lookups(self) -> list[tuple[str, list[str]]]:
        """Listings of one agent's tickets, one buyer's remittances and one order's remarks, a customer's
        history and the knowledge base's uses, for IDs and names taken from the newest records."""
        def newest(folder: str, key: str) -> tuple[str, str]:
            for path in reversed(self.files):
                if path.relative_to(self.root / "records").parts[0] == folder:
                    found = tomllib.loads(path.read_text(encoding="utf-8"))
                    if found.get(key):
                        return path.stem, str(found[key])
            raise SystemExit(f"run.py: no record in records/{folder} with {key}")

        _, agent = newest("tickets", "assignee")
        _, buyer = newest("remittances", "buyer")
        order, _ = newest("remarks", "remarks")
        customer, _ = newest("customers", "name")
        return [(f"ticket list --agent {agent}", ["ticket", "list", "--agent", agent]),
                (f"remit list --buyer {buyer}", ["remit", "list", "--buyer", buyer]),
                (f"remark list --order {order}", ["remark", "list", "--order", order]),
                (f"customer show {customer}", ["customer", "show", customer]),
                ("kb list", ["kb", "list"])]

    # ----- the table ----------------------------------------------------------------------------
    def table(self) -> str:
        floor = next(f.seconds for f in self.figures if f.name.startswith("floor"))
        import_floor = next(f.seconds for f in self.figures if f.name.startswith("import floor"))
        lines = ["| figure | seconds | µs/file | × floor | peak MiB |", "|---|---:|---:|---:|---:|"]
        for figure in self.figures:
            base = {"floor": floor, "import": import_floor}.get(figure.base)
            ratio = f"{figure.seconds / base:.2f}" if base else "1.00" if figure.name.startswith(
                ("floor", "import floor")) else ""
            per_file = f"{figure.seconds / len(self.files) * 1e6:.1f}" if figure.per_file else ""
            peak = f"{figure.peak_kib / 1024:.0f}" if figure.peak_kib is not None else ""
            lines.append(f"| {figure.name} | {figure.seconds:.3f} | {per_file} | {ratio} | {peak} |")
        return "\n".join(lines)


def copy_ledger(source: Path, target: Path) -> None:
    """A copy to write in, files and all: a hard link would change each original's ctime, which csctl's
    index and git's both read as a change of the measured ledger."""
    shutil.copytree(source, target, symlinks=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="Size of the generated ledger.")
    parser.add_argument("--runs", type=int, default=3, help="Runs per figure; the median is shown.")
    parser.add_argument("--ledger", type=Path, help="Measure this ledger instead of generating one.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", default=DEFAULT_NOW, help=f"CSCTL_NOW for every command (default {DEFAULT_NOW}).")
    parser.add_argument("--keep", action="store_true", help="Keep the generated ledger.")
    parser.add_argument("--no-parse", action="store_true", help="Leave out the in-process parse figures.")
    options = parser.parse_args()

    made: Path | None = None
    if options.ledger is None:
        made = Path(tempfile.mkdtemp(prefix=f"csctl-bench-{options.records}-"))
        root = made / "ledger"
        print(f"writing {options.records} records with generate.py …", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--records", str(options.records), "--out",
                        str(root), "--seed", str(options.seed), "--no-fsync"], check=True)
    else:
        root = options.ledger.resolve()
        if not (root / "csctl.toml").is_file():
            raise SystemExit(f"run.py: {root}: no csctl.toml, not a ledger")
    # Bytecode for every module, as `pip install` writes it: where PYTHONDONTWRITEBYTECODE is set, an
    # editable install would otherwise compile each changed module again in every measured process.
    compileall.compile_dir(Path(csctl.__file__).parent, quiet=1)
    bench = Bench(root, options.runs, options.now)
    try:
        bench.run(parse=not options.no_parse)
        size = statistics.mean(p.stat().st_size for p in bench.files) if bench.files else 0
        head = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        print(f"{len(bench.files)} record files of {size:.0f} bytes on average in {root}; median of {options.runs} "
              f"run(s); csctl {head or '?'}, Python {platform.python_version()}, {os.cpu_count()} cores, "
              f"{dt.date.today()}\n")
        print(bench.table())
    finally:
        bench.close()
        if made is not None and not options.keep:
            shutil.rmtree(made)
        elif made is not None:
            print(f"\nledger kept in {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
