"""Core read and start-up costs, against their floors.

    python benchmarks/bench_core.py [--records 10000] [--runs 5]

Writes N ticket-sized records through csctl's own store into a temporary
ledger, then times, each as the median of several runs:

- the floor: listing and reading every record file's bytes in one process;
- parsing every file with rtoml and with the standard tomllib (the reason the
  store reads with rtoml), and rtoml + pydantic validation;
- `csctl check` on the whole ledger, as a process;
- `csctl alerts` and `csctl ticket list --open`, which read every ticket;
- the import floor (`python -c "import click, tomli_w; from pydantic import
  BaseModel"`) and the one-record commands `agent list`, `ticket show` and
  `ticket new`, as processes.

It prints each figure and its ratio to its floor. Speed is measured here,
never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import rtoml

from csctl.models.base import Event
from csctl.models.kinds import TICKET
from csctl.models.records import Ticket
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store

CSCTL = [sys.executable, "-m", "csctl"]


def make_ledger(root: Path, count: int) -> None:
    subprocess.run([*CSCTL, "init", str(root), "--admin", "adm", "--name", "管理员", "--no-git"],
                   check=True, capture_output=True)
    subprocess.run([*CSCTL, "--ledger", str(root), "--as", "adm", "agent", "add", "wang",
                    "--name", "小王", "--role", "agent"], check=True, capture_output=True)
    store = Store(Ledger(root))
    tz = store.ledger.config.tz
    start = dt.datetime(2024, 1, 1, 9, 0, tzinfo=tz)
    for index in range(count):
        created = start + dt.timedelta(minutes=157 * index)
        events = [Event(at=created, by="wang", action="created"), Event(at=created, by="wang", action="taken")]
        events += [Event(at=created + dt.timedelta(minutes=9 * step), by="wang", action="noted",
                         text="已联系买家,核实物流信息,等待快递网点回复") for step in range(1, 7)]

        def build(record_id: str, created: dt.datetime = created, events: list[Event] = events) -> Ticket:
            return Ticket(
                id=record_id, created=created, kind="complaint", channel="phone",  # type: ignore[arg-type]
                subject="快递显示已签收但买家没收到,要求尽快处理", region="杭州", assignee="wang", status="assigned",
                description="买家来电:订单物流显示已签收,本人未收到包裹,要求尽快处理。" * 2,
                phone="13857123456", events=[e.model_dump(exclude_none=True) for e in events],  # type: ignore[misc]
            )

        store.create(TICKET, created, build)


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def process(args: list[str], env: dict[str, str]) -> Callable[[], object]:
    return lambda: subprocess.run(args, env=env, capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="csctl-bench-"))
    try:
        root = work / "ledger"
        print(f"writing {options.records} ticket records through the store …", file=sys.stderr)
        make_ledger(root, options.records)
        files = sorted(str(p) for p in (root / "records").rglob("*.toml"))
        size = statistics.mean(os.path.getsize(f) for f in files)
        texts = [Path(f).read_text(encoding="utf-8") for f in files]

        def read_all() -> None:
            for path in (root / "records").rglob("*.toml"):
                path.read_bytes()

        env = {**os.environ, "CSCTL_LEDGER": str(root), "CSCTL_AGENT": "adm"}
        floor = median_seconds(read_all, options.runs)
        figures = [
            ("floor: list + read every file", floor, floor),
            ("parse all: rtoml", median_seconds(lambda: [rtoml.loads(t) for t in texts], options.runs), floor),
            ("parse all: tomllib", median_seconds(lambda: [tomllib.loads(t) for t in texts], options.runs), floor),
            ("parse + validate all (rtoml, pydantic)",
             median_seconds(lambda: [Ticket.model_validate(rtoml.loads(t)) for t in texts], options.runs), floor),
            ("csctl check (process)", median_seconds(process([*CSCTL, "check"], env), options.runs), floor),
            ("csctl alerts (process)", median_seconds(process([*CSCTL, "alerts"], env), options.runs), floor),
            ("csctl ticket list --open (process)",
             median_seconds(process([*CSCTL, "ticket", "list", "--open"], env), options.runs), floor),
        ]
        import_floor = median_seconds(
            process([sys.executable, "-c", "import click, tomli_w; from pydantic import BaseModel"], env),
            options.runs)
        figures += [
            ("import floor (python -c 'import click, tomli_w, pydantic')", import_floor, import_floor),
            ("csctl agent list (process)", median_seconds(process([*CSCTL, "agent", "list"], env), options.runs),
             import_floor),
            ("csctl --help (process)", median_seconds(process([*CSCTL, "--help"], env), options.runs),
             import_floor),
            ("csctl ticket show (process)",
             median_seconds(process([*CSCTL, "ticket", "show", Path(files[-1]).stem], env), options.runs),
             import_floor),
            ("csctl ticket new (process)",
             median_seconds(process([*CSCTL, "ticket", "new", "--kind", "consultation", "--channel", "phone",
                                     "--subject", "尺码咨询"], env), options.runs), import_floor),
        ]
        print(f"{len(files)} records, {size:.0f} bytes each on average; median of {options.runs} runs")
        print(f"{'measure':58} {'seconds':>9} {'µs/file':>9} {'× floor':>8}")
        for name, seconds, base in figures:
            per_file = f"{seconds / len(files) * 1e6:9.1f}" if base is floor else f"{'':9}"
            print(f"{name:58} {seconds:9.3f} {per_file} {seconds / base:8.2f}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
