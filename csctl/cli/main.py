"""The root `csctl` group: global options, lazy sub-commands, the one exit point.

Sub-commands are imported only when run, so a one-record command pays for its
own module and no other. Every error leaves through `RootGroup.main` as one
line on stderr with the exit code of SPEC §4; `--debug` (or `CSCTL_DEBUG=1`)
shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from csctl import __version__
from csctl.errors import CsctlError
from csctl.i18n import LANGUAGES, language_from_environment, set_language
from csctl.storage import worktree
from csctl.storage.layout import index_wanted, ledger_root

if TYPE_CHECKING:
    from csctl.cli.context import App

# name -> "module:attribute", in the order of SPEC §3.
COMMANDS: dict[str, str] = {
    "init": "csctl.cli.setup:init",
    "agent": "csctl.cli.setup:agent",
    "git-setup": "csctl.cli.gitcmds:git_setup",
    "ticket": "csctl.cli.tickets:ticket",
    "remit": "csctl.cli.remittances:remit",
    "remark": "csctl.cli.remarks:remark",
    "refund": "csctl.cli.remarks:refund",
    "balance": "csctl.cli.remarks:balance",
    "customer": "csctl.cli.customers:customer",
    "kb": "csctl.cli.kb:kb",
    "alerts": "csctl.cli.alerts:alerts",
    "phrases": "csctl.cli.alerts:phrases",
    "report": "csctl.cli.reports:report",
    "check": "csctl.cli.integrity:check",
    "fmt": "csctl.cli.integrity:fmt",
    "merge-driver": "csctl.cli.gitcmds:merge_driver",
    "textconv": "csctl.cli.gitcmds:textconv",
}

# What `csctl --help` says of each command: the first paragraph of its docstring, written again
# here so that listing them imports none of their modules (~0.2 s); tests/test_startup.py keeps
# the two the same.
SUMMARIES: dict[str, str] = {
    "init": "Create a ledger in DIRECTORY (default: here) with its first admin.",
    "agent": "The team roster in csctl.toml: who may do what (SPEC §2).",
    "git-setup": "Register csctl's merge driver, the pre-commit hook (check, fmt --check) and `.gitattributes` "
                 "in this clone.",
    "ticket": "Tickets (工单): intake, judgement, assignment, handling, callback (SPEC §3).",
    "remit": "Remittances (汇款流程): bank-transfer orders, payment notices, verification, shipping (SPEC §3).",
    "remark": "Order remarks (备注): write them in their shape, list, parse and lint them (SPEC §5).",
    "refund": "The refund register (退款登记): refunds remarked on orders, and registering them.",
    "balance": "Balance deductions (扣除余额): each buyer's chain, and registering deductions.",
    "customer": "The customer archive (客户档案): contacts masked unless revealed (SPEC §3).",
    "kb": "The knowledge base (知识库): entries reviewed before anyone sees them (SPEC §3).",
    "alerts": "Everything overdue now: exit 1 when there is any, 0 when none (for cron).",
    "phrases": "The team's scripts with your name and staff number filled in, and the forbidden words.",
    "report": "Summaries (报表): daily, weekly, monthly and the performance table (绩效考核表), SPEC §3.",
    "check": "Check records (default: the whole ledger): syntax, schema, references, IDs, history.",
    "fmt": "Rewrite records (default: all) in canonical form; a canonical file is left untouched.",
    "merge-driver": "Merge two edited copies of one record; git runs it as `csctl merge-driver %O %A %B %L %P`.",
    "textconv": "Print a record file with personal data masked; git runs it for `git diff` "
                "(diff.csctl.textconv).",
}


# The commands that bring the index up to date, by their names, with the folders of records/ whose rows
# they ask for (none: all of them). Git is asked about those as soon as such a command is named, before its
# module is imported: at 100k records `git status` takes ~0.2 s, and runs meanwhile on another core (see
# `worktree.look_early`). A command left out, or asking about other folders, asks git itself, later.
LOOKS_EARLY: dict[tuple[str, ...], tuple[str, ...]] = {
    ("alerts",): (),
    ("check",): (),
    ("report",): ("kb", "remarks", "remittances", "tickets"),
    ("ticket", "list"): ("tickets",),
    ("remit", "list"): ("remittances",),  # (without a filter it reads every remittance, and asks no one)
    ("remit", "pending"): ("remittances",),
    ("remit", "register"): ("remittances",),
    ("remark", "list"): ("remarks",),
    ("refund", "list"): ("remarks",),
    ("balance", "list"): ("remarks",),
    ("balance", "show"): ("remarks",),
    ("customer", "show"): ("remittances", "tickets"),
    ("kb", "list"): ("tickets",),
    ("kb", "search"): ("tickets",),
    ("kb", "show"): ("tickets",),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are `module:attribute` strings, imported on first use; its help
    lists them by their `summaries` without importing them."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, summaries: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}
        self.summaries = summaries or {}

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's own, with a summarised command stood in for by a bare one holding its summary."""
        commands: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = (click.Command(name, help=self.summaries[name]) if name in self.summaries
                       else self.get_command(ctx, name))
            if command is not None and not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in commands])

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *sorted(set(super().list_commands(ctx)) - set(self.lazy))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


