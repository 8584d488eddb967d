"""Spread a CPU-bound map over processes: reading and judging 100k record files is Python work that one
core does at ~100 µs a file, and a team's machine has several.

Workers are forked, with the function in a global: a closure over the ledger's settings need not (and
often cannot) be pickled, and a forked worker starts without importing anything again. Where fork does not
exist, or there is too little work to pay for starting workers, the map runs here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from csctl.progress import Progress, quiet, shown

T = TypeVar("T")
R = TypeVar("R")

# Items handed to a worker at a time, and how many items make a pool worth its start.
CHUNK = 250
PARALLEL_FROM = 2000
_WORK: Callable[[Any], Any] | None = None


def default_jobs() -> int:
    """The processes a big read may use: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def map_in_processes(function: Callable[[T], R], items: Sequence[T], jobs: int, label: str,
                     progress: Progress = quiet) -> Iterator[R]:
    """`function(item)` for each item, in order, by `jobs` processes when it pays; results are yielded as
    they come, so the caller's own work (writing them down) overlaps the workers'."""
    import multiprocessing  # here: most commands never read enough to start a pool

    if jobs < 2 or len(items) < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        with shown(progress, items, label) as each:
            yield from (function(item) for item in each)
        return
    global _WORK
    _WORK = function
    chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_leave_interrupts_to_the_parent) as pool:
            results = pool.imap(_run_chunk, chunks)
            # The bar counts chunks; a read worth a pool is long enough for one (PARALLEL_FROM >= SHOWN_FROM).
            with progress(chunks, label) as each_chunk:
                for _ in each_chunk:
                    yield from next(results)
    finally:
        _WORK = None


def _leave_interrupts_to_the_parent() -> None:
    """Ctrl-C reaches every process of the group: the parent stops the pool and says so once, where each
    worker would print its own traceback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(chunk: Sequence[Any]) -> list[Any]:
    assert _WORK is not None
    return [_WORK(item) for item in chunk]
