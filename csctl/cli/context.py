"""The one context object of a csctl run: ledger, store, acting person, clock, language."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from functools import cached_property, update_wrapper
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from csctl.domain import clock
from csctl.domain.clock import Moment, when_done
from csctl.errors import CsctlError, NotFound, RecordError, format_location
from csctl.i18n import msg
from csctl.models.config import DEFAULT_TIMEZONE
from csctl.progress import Progress, quiet
from csctl.storage.layout import index_wanted
from csctl.storage.ledger import Ledger, find_ledger

R = TypeVar("R")
RecordT = TypeVar("RecordT", bound="Record")

if TYPE_CHECKING:
    from csctl.models.base import Record
    from csctl.models.config import AgentEntry
    from csctl.models.kinds import Kind
    from csctl.storage.index import Index
    from csctl.storage.store import Store


class App:
    """Resolved lazily: `csctl init` needs no ledger, `check` needs no acting person."""

    def __init__(self, ledger_path: str | None, as_id: str | None, lang: str) -> None:
        self.ledger_path = ledger_path
        self.as_id = as_id
        self.lang = lang
        # The command being run ("csctl ticket new"), for autocommit messages.
        self.command: str | None = None

    @cached_property
    def ledger(self) -> Ledger:
        return find_ledger(self.ledger_path, os.environ, Path.cwd())

    @cached_property
    def store(self) -> Store:
        from csctl.storage.store import Store  # record models load only for commands on records

        return Store(self.ledger, progress_bar())

    @cached_property
    def actor(self) -> AgentEntry:
        from csctl.domain.auth import resolve_actor

        return resolve_actor(self.ledger.config, self.as_id, os.environ, self.ledger.root)

    def reader(self) -> AgentEntry | None:
        """The acting person if one is named or known; a reader need not be on the roster."""
        if self.as_id or os.environ.get("CSCTL_AGENT"):
            return self.actor
        try:
            return self.actor
        except CsctlError:
            return None

    def roster_id(self, agent_id: str) -> str:
        """An agent ID given as a filter, checked against the roster (a typo is exit 2, not an empty list)."""
        if self.ledger.config.agent(agent_id) is None:
            raise NotFound(msg("actor.unknown", who=agent_id))
        return agent_id

    @cached_property
    def index(self) -> Index | None:
        """The derived index, fresh, for commands that read many records; None when it is turned off
        (`CSCTL_NO_INDEX=1`) or cannot be written here (a read-only ledger is read file by file).
        Take it under the ledger's shared lock, so that what it selects is what is then read."""
        return self.index_of()

    def index_of(self, *kinds: Kind) -> Index | None:
        """The index with only `kinds` (default all) brought up to date: a command asking about
        remittances stats the remittances' folder, not the ledger."""
        import sqlite3

        from csctl.domain import indexing
        from csctl.parallel import default_jobs
        from csctl.storage.index import discard

        if not index_wanted():
            return None
        for attempt in range(2):
            try:
                return indexing.open_index(self.store, kinds, progress=progress_bar(), jobs=default_jobs())
            except sqlite3.DatabaseError as err:
                if attempt or "locked" in str(err):
                    return None
                discard(self.ledger.cache)  # damaged: built again from the files, once
            except (sqlite3.Error, OSError):
                return None
        return None

    def skipped(self, kind_name: str, broken: list[RecordError]) -> None:
        """Say on stderr that a listing left out files it could not read (one line, for the first)."""
        if broken:
            first = broken[0]
            where = format_location(Path(self.ledger.relative(first.path)), first.line, first.message)
            click.echo("csctl: " + msg("records.skipped", count=len(broken), kind=msg(f"kind.{kind_name}"),
                                       first=where), err=True)

    def moment(self, at: str | None) -> Moment:
        """When an action happens: now, or `--at` (back-dated, recorded now)."""
        return when_done(at, self.ledger.config.tz)

    def change(self, kind: Kind, typed_id: str, at: str | None, move: Callable[[Any, Moment], RecordT]) -> RecordT:
        """Read the record fresh under the lock, apply one move, write it; print its ID."""
        record_id = self.store.resolve_id(kind, typed_id)
        when = self.moment(at)
        updated: RecordT = self.store.update(kind, record_id, lambda record: move(record, when))
        click.echo(updated.id)
        return updated

    def shown(self, kind: Kind, typed_id: str, accept: Callable[[Any, Path], RecordT],
              reveal: Callable[[Any, AgentEntry, Moment], RecordT] | None) -> RecordT:
        """A record for `show`: read, its history checked by `accept`; with `reveal`, the reveal is
        first written into its history (refused for a role that may not)."""
        record_id = self.store.resolve_id(kind, typed_id)
        path = self.store.find(kind, record_id)
        record = accept(self.store.load(kind, path), path)
        if reveal is None:
            return record
        when = self.moment(None)
        revealed: RecordT = self.store.update(kind, record.id, lambda r: reveal(r, self.actor, when))
        return revealed

    def now(self) -> dt.datetime:
        try:
            zone = self.ledger.config.tz
        except RecordError:
            # `check` still reports a broken csctl.toml; any other command fails on it anyway.
            zone = ZoneInfo(DEFAULT_TIMEZONE)
        return clock.now(zone)


def progress_bar() -> Progress:
    """A bar on stderr when a person watches a terminal; nothing for cron, pipes and tests."""
    if sys.stderr is None or not sys.stderr.isatty():  # (None: closed before the start, `2>&-`)
        return quiet

    def bar(items: Sequence[Any], label: str) -> AbstractContextManager[Iterable[Any]]:
        return click.progressbar(items, label=label, file=sys.stderr)

    return bar


def pass_app(function: Callable[..., R]) -> Callable[..., R]:
    """Pass the App to a command, noting which command it is."""

    @click.pass_context
    def run(ctx: click.Context, /, *args: Any, **kwargs: Any) -> R:
        app = ctx.find_object(App)
        assert app is not None
        app.command = ctx.command_path
        return ctx.invoke(function, app, *args, **kwargs)

    return update_wrapper(run, function)
