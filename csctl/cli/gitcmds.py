"""Git as the ledger's distributed engine: `git-setup`, `merge-driver` and `textconv` (SPEC §6).

`merge-driver` and `textconv` are run by git, not by people: they need no
ledger and no acting person, and they say what happened in one line on stderr.
"""

from __future__ import annotations

from pathlib import Path

import click

from csctl.cli.context import App, pass_app
from csctl.errors import CsctlError
from csctl.i18n import msg

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("git-setup")
@click.option("--textconv/--no-textconv", default=True, show_default=True,
              help="Also mask personal data in `git diff` and `git log -p` of records.")
@click.option("--force", is_flag=True, help="Replace a pre-commit hook that csctl did not write.")
@pass_app
def git_setup(app: App, textconv: bool, force: bool) -> None:
    """Register csctl's merge driver, the pre-commit hook (check, fmt --check) and `.gitattributes` in this clone.

    Run once per clone (git does not carry its configuration along); running it again changes nothing.
    """
    from csctl.domain.merge import setup_clone

    for line in setup_clone(app.ledger.root, textconv=textconv, force=force):
        click.echo(line)


@click.command("merge-driver")
@click.argument("base", type=FILE)
@click.argument("ours", type=FILE)
@click.argument("theirs", type=FILE)
@click.argument("marker_size", type=click.IntRange(1, 100))
@click.argument("path")
def merge_driver(base: Path, ours: Path, theirs: Path, marker_size: int, path: str) -> None:
    """Merge two edited copies of one record; git runs it as `csctl merge-driver %O %A %B %L %P`.

    Writes the result into OURS. Exit 0: merged. Exit 1: a conflict on the keys
    named (marked in the file) or an ID created on both sides (see `csctl check
    --repair-duplicates`). Exit 2: an input is not a record; git's line merge is
    left in the file.
    """
    import subprocess

    from csctl.domain.merge import collision_path, merge_texts
    from csctl.storage.atomic import create_exclusive, write_atomic
    from csctl.storage.store import read_text
    from csctl.storage.toml_io import dump_record

    try:
        outcome = merge_texts(path, read_text(base), read_text(ours), read_text(theirs), marker_size)
    except CsctlError as err:
        lines = subprocess.run(["git", "merge-file", "-p", f"--marker-size={marker_size}", "-L", "ours", "-L",
                                "base", "-L", "theirs", str(ours), str(base), str(theirs)],
                               capture_output=True)
        if lines.stdout:
            write_atomic(ours, lines.stdout)
        raise CsctlError(msg("merge.unreadable", path=path, problem=err)) from None
    write_atomic(ours, outcome.text.encode("utf-8"))
    if outcome.collision is not None:
        theirs_text = dump_record(outcome.collision)
        beside = collision_path(Path(path), theirs_text)
        create_exclusive(Path.cwd() / beside, theirs_text.encode("utf-8"))
        click.echo("csctl: " + msg("merge.collision", path=path, id=outcome.collision.id, beside=beside), err=True)
    if outcome.clashes:
        click.echo("csctl: " + msg("merge.clash", path=path, keys=", ".join(outcome.clashes)), err=True)
    if outcome.illegal is not None:
        click.echo("csctl: " + msg("merge.illegal", path=path, problem=outcome.illegal), err=True)
    if not outcome.clean:
        raise SystemExit(1)


@click.command()
@click.argument("file", type=FILE)
def textconv(file: Path) -> None:
    """Print a record file with personal data masked; git runs it for `git diff` (diff.csctl.textconv)."""
    from csctl.domain.merge import masked_text

    click.echo(masked_text(file.read_bytes().decode("utf-8", errors="replace")), nl=False)
