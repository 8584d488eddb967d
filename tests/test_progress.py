"""A long read shows a bar on a terminal's stderr, and nowhere else (issue #8, item 6): a real csctl process
with its stderr on a pseudo-terminal, against the same command with both streams in pipes (cron, scripts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from csctl.progress import SHOWN_FROM
from csctl.storage import ids
from tests.conftest import copy_demo

NOW = "2026-11-23T12:30:00+08:00"


@pytest.fixture
def many_tickets(tmp_path: Path) -> Path:
    """The demo ledger with enough tickets of 2026-11-20 for a bar: copies of one, each under its own ID."""
    root = copy_demo(tmp_path / "desk")
    folder = root / "records" / "tickets" / "2026" / "11"
    model = next(path for path in sorted(folder.glob("T-261120-*.toml")))
    text = model.read_text(encoding="utf-8")
    for number in range(SHOWN_FROM):
        copy_id = f"T-261120-{ids.encode(30_000_000 + number)}"  # beyond any ID the demo uses
        (folder / f"{copy_id}.toml").write_text(text.replace(model.stem, copy_id), encoding="utf-8")
    return root


def on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """(exit code, stdout from a pipe, what the terminal on stderr showed)."""
    import pty  # POSIX only, as is the fork the pool of workers uses

    controller, terminal = pty.openpty()
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=terminal, env=env) as process:
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the process closed the terminal's other end
                break
            if not chunk:
                break
            shown += chunk
        os.close(controller)
        out = process.stdout.read() if process.stdout else b""
        return process.wait(timeout=60), out, shown


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_a_report_reading_thousands_of_files_shows_a_bar_on_a_terminal_only(many_tickets: Path) -> None:
    args = [sys.executable, "-m", "csctl", "--lang", "en", "report", "daily", "--date", "2026-11-20",
            "--format", "json"]
    # Without the index every ticket is read, each kind behind its own bar.
    env = {**os.environ, "CSCTL_LEDGER": str(many_tickets), "CSCTL_NOW": NOW, "CSCTL_NO_INDEX": "1"}
    piped = subprocess.run(args, capture_output=True, env=env, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == b""
    code, out, shown = on_a_terminal(args, env)
    assert code == 0
    assert out == piped.stdout  # the bar never reaches the report itself
    assert json.loads(out)["overview"]["tickets_opened"] > SHOWN_FROM  # every copy was read
    assert b"reading records: ticket" in shown
    assert b"100%" in shown
