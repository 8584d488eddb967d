"""The team's scripts and forbidden words (seed 001 在线客服工作规范 7.5, 电话应答规范).

`templates/phrases.toml` holds the greeting, closing and callback scripts and
the words an agent must never answer with (哦, 嗯, 不知道, 不清楚 by default).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from csctl.errors import CsctlError, InvalidInput
from csctl.i18n import msg
from csctl.models.config import AgentEntry

PLACEHOLDERS = frozenset({"team", "name", "staff_no", "customer"})


@dataclass(frozen=True)
class Phrases:
    scripts: dict[str, str]
    forbidden: tuple[str, ...]

    @classmethod
    def from_template(cls, data: dict[str, Any]) -> Phrases:
        scripts = data.get("scripts", {})
        words = data.get("forbidden", {}).get("words", [])
        if not isinstance(scripts, dict) or not all(isinstance(v, str) for v in scripts.values()):
            raise CsctlError("templates/phrases.toml: [scripts] must map names to one-line texts")
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise CsctlError("templates/phrases.toml: [forbidden] words must be a list of texts")
        for name, text in scripts.items():
            _check_placeholders(name, text)
        return cls(dict(scripts), tuple(words))

    def filled(self, team: str, agent: AgentEntry, customer: str | None) -> dict[str, str]:
        values = {"team": team, "name": agent.name, "staff_no": agent.staff_no or msg("phrases.no_staff_no"),
                  "customer": customer or msg("phrases.customer")}
        return {name: text.format(**values) for name, text in self.scripts.items()}

    def forbidden_in(self, text: str | None) -> list[str]:
        return [word for word in self.forbidden if text and word in text]


def _check_placeholders(name: str, text: str) -> None:
    where = f"templates/phrases.toml: scripts.{name}"
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as err:  # an unclosed or stray brace
        raise CsctlError(f"{where}: {err}; write {{{{ and }}}} for a literal brace") from None
    for _, field, spec, conversion in fields:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            known = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
            raise CsctlError(f"{where}: unknown placeholder {{{field}}} (known: {known})")


def screen(phrases: Phrases, field: str, text: str | None, strict: bool) -> list[str]:
    """Warnings for forbidden words in what the customer is told; refused when `strict`."""
    found = phrases.forbidden_in(text)
    if not found:
        return []
    warning = msg("phrases.forbidden", field=field, words="、".join(found))
    if strict:
        raise InvalidInput(warning)
    return [warning]
