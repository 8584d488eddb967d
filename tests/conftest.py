"""Shared fixtures: a real ledger made by `csctl init` in tmp_path, and ways to run csctl on it.

Every test runs with a clean environment: no CSCTL_* from outside, an empty
global git config (so the acting person never comes from the machine), and the
language fixed by each ledger's own `locale` or by `--lang`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from csctl.cli.main import cli

NOW = "2026-11-23T09:30:00+08:00"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith("CSCTL_"):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)


Invoke = Callable[..., Result]


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A fresh ledger (a git repository) whose admin is `adm`, plus a small team."""
    root = tmp_path / "ledger"
    result = CliRunner().invoke(cli, ["init", str(root), "--admin", "adm", "--name", "管理员", "--team", "测试客服部"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    # New Year's Day 2027, so that the calendar covers the coming year (as a team
    # adds it once published) and `check` has no warning to give.
    config = root / "csctl.toml"
    config.write_text(config.read_text().replace("holidays = [\n", "holidays = [\n    2027-01-01,\n", 1))
    env = {"CSCTL_LEDGER": str(root), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW}
    for args in (
        ["agent", "add", "lead", "--name", "张主管", "--role", "supervisor", "--staff-no", "8001"],
        ["agent", "add", "wang", "--name", "小王", "--role", "agent", "--staff-no", "1023",
         "--email", "wang@shop.example"],
        ["agent", "add", "li", "--name", "小李", "--role", "assistant"],
        ["agent", "add", "sales", "--name", "销售部", "--role", "viewer"],
    ):
        result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
    return root


@pytest.fixture
def more_agents(invoke: Invoke) -> None:
    """Adds a second agent `mei` (工号 1024) and tech support `zhao` (工号 3001) to the fixture ledger."""
    for args in (["agent", "add", "mei", "--name", "小美", "--role", "agent", "--staff-no", "1024"],
                 ["agent", "add", "zhao", "--name", "小赵", "--role", "tech", "--staff-no", "3001"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.stderr


@pytest.fixture
def invoke(ledger: Path) -> Invoke:
    """Run csctl in-process on `ledger` as `adm` at NOW; `env=` adds or overrides variables."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        full = {"CSCTL_LEDGER": str(ledger), "CSCTL_AGENT": "adm", "CSCTL_NOW": NOW, **(env or {})}
        return CliRunner().invoke(cli, list(args), env=full, input=input, catch_exceptions=False)

    return run


def run_csctl(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run csctl as a real process (`python -m csctl`)."""
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "csctl", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout)


def copy_demo(root: Path) -> Path:
    """A copy of the demo ledger at the repository's root (settings, records, templates) in `root`."""
    root.mkdir()
    for name in ("csctl.toml", "records", "templates"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` (but git's and the cache's) with the hash of its bytes."""
    out = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] not in (".git", ".csctl"):
            out[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def make_record(ledger: Path) -> Callable[..., Path]:
    """Write a record through the store, as csctl's own commands will."""
    from csctl.storage.ledger import Ledger
    from csctl.storage.store import Store

    def make(kind_name: str, **fields: object) -> Path:
        import datetime as dt

        from csctl.models.base import Event
        from csctl.models.kinds import KINDS

        kind = KINDS[kind_name]
        store = Store(Ledger(ledger))
        now = dt.datetime.fromisoformat(str(fields.pop("created", NOW)))
        by = str(fields.pop("by", "wang"))
        order = str(fields.pop("order", "1001"))

        def build(record_id: str) -> object:
            return kind.model.model_validate(
                {"id": record_id, "created": now, **fields,
                 "events": [Event(at=now, by=by, action="created").model_dump(exclude_none=True)]}
            )

        if kind.prefix is None:
            record = build(order)
            store.create_named(kind, record)  # type: ignore[arg-type]
        else:
            store.create(kind, now, build)  # type: ignore[arg-type]
        return store.written[-1]

    return make
