"""csctl commands against the floor, run in turns, for a machine that other work shares.

    python benchmarks/ratio.py --ledger DIR [--runs R] [--now T] [--import-floor] COMMAND [COMMAND ...]

`run.py` measures each figure's runs one after another, so a slow spell of a
shared machine can fall on one figure and not on the floor it is divided by.
Here every round runs the floor of `run.py` and then each COMMAND (a csctl
command line in one argument, e.g. "report monthly") once, after one round
that is not counted (it warms the page cache and brings the index up to the
files). It prints the median and the fastest of each, and the ratio of the
medians to the floor's, as a markdown table. With `--import-floor`, the floor
is `run.py`'s import floor, for one-record commands (give read-only ones: the
ledger is measured as it is, not a copy).
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
    parser.add_argument("--ledger", type=Path, required=True, help="The ledger to measure (as it is).")
    parser.add_argument("--runs", type=int, default=9, help="Rounds counted; the median is shown.")
    parser.add_argument("--now", default=DEFAULT_NOW, help=f"CSCTL_NOW for every command (default {DEFAULT_NOW}).")
    parser.add_argument("--import-floor", action="store_true", help="Divide by the import floor instead.")
    parser.add_argument("commands", nargs="+", metavar="COMMAND", help='A csctl command line, e.g. "alerts".')
    options = parser.parse_args()

    bench = Bench(options.ledger.resolve(), options.runs, options.now)
    jobs = ({f"import floor: `python -c \"{IMPORT_FLOOR}\"`": [sys.executable, "-c", IMPORT_FLOOR]}
            if options.import_floor else
            {"floor: list + read every record file": [sys.executable, "-c", FLOOR, str(bench.root / "records")]})
    jobs.update({f"`csctl {command}`": [str(bench.csctl), *shlex.split(command)] for command in options.commands})
    times: dict[str, list[float]] = {name: [] for name in jobs}
    try:
        for round_number in range(options.runs + 1):
            print(f"  round {round_number} of {options.runs} …", file=sys.stderr, flush=True)
            for name, args in jobs.items():
                seconds, _ = bench.process(args, ok=(0, 1))  # (`alerts` and `check` exit 1 on what they find)
                if round_number:
                    times[name].append(seconds)
    finally:
        bench.close()
    floor = statistics.median(next(iter(times.values())))
    print(f"{len(bench.files)} record files in {bench.root}; {options.runs} rounds, each command after the floor")
    print()
    print("| figure | median s | fastest s | × floor |")
    print("|---|---:|---:|---:|")
    for name, measured in times.items():
        print(f"| {name} | {statistics.median(measured):.3f} | {min(measured):.3f} | "
              f"{statistics.median(measured) / floor:.2f} |")


if __name__ == "__main__":
    main()
