"""Options shared by many commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from csctl.cli.render import FORMATS

F = TypeVar("F", bound=Callable[..., Any])


def at_option(function: F) -> F:
    return click.option(
        "--at", metavar="WHEN", help="When it really happened (ISO date-time, ledger time zone); never later than now.",
    )(function)


def format_option(function: F) -> F:
    return click.option(
        "--format", "style", type=click.Choice(FORMATS), default="table", show_default=True,
        help="Output style; json is stable for scripts.",
    )(function)
