"""The benchmark ledger generator (benchmarks/generate.py): valid, complete, and the same for the same seed."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from csctl.cli.main import cli
from csctl.domain import remarks
from csctl.models.kinds import KINDS
from csctl.models.records import KbStatus, RemittanceStatus, TicketStatus
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store
from tests.conftest import NOW, snapshot

GENERATE = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"
RECORDS = 300


def generate(out: Path, seed: int, *options: str, records: int = RECORDS) -> None:
    result = subprocess.run([sys.executable, str(GENERATE), "--records", str(records), "--out", str(out),
                             "--seed", str(seed), "--no-fsync", "--no-git", "--quiet", *options],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "ledger"
    generate(out, seed=7)
    return out


def test_the_ledger_checks_clean(generated: Path) -> None:
    result = CliRunner().invoke(cli, ["--lang", "en", "check"], env={"CSCTL_LEDGER": str(generated),
                                                                     "CSCTL_NOW": NOW}, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    assert result.stdout == ""
    assert result.stderr.strip() == f"{RECORDS + 1} files, no problems"


def test_every_kind_in_every_state(generated: Path) -> None:
    store = Store(Ledger(generated))
    records = {name: [store.load(kind, path) for _, path in store.iter_paths([kind])]
               for name, kind in KINDS.items()}
    assert sum(len(found) for found in records.values()) == RECORDS
    assert all(records.values()), {name: len(found) for name, found in records.items()}
    assert {t.status for t in records["ticket"]} == set(TicketStatus)  # type: ignore[attr-defined]
    assert {r.status for r in records["remittance"]} == set(RemittanceStatus)  # type: ignore[attr-defined]
    assert {k.status for k in records["kb"]} == set(KbStatus)  # type: ignore[attr-defined]
    closed = [t for t in records["ticket"] if t.status is TicketStatus.CLOSED]  # type: ignore[attr-defined]
    assert min(len(t.events) for t in closed) >= 5
    assert max(len(t.events) for t in closed) <= 15
    assert any(t.follows for t in records["ticket"])  # type: ignore[attr-defined]
    assert any(r.not_duplicate_of or r.status is RemittanceStatus.CANCELLED for r in records["remittance"])  # type: ignore[attr-defined]


def test_remark_histories_chain_and_register(generated: Path) -> None:
    store = Store(Ledger(generated))
    _, stored, broken = remarks.readable(store)
    assert not broken
    assert {1, 2, 3} <= {len(f.remarks) for f, _ in remarks.readable_remark_files(store)[0]}
    chains = remarks.chains(remarks.deductions_from(stored))
    assert any(len(links) >= 2 for links in chains.values())
    assert not any(link.broken for links in chains.values() for link in links)
    refunds = [r for r in remarks.refunds_from(stored) if r.to_register]
    assert any(r.registered for r in refunds)


def test_one_seed_gives_the_same_files(generated: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, seed=7)
    assert snapshot(again) == snapshot(generated)
    other = tmp_path / "other"
    generate(other, seed=8)
    assert snapshot(other) != snapshot(generated)


def test_years_set_how_far_back_the_history_goes(generated: Path, tmp_path: Path) -> None:
    """A year of the same desk (`--years 1`): every record within the year before `--until`, and clean."""
    year = tmp_path / "year"
    generate(year, 7, "--years", "1", "--until", "2026-06-30", records=200)
    store = Store(Ledger(year))
    created = [store.load(kind, path).created.date() for kind, path in store.iter_paths()]
    assert len(created) == 200
    assert dt.date(2025, 7, 1) <= min(created) < dt.date(2025, 9, 1)
    assert max(created) == dt.date(2026, 6, 30)
    three_years = [store.load(kind, path).created.date() for kind, path in Store(Ledger(generated)).iter_paths()]
    assert min(three_years) < dt.date(2024, 6, 1)
    result = CliRunner().invoke(cli, ["--lang", "en", "check"], env={"CSCTL_LEDGER": str(year), "CSCTL_NOW": NOW},
                                catch_exceptions=False)
    assert (result.exit_code, result.stdout) == (0, "")
    refused = subprocess.run([sys.executable, str(GENERATE), "--records", "10", "--out", str(tmp_path / "none"),
                              "--years", "0"], capture_output=True, text=True, timeout=60)
    assert (refused.returncode, refused.stderr) == (1, "generate: --years must be 1 or more\n")


def test_ratio_times_commands_in_turns_with_the_floor(generated: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    shutil.copytree(generated, ledger)
    result = subprocess.run([sys.executable, str(GENERATE.parent / "ratio.py"), "--ledger", str(ledger), "--runs", "2",
                             "report daily", "alerts --format json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:] for line in result.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| figure")}
    assert list(rows) == ["floor: list + read every record file", "`csctl report daily`",
                          "`csctl alerts --format json`"]
    assert rows["floor: list + read every record file"][-1] == "1.00 |"
    for median, fastest, ratio in rows.values():
        assert 0 < float(fastest) <= float(median)
        assert float(ratio.rstrip(" |")) > 0
    assert result.stderr.count("round") == 3  # one round not counted, then the two counted


def test_ratio_compares_ledgers_side_by_side_in_the_same_rounds(generated: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(generated, first)
    shutil.copytree(generated, second)
    shutil.rmtree(second / "records" / "tickets")
    result = subprocess.run([sys.executable, str(GENERATE.parent / "ratio.py"), "--ledger", str(first), "--ledger",
                             str(second), "--runs", "1", "ticket list --open"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{RECORDS} record files in {first}"
    tickets = len(list((first / "records" / "tickets").rglob("*.toml")))
    assert lines[1] == f"{RECORDS - tickets} record files in {second}"
    assert lines[2] == "1 rounds, each command after the floor, each ledger in turn"
    assert lines[4] == "| figure | median s | fastest s | × floor | median s | fastest s | × floor |"
    floor_row = next(line for line in lines if line.startswith("| floor"))
    assert floor_row.count("| 1.00 |") == 2
