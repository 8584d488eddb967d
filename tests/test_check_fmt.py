"""`check`, `fmt` and `check --repair-duplicates` on real ledgers, and the demo ledger."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import Invoke, copy_demo, run_csctl, snapshot

REPO = Path(__file__).resolve().parent.parent


def test_the_demo_ledger_is_clean_and_canonical(tmp_path: Path) -> None:
    demo = copy_demo(tmp_path / "demo")
    result = run_csctl("--lang", "en", "check", cwd=demo)
    assert result.returncode == 0, result.stdout
    # The one warning the demo shows on purpose: a buyer who paid 8 yuan short, awaiting verification.
    assert result.stdout.splitlines() == [
        "records/remittances/2026/11/R-261121-NE7P8.toml:21: R-261121-NE7P8: paid 1280.00, but the order is 1288.00"
        " (warning)"
    ]
    assert run_csctl("fmt", "--check", cwd=demo).returncode == 0
    counts = {kind: len(list((demo / "records" / kind).rglob("*.toml")))
              for kind in ("tickets", "remittances", "remarks", "customers", "kb", "reviews")}
    assert all(counts.values()), counts


def test_a_clean_ledger_checks_clean(invoke: Invoke, make_record) -> None:  # type: ignore[no-untyped-def]
    make_record("customer", name="林晓燕", phone="13857123456")
    make_record("ticket", kind="complaint", channel="phone", subject="快递未到")
    result = invoke("--lang", "en", "check")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "3 files, no problems\n"


def test_check_json_is_a_list_of_problems(invoke: Invoke, make_record, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_record("ticket", kind="complaint", channel="phone", subject="快递未到", customer="C-261101-00000")
    result = invoke("--lang", "en", "check", "--format", "json")
    assert result.exit_code == 1
    relative = str(path.relative_to(ledger))
    assert json.loads(result.stdout) == [
        {"path": relative, "line": 8, "message": "customer: unknown customer C-261101-00000", "warning": False}
    ]


def test_check_paths_limit_what_is_checked(invoke: Invoke, make_record, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    bad = make_record("ticket", kind="complaint", channel="phone", subject="x", customer="C-261101-00000")
    good = make_record("customer", name="周建国")
    assert invoke("check", str(good)).exit_code == 0
    assert invoke("check", str(bad)).exit_code == 1
    assert invoke("check", str(ledger / "records" / "customers")).exit_code == 0
    assert invoke("check", str(ledger / "csctl.toml")).exit_code == 0


def test_references_resolve_across_kinds(invoke: Invoke, make_record, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    customer = make_record("customer", name="陈思琪")
    make_record("ticket", kind="consultation", channel="online", subject="尺码", customer=customer.stem)
    assert invoke("check").exit_code == 0
    make_record("ticket", kind="consultation", channel="online", subject="尺码", customer="C-261123-00000",
                follows="T-261101-00000")
    result = invoke("--lang", "en", "check")
    assert result.exit_code == 1
    assert "customer: unknown customer C-261123-00000" in result.stdout
    assert "follows: unknown ticket T-261101-00000" in result.stdout


def test_fmt_rewrites_only_what_is_not_canonical(invoke: Invoke, make_record, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_record("ticket", kind="complaint", channel="phone", subject="快递未到")
    canonical = path.read_bytes()
    other = make_record("customer", name="林晓燕")
    untouched = other.stat().st_mtime_ns
    assert invoke("fmt", "--check").exit_code == 0
    path.write_text(path.read_text().replace('kind = "complaint"', "kind='complaint'   # 投诉"))
    check = invoke("--lang", "en", "fmt", "--check")
    assert check.exit_code == 1
    assert check.stdout == f"{path.relative_to(ledger)}: not in canonical form\n"
    assert invoke("fmt", env={"CSCTL_AGENT": "wang"}).exit_code == 0
    assert path.read_bytes() == canonical
    assert other.stat().st_mtime_ns == untouched
    again = invoke("fmt")
    assert again.exit_code == 0
    assert again.stdout == ""


def test_fmt_by_a_viewer_is_refused_only_when_there_is_something_to_write(  # type: ignore[no-untyped-def]
    invoke: Invoke, make_record, ledger: Path
) -> None:
    path = make_record("customer", name="林晓燕")
    viewer = {"CSCTL_AGENT": "sales"}
    assert invoke("fmt", env=viewer).exit_code == 0
    path.write_text(path.read_text().replace('name = "林晓燕"', 'name="林晓燕"'))
    before = snapshot(ledger)
    assert invoke("fmt", env=viewer).exit_code == 3
    assert snapshot(ledger) == before


def test_repair_duplicates_renames_the_copy_and_records_it(invoke: Invoke, make_record, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    original = make_record("ticket", kind="complaint", channel="phone", subject="快递未到")
    copy = original.with_name("T-261123-ZZZZZ.toml")
    shutil.copy(original, copy)
    found = invoke("--lang", "en", "check")
    assert found.exit_code == 1
    assert f"duplicate ID {original.stem}" in found.stdout
    assert invoke("check", "--repair-duplicates", env={"CSCTL_AGENT": "wang"}).exit_code == 3
    repaired = invoke("--lang", "en", "check", "--repair-duplicates", env={"CSCTL_AGENT": "lead"})
    assert repaired.exit_code == 0, repaired.stdout
    line = repaired.stdout.strip()
    assert line.startswith(f"{original.stem} -> T-261123-")
    new_id = line.split(" -> ")[1].split(" ")[0]
    assert original.exists()
    assert not copy.exists()
    renamed = original.with_name(f"{new_id}.toml").read_text()
    assert f'id = "{new_id}"' in renamed
    assert renamed.endswith(
        f'[[events]]\nat = 2026-11-23T09:30:00+08:00\nby = "lead"\naction = "renamed"\n'
        f'new_id = "{new_id}"\nold_id = "{original.stem}"\n'
    )
    assert invoke("check").exit_code == 0


def test_check_finds_a_follow_up_its_origin_does_not_name(invoke: Invoke, ledger: Path) -> None:
    origin = invoke("ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", "退款未到")
    origin = origin.stdout.strip()
    followup = invoke("ticket", "new", "--kind", "requirement", "--channel", "outbound", "--subject", "短信通知",
                      "--follows", origin).stdout.strip()
    assert invoke("check").exit_code == 0
    path = next(ledger.rglob(f"{origin}.toml"))
    path.write_text(path.read_text().replace(f'followups = [\n    "{followup}",\n]\n', ""))
    result = invoke("--lang", "en", "check")
    assert result.exit_code == 1
    assert result.stdout == f"{path.relative_to(ledger)}: followups: misses {followup}, which follows this ticket\n"


def test_check_finds_an_origin_naming_a_ticket_that_does_not_follow_it(invoke: Invoke, ledger: Path) -> None:
    """The follow-up whose `follows` was removed has no links left of its own; its origin still names it."""
    origin = invoke("ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", "退款未到")
    origin = origin.stdout.strip()
    followup = invoke("ticket", "new", "--kind", "requirement", "--channel", "outbound", "--subject", "短信通知",
                      "--follows", origin).stdout.strip()
    path = next(ledger.rglob(f"{followup}.toml"))
    text = path.read_text()
    assert f'follows = "{origin}"\n' in text
    path.write_text(text.replace(f'follows = "{origin}"\n', ""))
    result = invoke("--lang", "en", "check")
    assert result.exit_code == 1
    origin_path = next(ledger.rglob(f"{origin}.toml")).relative_to(ledger)
    assert f"{origin_path}:" in result.stdout
    assert f"followups: {followup} does not follow this ticket" in result.stdout


def test_the_demo_ledger_is_what_its_builder_makes(tmp_path: Path) -> None:
    """The committed demo is the builder's output, byte for byte: the README's IDs and figures stay true."""
    import subprocess
    import sys

    built = tmp_path / "demo"
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_demo.py"), str(built)], check=True,
                   capture_output=True, cwd=tmp_path)
    for name in ("csctl.toml", "records", "templates"):
        ours, theirs = ({p.relative_to(root): p.read_bytes() for p in [root / name, *(root / name).rglob("*")]
                         if p.is_file()} for root in (REPO, built))
        assert ours == theirs, name


def test_check_jobs_choose_the_processes_and_refuse_none(invoke: Invoke, ledger: Path) -> None:
    """`--jobs` changes who reads, never what is said; zero processes is a usage error."""
    invoke("ticket", "new", "--kind", "complaint", "--channel", "phone", "--subject", "退款未到")
    one = invoke("--lang", "en", "check", "--jobs", "1")
    two = invoke("--lang", "en", "check", "-j", "2")
    assert (one.exit_code, one.stdout) == (two.exit_code, two.stdout)
    before = snapshot(ledger)
    refused = invoke("check", "--jobs", "0")
    assert refused.exit_code == 2
    assert "--jobs" in refused.stderr
    assert snapshot(ledger) == before
