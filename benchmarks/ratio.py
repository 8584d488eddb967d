"""csctl commands against the floor, run in turns, for a machine that other work shares.

    python benchmarks/ratio.py --ledger DIR [--ledger DIR ...] [--runs R] [--now T] [--import-floor]
                               COMMAND [COMMAND ...]

`run.py` measures each figure's runs one after another, so a slow spell of a
shared machine can fall on one figure and not on the floor it is divided by.
Here every round runs the floor of `run.py` and then each COMMAND (a csctl
command line in one argument, e.g. "report monthly") once, after one round
that is not counted (it warms the page cache and brings the index up to the
files). It prints the median and the fastest of each, and the ratio of the
medians to the floor's, as a markdown table. With `--import-floor`, the floor
is `run.py`'s import floor, for one-record commands (give read-only ones: the
ledger is measured as it is, not a copy).

With several `--ledger`s, each round measures each ledger in turn (its floor,
then the commands), and the table has their columns side by side: how a
figure grows from one ledger to another (a year of history against three, say:
`generate.py --years`), with a slow spell falling on all of them alike.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
from pathlib import Path

from run import DEFAULT_NOW, FLOOR, IMPORT_FLOOR, Bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ledger", type=Path, required=True, action="append",
                        help="A ledger to measure (as it is); give several to compare them.")
    parser.add_argument("--runs", type=int, default=9, help="Rounds counted; the median is shown.")
    parser.add_argument("--now", default=DEFAULT_NOW, help=f"CSCTL_NOW for every command (default {DEFAULT_NOW}).")
    parser.add_argument("--import-floor", action="store_true", help="Divide by the import floor instead.")
    parser.add_argument("commands", nargs="+", metavar="COMMAND", help='A csctl command line, e.g. "alerts".')
    options = parser.parse_args()

    benches = [Bench(ledger.resolve(), options.runs, options.now) for ledger in options.ledger]
    floor_name = (f"import floor: `python -c \"{IMPORT_FLOOR}\"`" if options.import_floor
                  else "floor: list + read every record file")
    names = [floor_name, *(f"`csctl {command}`" for command in options.commands)]
    times: list[dict[str, list[float]]] = [{name: [] for name in names} for _ in benches]
    try:
        for round_number in range(options.runs + 1):
            print(f"  round {round_number} of {options.runs} …", file=sys.stderr, flush=True)
            for bench, measured in zip(benches, times, strict=True):
                floor = ([sys.executable, "-c", IMPORT_FLOOR] if options.import_floor
                         else [sys.executable, "-c", FLOOR, str(bench.root / "records")])
                jobs = [floor, *([str(bench.csctl), *shlex.split(command)] for command in options.commands)]
                for name, args in zip(names, jobs, strict=True):
                    seconds, _ = bench.process(args, ok=(0, 1))  # (`alerts` and `check` exit 1 on what they find)
                    if round_number:
                        measured[name].append(seconds)
    finally:
        for bench in benches:
            bench.close()
    for bench in benches:
        print(f"{len(bench.files)} record files in {bench.root}")
    print(f"{options.runs} rounds, each command after the floor{', each ledger in turn' if len(benches) > 1 else ''}")
    print()
    print("| figure |" + "".join(" median s | fastest s | × floor |" for _ in benches))
    print("|---|" + "---:|---:|---:|" * len(benches))
    for name in names:
        cells = []
        for measured in times:
            median, floor_median = statistics.median(measured[name]), statistics.median(measured[floor_name])
            cells.append(f" {median:.3f} | {min(measured[name]):.3f} | {median / floor_median:.2f} |")
        print(f"| {name} |" + "".join(cells))


if __name__ == "__main__":
    main()
