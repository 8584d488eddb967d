"""`csctl kb …`: the knowledge base — write, review, publish, search, retire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from csctl.cli.context import App, pass_app
from csctl.cli.options import format_option
from csctl.cli.render import Column, fields_text, rows_text, to_json
from csctl.domain import kb as knowledge
from csctl.domain.privacy import mask_phones, masked_events
from csctl.errors import NotFound
from csctl.i18n import label, msg
from csctl.models.kinds import KB, TICKET
from csctl.models.records import KbEntry, KbStatus

STATUSES = click.Choice([s.value for s in KbStatus])


@click.group()
def kb() -> None:
    """The knowledge base (知识库): entries reviewed before anyone sees them (SPEC §3)."""


def _content_options(function: Any) -> Any:
    for option in reversed([
        click.option("--step", "steps", multiple=True, help="A solution step, in order (repeatable)."),
        click.option("--case", "cases", multiple=True, help="A case it helped with (repeatable)."),
        click.option("--tag", "tags", multiple=True, help="Repeatable."),
    ]):
        function = option(function)
    return function


@kb.command("add")
@click.option("--question", required=True)
@click.option("--answer", required=True)
@_content_options
@pass_app
def kb_add(app: App, question: str, answer: str, steps: tuple[str, ...], cases: tuple[str, ...],
           tags: tuple[str, ...]) -> None:
    """Write a draft entry; prints its ID alone."""
    entry = knowledge.add(app.store, app.actor, app.now(), {
        "question": question, "answer": answer, "steps": list(steps), "cases": list(cases), "tags": list(tags)})
    click.echo(entry.id)


def _change(app: App, entry_id: str, change: Callable[[KbEntry], KbEntry]) -> None:
    updated: KbEntry = app.store.update(KB, app.store.resolve_id(KB, entry_id), change)
    click.echo(updated.id)


@kb.command("edit")
@click.argument("entry_id", metavar="ID")
@click.option("--question")
@click.option("--answer")
@_content_options
@pass_app
def kb_edit(app: App, entry_id: str, question: str | None, answer: str | None, steps: tuple[str, ...],
            cases: tuple[str, ...], tags: tuple[str, ...]) -> None:
    """Change an entry (its author while a draft or in review; a reviewer once published)."""
    changes: dict[str, Any] = {k: v for k, v in {"question": question, "answer": answer}.items() if v is not None}
    changes |= {k: list(v) for k, v in {"steps": steps, "cases": cases, "tags": tags}.items() if v}
    if not changes:
        raise click.UsageError("nothing to change: give --question, --answer, --step, --case or --tag")
    _change(app, entry_id, lambda e: knowledge.edit(e, app.actor, app.now(), changes))


@kb.command("submit")
@click.argument("entry_id", metavar="ID")
@pass_app
def kb_submit(app: App, entry_id: str) -> None:
    """Send a draft for review."""
    _change(app, entry_id, lambda e: knowledge.submit(e, app.actor, app.now()))


@kb.command("approve")
@click.argument("entry_id", metavar="ID")
@pass_app
def kb_approve(app: App, entry_id: str) -> None:
    """Publish an entry in review (supervisor)."""
    _change(app, entry_id, lambda e: knowledge.approve(e, app.actor, app.now()))


@kb.command("return")
@click.argument("entry_id", metavar="ID")
@click.option("--reason", required=True, help="What the author should change.")
@pass_app
def kb_return(app: App, entry_id: str, reason: str) -> None:
    """Send an entry in review back to its author (supervisor)."""
    _change(app, entry_id, lambda e: knowledge.send_back(e, app.actor, app.now(), reason))


@kb.command("retire")
@click.argument("entry_id", metavar="ID")
@click.option("--reason", required=True)
@pass_app
def kb_retire(app: App, entry_id: str, reason: str) -> None:
    """Take a published entry out of use (supervisor)."""
    _change(app, entry_id, lambda e: knowledge.retire(e, app.actor, app.now(), reason))


def _uses(app: App) -> knowledge.Uses:
    with app.ledger.lock(exclusive=False, what="knowledge use"):
        return knowledge.uses(app.store, app.index_of(TICKET))


SEARCH_COLUMNS = [Column("id", "h.id"), Column("status", "h.status"), Column("score", "h.score"),
                  Column("uses", "h.uses"), Column("question", "h.question")]


@kb.command("search")
@click.argument("words", nargs=-1, required=True)
@format_option
@pass_app
def kb_search(app: App, words: tuple[str, ...], style: str) -> None:
    """Find entries holding every word, in question, answer, steps, cases or tags (Chinese included)."""
    hits = knowledge.search(app.store, app.reader(), " ".join(words))
    used = _uses(app).per_entry
    rows = [{"id": h.entry.id, "status": h.entry.status, "score": h.score, "uses": used[h.entry.id],
             "question": h.entry.question} for h in hits]
    click.echo(rows_text(rows, SEARCH_COLUMNS, style), nl=False)


@kb.command("list")
@click.option("--status", type=STATUSES, help="Default: every entry you may see.")
@format_option
@pass_app
def kb_list(app: App, status: str | None, style: str) -> None:
    """List entries you may see, with how often each was used."""
    actor = app.reader()
    used = _uses(app).per_entry
    rows = [{"id": e.id, "status": e.status, "uses": used[e.id], "author": e.author, "question": e.question}
            for e in knowledge.entries(app.store)
            if knowledge.visible_to(e, actor) and (status is None or e.status.value == status)]
    columns = [Column("id", "h.id"), Column("status", "h.status"), Column("uses", "h.uses"),
               Column("author", "h.author"), Column("question", "h.question")]
    click.echo(rows_text(rows, columns, style), nl=False)


@kb.command("show")
@click.argument("entry_id", metavar="ID")
@format_option
@pass_app
def kb_show(app: App, entry_id: str, style: str) -> None:
    """An entry whole, with its uses per agent."""
    entry = app.store.read(KB, app.store.resolve_id(KB, entry_id))
    assert isinstance(entry, KbEntry)
    if not knowledge.visible_to(entry, app.reader()):
        raise NotFound(msg("store.not_found", kind=msg("kind.kb"), id=entry.id))
    uses = _uses(app)
    data: dict[str, Any] = {k: v for k, v in entry.model_dump(exclude={"events"}).items() if v not in ([], None)}
    # Every role reads the knowledge base: a case or an event quoting a customer's phone shows it masked.
    # (A question or answer is the team's own text: a hotline in it stays as written.)
    if entry.cases:
        data["cases"] = [mask_phones(case) for case in entry.cases]
    data["uses"] = uses.per_entry[entry.id]
    data["uses_by"] = dict(uses.per_agent.get(entry.id, {}))
    if style == "json":
        data["events"] = [e.model_dump(exclude_none=True) for e in masked_events(entry.events)]
        click.echo(to_json(data), nl=False)
        return
    data["uses_by"] = ", ".join(f"{who} {n}" for who, n in sorted(data["uses_by"].items()))
    data["steps"] = " / ".join(f"{i}. {s}" for i, s in enumerate(entry.steps, start=1)) or None
    rows = [{"field": label(f"f.{k}", k), "value": v} for k, v in data.items() if v not in ([], None, "")]
    click.echo(fields_text(rows, style), nl=False)
