"""`check` and `fmt`: is every file valid, and is it written in canonical form?"""

from __future__ import annotations

from pathlib import Path

import click

from csctl.cli.context import App, pass_app, progress_bar
from csctl.cli.render import to_json
from csctl.errors import CsctlError
from csctl.i18n import msg

PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


@click.command()
@PATHS
@click.option("--repair-duplicates", is_flag=True,
              help="Give each duplicated ID but one a fresh ID (recorded as an event).")
@click.option("--format", "style", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: a list of {path, line, message, warning}.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Processes that read changed files  [default: the cores this machine gives csctl]")
@pass_app
def check(app: App, paths: tuple[Path, ...], repair_duplicates: bool, style: str, jobs: int | None) -> None:
    """Check records (default: the whole ledger): syntax, schema, references, IDs, history.

    Prints each problem as `path:line: message`; exit 0 when clean, 1 when not.
    """
    from csctl.domain.integrity import check_ledger, select
    from csctl.domain.integrity import repair_duplicates as repair
    from csctl.parallel import default_jobs

    if repair_duplicates:
        if paths:
            select(app.store, list(paths))  # a bad PATH is refused before the repair writes anything
        renames = repair(app.store, app.actor, app.now())
        for rename in renames:
            click.echo(msg("repair.renamed", old=rename.old_id, new=rename.new_id,
                           path=app.ledger.relative(rename.path)))
            for ref in rename.references:
                click.echo(msg("repair.reference", path=app.ledger.relative(ref.path), field=ref.field,
                               old=rename.old_id, new=rename.new_id))
            for ref in rename.unclear:
                click.echo(msg("repair.unclear", path=app.ledger.relative(ref.path), field=ref.field,
                               old=rename.old_id, new=rename.new_id), err=True)
        if not renames:
            click.echo(msg("repair.none"), err=True)
    report = check_ledger(app.store, app.now(), list(paths) or None, progress_bar(), jobs=jobs or default_jobs())
    problems = report.sorted_problems()
    if style == "json":
        click.echo(to_json([
            {"path": p.path, "line": p.line, "message": p.message, "warning": p.warning} for p in problems
        ]), nl=False)
    else:
        for problem in problems:
            click.echo(str(problem))
        summary = (msg("check.summary", count=report.files, problems=len(problems)) if problems
                   else msg("check.clean", count=report.files))
        click.echo(summary, err=True)
    raise SystemExit(1 if report.errors else 0)



@click.command()
@PATHS
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 when any file is not in canonical form.")
@pass_app
def fmt(app: App, paths: tuple[Path, ...], check_only: bool) -> None:
    """Rewrite records (default: all) in canonical form; a canonical file is left untouched."""
    from csctl.domain.integrity import fmt_files

    changed, problems = fmt_files(app.store, list(paths) or None)
    if changed and not problems and not check_only:
        changed, problems = fmt_files(app.store, list(paths) or None, writer=app.actor)
    if problems:
        more = f" (and {len(problems) - 1} more; see csctl check)" if len(problems) > 1 else ""
        raise CsctlError(f"cannot format: {problems[0]}{more}; nothing was written")
    note = msg("fmt.would_change") if check_only else msg("fmt.changed")
    for path in changed:
        click.echo(f"{app.ledger.relative(path)}: {note}")
    if check_only and changed:
        click.echo(msg("fmt.summary", changed=len(changed)), err=True)
        raise SystemExit(1)
