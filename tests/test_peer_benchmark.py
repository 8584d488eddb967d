"""The peer benchmark's ledger (benchmarks/peer.py): beancount accepts it in every layout, it is what it says.

The tests that run beancount are skipped when `bean-check` is not installed (it lives in a virtual environment
of its own, never among csctl's dependencies: see the script's docstring). Speed is not asserted.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
PEER = BENCHMARKS / "peer.py"
ENTRIES = 200
LAYOUTS = ("one", "monthly", "per-entry")


def installed_bean_check() -> Path | None:
    found = shutil.which("bean-check")
    candidate = Path(found) if found else Path("/tmp/beanvenv/bin/bean-check")
    return candidate if candidate.is_file() else None


BEAN_CHECK = installed_bean_check()
needs_beancount = pytest.mark.skipif(BEAN_CHECK is None, reason="bean-check is not installed")
# Reads a ledger with beancount's own loader, in beancount's environment, and tells what it holds.
LOAD = """\
import collections, json, sys
from beancount import loader
from beancount.core import data
loader.initialize(use_cache=False)
entries, errors, options = loader.load_file(sys.argv[1])
transactions = [e for e in entries if isinstance(e, data.Transaction)]
print(json.dumps({
    "errors": [error.message for error in errors],
    "kinds": collections.Counter(type(e).__name__ for e in entries),
    "postings": sorted({len(t.postings) for t in transactions}),
    "tags": sorted({tag for t in transactions for tag in t.tags}),
    "files": len(options["include"]),
}))
"""


def peer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PEER), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 200-entry peer ledger in every layout, written and timed once by the script: (folder, its stdout)."""
    assert BEAN_CHECK is not None
    root = tmp_path_factory.mktemp("peer") / "ledger"
    result = peer("--entries", str(ENTRIES), "--runs", "1", "--keep", str(root), "--bean-check", str(BEAN_CHECK))
    assert result.returncode == 0, result.stderr
    return root, result.stdout


@pytest.fixture
def books_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # peer.py imports its neighbour corpus.py, as a script does
    return importlib.import_module("peer")


@needs_beancount
@pytest.mark.parametrize("layout", LAYOUTS)
def test_bean_check_accepts_every_layout(kept: tuple[Path, str], layout: str) -> None:
    root, _ = kept
    assert BEAN_CHECK is not None
    result = subprocess.run([str(BEAN_CHECK), "-C", str(root / layout / "main.beancount")], capture_output=True,
                            text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@needs_beancount
def test_every_layout_holds_the_same_entries_of_every_kind(kept: tuple[Path, str]) -> None:
    root, _ = kept
    assert BEAN_CHECK is not None
    python = BEAN_CHECK.parent / "python"
    if not python.exists():
        pytest.skip(f"no Python next to {BEAN_CHECK} to run beancount's loader with")
    loaded = {}
    for layout in LAYOUTS:
        result = subprocess.run([str(python), "-c", LOAD, str(root / layout / "main.beancount")],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        loaded[layout] = json.loads(result.stdout)
    one = loaded["one"]
    assert one["errors"] == []
    assert sum(one["kinds"].values()) == ENTRIES
    assert set(one["kinds"]) == {"Commodity", "Open", "Transaction", "Balance"}
    assert set(one["postings"]) <= {2, 3, 4}
    assert set(one["tags"]) == {"opening", "taobao", "remittance", "refund", "settlement", "shipping"}
    for layout in ("monthly", "per-entry"):
        assert {**loaded[layout], "files": 1} == one, layout
    # Beancount read every file written: the main file, and a file per month or one per entry but the opens.
    assert loaded["monthly"]["files"] == 1 + len(list((root / "monthly" / "months").iterdir())) <= 1 + 37
    assert loaded["per-entry"]["files"] == 1 + ENTRIES - one["kinds"]["Open"] - one["kinds"]["Commodity"]
    assert loaded["per-entry"]["files"] == 1 + len(list((root / "per-entry" / "entries").rglob("*.beancount")))


@needs_beancount
def test_the_table_names_every_layout_and_the_version(kept: tuple[Path, str]) -> None:
    _, table = kept
    assert f"{ENTRIES} entries of " in table
    assert re.search(r"beancount \d+\.\d+", table)
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == ["layout", *LAYOUTS]


def test_the_same_seed_gives_the_same_ledger(books_module: ModuleType) -> None:
    def texts(seed: int) -> list[str]:
        return [entry.text for entry in books_module.Books(300, seed, dt.date(2026, 11, 20)).entries()]

    first = texts(5)
    assert len(first) == 300
    assert texts(5) == first
    assert texts(6) != first


def test_entries_are_shop_sized_and_every_transaction_balances(books_module: ModuleType) -> None:
    entries = list(books_module.Books(2000, 1, dt.date(2026, 11, 20)).entries())
    average = sum(len(entry.text.encode()) for entry in entries) / len(entries)
    assert 1300 < average < 2000  # the size of a csctl record file, so that per entry is also per byte
    amount = re.compile(r"^  [A-Z]\S+\s+(-?\d+\.\d\d) CNY$", re.MULTILINE)
    transactions = [entry.text for entry in entries if re.match(r"\d{4}-\d\d-\d\d \*", entry.text)]
    assert len(transactions) > 1800
    for text in transactions:
        postings = [Decimal(found) for found in amount.findall(text)]
        assert 2 <= len(postings) <= 4, text
        assert sum(postings) == 0, text


def test_a_missing_bean_check_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "bean-check"
    result = peer("--entries", "100", "--keep", str(tmp_path / "ledger"), "--bean-check", str(missing))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"no bean-check at {missing}" in result.stderr
    assert not (tmp_path / "ledger").exists()


@pytest.mark.parametrize(("args", "named"), [
    (["--entries", "10"], "--entries"),
    (["--entries", "100", "--runs", "0"], "--runs"),
    (["--entries", "100", "--layouts", "one,yearly"], "--layouts"),
])
def test_bad_options_name_the_option(tmp_path: Path, args: list[str], named: str) -> None:
    result = peer(*args, "--keep", str(tmp_path / "ledger"))
    assert result.returncode == 2
    assert named in result.stderr.splitlines()[-1]
    assert not (tmp_path / "ledger").exists()
