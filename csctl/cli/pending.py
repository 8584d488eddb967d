"""Command groups whose workflows arrive with later issues.

The tree of SPEC §3 exists from the start so that `csctl --help` shows the
whole tool; running one of these says plainly that it is not built yet
(exit 2), rather than pretending to work.
"""

from __future__ import annotations

import click

from csctl.errors import CsctlError

# group -> (issue that builds it, what it will hold)
LATER: dict[str, tuple[int, str]] = {
    "report": (7, "Summaries: daily/weekly/monthly/agents."),
}


def _not_built(name: str) -> click.Command:
    issue, summary = LATER[name]

    @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                   help=f"{summary}\n\nNot built yet: arrives with issue #{issue}.",
                   short_help=f"{summary.split(':')[0]} (not built yet, issue #{issue})")
    def command() -> None:
        raise CsctlError(f"{name}: not built yet (issue #{issue})")

    return command


report = _not_built("report")
