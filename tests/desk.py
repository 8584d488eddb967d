"""`Desk`: csctl run in-process on the fixture ledger as someone, at some moment, in English unless told.

Shared by the workflow tests; each adds the helpers of its own records.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from click.testing import Result

from tests.conftest import NOW, Invoke, snapshot


class Desk:
    def __init__(self, invoke: Invoke, ledger: Path) -> None:
        self.invoke = invoke
        self.ledger = ledger

    def run(self, *args: str, who: str = "adm", now: str = NOW, lang: str | None = "en") -> Result:
        head = ["--lang", lang] if lang else []
        return self.invoke(*head, *args, env={"CSCTL_AGENT": who, "CSCTL_NOW": now})

    def ok(self, *args: str, **kw: Any) -> str:
        result = self.run(*args, **kw)
        assert result.exit_code == 0, (args, result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self.ok(*args, "--format", "json", **kw))

    def refused(self, *args: str, code: int = 2, says: str | re.Pattern[str] | None = None, **kw: Any) -> str:
        """The command is refused with `code`, one line, and nothing written; returns the line."""
        before = snapshot(self.ledger)
        result = self.run(*args, **kw)
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("csctl: ")
        if isinstance(says, str):
            assert says in lines[0], lines[0]
        elif says is not None:
            assert says.search(lines[0]), lines[0]
        assert snapshot(self.ledger) == before, "a refused command changed a file"
        return lines[0]

    def clean(self, now: str = NOW) -> None:
        """`csctl check` finds no error (warnings, such as a missing holiday year, are allowed)."""
        result = self.run("check", now=now)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert all(line.endswith("(warning)") for line in result.stdout.splitlines()), result.stdout

    def dated_path(self, folder: str, record_id: str) -> Path:
        """`records/<folder>/YYYY/MM/<id>.toml` of a record with a generated ID."""
        day = record_id[2:8]
        return self.ledger / "records" / folder / f"20{day[:2]}" / day[2:4] / f"{record_id}.toml"

    def edit_config(self, key: str, value: str, table: str) -> None:
        """Set `key = value` in `[table]` of csctl.toml by editing its text (comments kept)."""
        config = self.ledger / "csctl.toml"
        text = config.read_text(encoding="utf-8")
        # A value may be an array written over several lines (init fills in official holidays).
        line = re.compile(rf"^{key} = (\[[^\]]*\]|.*)$", re.MULTILINE)
        header = re.search(rf"^\[{re.escape(table)}\]$", text, re.MULTILINE)
        if header is None:
            text = text.rstrip("\n") + f"\n\n[{table}]\n{key} = {value}\n"
        else:
            end = re.search(r"^\[", text[header.end():], re.MULTILINE)
            stop = header.end() + end.start() if end else len(text)
            body = text[header.end():stop]
            if line.search(body):
                body = line.sub(lambda _: f"{key} = {value}", body, count=1)
            else:
                body = f"\n{key} = {value}" + body
            text = text[:header.end()] + body + text[stop:]
        config.write_text(text, encoding="utf-8")
        assert tomllib.loads(text)  # still valid TOML
