"""Workbooks (`--format xlsx`): text that would start a formula is a string cell as typed, never a formula
and never behind the csv guard's apostrophe; money stays a number."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

from csctl.cli.render import Column, Sheet, rows_text, xlsx_bytes
from tests.conftest import Invoke

RISKY = ['=HYPERLINK("http://x.example","点我")', "+4", "-x", "@SUM(A1)", "\t=1"]
COLUMNS = [Column("text", "h.field"), Column("amount", "h.value")]


def _sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return book.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_text_that_would_start_a_formula_is_a_string_cell_as_typed() -> None:
    rows = [{"text": text, "amount": Decimal("12.50")} for text in RISKY]
    data = xlsx_bytes([Sheet("s", rows, COLUMNS)])
    xml = _sheet_xml(data)
    assert "<f>" not in xml
    cells = re.findall(r'<c r="A(\d+)" t="inlineStr"><is><t[^>]*>([^<]*)</t></is></c>', xml)
    assert [text for row, text in cells if row != "1"] == RISKY
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    page = load_workbook(io.BytesIO(data))["s"]
    assert [(page.cell(row=r, column=1).value, page.cell(row=r, column=1).data_type) for r in range(2, 7)] == [
        (text, "s") for text in RISKY]
    assert page["B2"].value == 12.5
    assert page["B2"].number_format == "0.00"


def test_csv_keeps_its_apostrophe_guard() -> None:
    text = rows_text([{"text": "+4", "amount": Decimal("1.00")}], COLUMNS, "csv")
    assert "'+4" in text


def test_a_monthly_report_workbook_has_no_apostrophes(invoke: Invoke, ledger: Path, tmp_path: Path) -> None:
    result = invoke("remit", "new", "--buyer", "+86 tb_x", "--item", "A1:M:1", "--address", "杭州", "--amount", "5",
                    env={"CSCTL_AGENT": "wang"})
    assert result.exit_code == 0, result.stderr
    workbook = tmp_path / "m.xlsx"
    result = invoke("report", "monthly", "--month", "2026-11", "--format", "xlsx", "--output", str(workbook))
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(workbook) as book:
        sheets = [book.read(name).decode("utf-8") for name in book.namelist() if name.startswith("xl/worksheets/")]
    assert any("<t>+1</t>" in xml for xml in sheets)  # the change against October, as text
    assert not any("<t>'" in xml or "<f>" in xml for xml in sheets)
