"""Progress on long loops: the CLI shows a bar on a terminal's stderr; everyone else (cron, pipes,
tests, library callers) gets the items back unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

# (the items, what is being done) -> a context whose value iterates the items.
Progress = Callable[[Sequence[Any], str], AbstractContextManager[Iterable[Any]]]
# Loops shorter than this finish before a bar would be read.
SHOWN_FROM = 2000


def quiet(items: Sequence[Any], label: str) -> AbstractContextManager[Iterable[Any]]:
    return nullcontext(items)


def shown(progress: Progress, items: Sequence[Any], label: str) -> AbstractContextManager[Iterable[Any]]:
    """`progress` over `items` when there are enough of them for a bar to be read, else the items."""
    return (progress if len(items) >= SHOWN_FROM else quiet)(items, label)