class RootGroup(LazyGroup):
    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                           list[str]]:
        _look_early(ctx, args)
        return super().resolve_command(ctx, args)

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv or os.environ.get("CSCTL_DEBUG") == "1"
        extra["standalone_mode"] = False
        # (A stream closed before the start, `>&-`, is None: click then writes nothing to it.)
        sys.stdout, sys.stderr = (None if stream is None else _ReaderMayLeave(stream)
                                  for stream in (sys.stdout, sys.stderr))
        try:
            result = super().main(argv, prog_name or "csctl", **extra)
        except click.exceptions.NoArgsIsHelpError as err:
            click.echo(err.ctx.get_help() if err.ctx else err.format_message())
            sys.exit(0)
        except click.UsageError as err:
            # Click lists choices over several lines; a script's log wants one.
            message = " ".join(err.format_message().split())
            where = err.ctx.command_path if err.ctx and err.ctx.parent else ""
            _fail(f"{where.removeprefix('csctl ')}: {message}" if where else message, err.exit_code)
        except click.ClickException as err:
            _fail(err.format_message(), err.exit_code)
        except click.Abort as err:
            # Click turns a Ctrl-C into Abort; a shell (and a script) expects it as 128 + SIGINT.
            if isinstance(err.__cause__, KeyboardInterrupt):
                _fail("interrupted", 130)
            _fail("aborted", 1)
        except CsctlError as err:
            if debug:
                _print_traceback()
            _fail(str(err), err.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except OSError as err:
            # The system refused a file operation (a name too long for it, say): bad input, not our bug.
            if debug:
                _print_traceback()
            where = f"{err.filename}: " if err.filename else ""
            _fail(f"{where}{err.strerror or err}".replace("\n", "\\n"), 2)
        except Exception as err:
            from pydantic import ValidationError  # here, not at the top: `csctl --help` needs no models

            if debug:
                _print_traceback()
            if isinstance(err, ValidationError):
                from csctl.models.base import describe_error

                _fail(describe_error(err), 2)
            if debug:
                sys.exit(2)
            _fail(f"internal error: {type(err).__name__}: {err} (run with --debug for details)", 2)
        finally:
            # (A Ctrl-C while git finishes must not turn the command's own exit into a traceback.)
            with contextlib.suppress(KeyboardInterrupt):
                worktree.forget_early()
        sys.exit(result if isinstance(result, int) else 0)


class _ReaderMayLeave:
    """An output (text, or its binary `buffer`) whose reader may go away (`csctl alerts 2>&1 | head -1`).

    That is not the command's failure: what it writes after goes nowhere, and it ends with the exit it has
    (alerts found are still 1). Click would end it at the first write with exit 1, whatever it had found.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._gone = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    @functools.cached_property
    def buffer(self) -> _ReaderMayLeave:
        return _ReaderMayLeave(self._stream.buffer)

    def write(self, data: Any) -> int:
        if not self._gone:
            try:
                written: int = self._stream.write(data)
            except BrokenPipeError:
                self._gone = True
            else:
                return written
        return len(data)

    def flush(self) -> None:
        # Not even what is still buffered is flushed again: Python's own flush at exit goes through here,
        # and the stream underneath, closed at exit, stays silent about its failed flush.
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone = True


def _look_early(ctx: click.Context, args: list[str]) -> None:
    """Have git look at the records the command named in `args` will ask the index about (`LOOKS_EARLY`),
    unless the index is turned off, the shell is completing a word, or a writer holds the ledger lock (the
    command then asks git itself, once it has the lock)."""
    if not args or "--help" in args or "-h" in args or ctx.resilient_parsing or not index_wanted():
        return
    subcommand = next((arg for arg in args[1:] if not arg.startswith("-")), None)
    folders = LOOKS_EARLY.get((args[0],), LOOKS_EARLY.get((args[0], subcommand or "")))
    if folders is None:
        return
    try:
        root = ledger_root(ctx.params.get("ledger_path"), os.environ, Path.cwd())
    except (CsctlError, OSError):
        return  # the command will say so
    worktree.look_early(root, folders)


def _print_traceback() -> None:
    import traceback  # only with --debug

    traceback.print_exc()


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"csctl: {message}", err=True)
    sys.exit(code)


@click.group("csctl", cls=RootGroup, lazy=COMMANDS, summaries=SUMMARIES,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="csctl")
@click.option("--ledger", "ledger_path", metavar="PATH", envvar=None,
              help="The ledger folder (else $CSCTL_LEDGER, else the nearest parent with csctl.toml).")
@click.option("--as", "as_id", metavar="ID",
              help="Act as this roster ID (else $CSCTL_AGENT, else your git user.email).")
@click.option("--lang", type=click.Choice(LANGUAGES),
              help="Language of labels and messages (else csctl.toml, else your locale).")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, ledger_path: str | None, as_id: str | None, lang: str | None,
        debug: bool) -> None:
    """csctl — a customer-service ledger in plain TOML files under git.

    Tickets, remittances, remarks, customers and knowledge-base entries, one
    file per record, checked against the team's rules.
    """
    from csctl.cli.context import App

    app = App(ledger_path, as_id, lang or "en")
    app.lang = lang or _ledger_language(app) or language_from_environment() or "zh"
    ctx.call_on_close(set_language(app.lang))
    ctx.call_on_close(lambda: _autocommit(app))
    ctx.obj = app


def _ledger_language(app: App) -> str | None:
    try:
        locale: str = app.ledger.config.team.locale
    except CsctlError:
        return None  # no ledger here (yet), or a broken one: the command will say so
    return locale


def _autocommit(app: App) -> None:
    """With `[git] autocommit = true`, commit just the files this command wrote (SPEC §6)."""
    ledger = app.__dict__.get("ledger")  # commands that found no ledger wrote nothing
    if ledger is None or not ledger.written:
        return
    try:
        if not ledger.config.git.autocommit:
            return
    except CsctlError:
        return
    from csctl.storage.git import commit_paths
    from csctl.storage.layout import LOCK
    from csctl.storage.lock import lend

    actor = app.__dict__.get("actor")
    who = f"{actor.name} ({actor.id})" if actor else "csctl"
    records = ", ".join(sorted({p.stem if p.suffix == ".toml" and p != ledger.config_path else p.name
                                for p in ledger.written}))
    message = f"{app.command or 'csctl'}: {records}\n\nby {who}"
    # Under the ledger's lock, taken again after the write: two commands committing at once would meet on
    # git's index.lock, and no writer changes the files while git adds them. (One that wrote the same file
    # between this command's write and this lock has its change committed under this message too.) The
    # pre-commit hook's csctl reads under the hold, lent to it: else it would wait for the lock until git
    # gave up on it.
    try:
        with ledger.lock(exclusive=True, what="autocommit", finishing_git=True), \
                lend(ledger.cache / LOCK) as lent:
            failure = commit_paths(ledger.root, ledger.written, message, lent)
    except CsctlError as err:  # the lock not had in time: the data stays written
        failure = str(err)
    if failure:
        click.echo(f"csctl: written but not committed: {failure}", err=True)


# The cyclic collector's first threshold (default 700 allocations): a report holds thousands of records
# (a ticket is ~60 objects), which the default examines over and over while it reads them, finding no
# cycles: ~15% of a monthly report's CPU at 100k records (measured on Python 3.11). csctl makes few
# cycles; they wait a little longer (at most 50k objects). The older generations keep their defaults.
GC_FIRST_THRESHOLD = 50_000


def main() -> NoReturn:
    gc.set_threshold(GC_FIRST_THRESHOLD, *gc.get_threshold()[1:])
    cli.main()
