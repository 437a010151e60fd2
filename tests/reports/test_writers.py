"""The report writers alone: CSV for Excel and XLSX, streamed in chunks."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from paygov.reports import writers
from paygov.reports.writers import CHUNK_BYTES, Column, Kind, in_batches, render

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
COLUMNS = [
    Column("code"),
    Column("name", Kind.TEXT, 30),
    Column("amount", Kind.AMOUNT),
    Column("count", Kind.COUNT),
    Column("paid_at", Kind.TIME, 20),
    Column("day", Kind.DATE),
    Column("late", Kind.FLAG),
]
ROWS = [
    ("LEPHI", "Lệ phí cấp giấy phép", 1_500_000, 3, datetime(2026, 11, 22, 17, 30, tzinfo=UTC),
     date(2026, 11, 23), False),
    ("PHI", "=HYPERLINK(\"http://x\")", 0, 0, None, None, True),
]  # fmt: skip


async def file_of(fmt: writers.Format, rows: Sequence[Sequence[object]]) -> bytes:
    chunks = render(fmt, COLUMNS, in_batches(rows), ZONE, sheet="Báo cáo")
    return b"".join([chunk async for chunk in chunks])


class TestCsv:
    async def test_bom_header_and_vietnamese_round_trip(self) -> None:
        data = await file_of("csv", ROWS)
        assert data.startswith(b"\xef\xbb\xbfcode,name,amount,count,paid_at,day,late\r\n")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[1] == [
            "LEPHI",
            "Lệ phí cấp giấy phép",
            "1500000",
            "3",
            "2026-11-23T00:30:00+07:00",
            "2026-11-23",
            "false",
        ]
        assert len(rows) == 3

    async def test_text_a_spreadsheet_would_run_is_quoted_and_none_is_empty(self) -> None:
        rows = list(csv.reader(io.StringIO((await file_of("csv", ROWS)).decode("utf-8-sig"))))
        assert rows[2] == ["PHI", '\'=HYPERLINK("http://x")', "0", "0", "", "", "true"]

    async def test_streams_in_chunks_of_about_64_kib(self) -> None:
        many = [ROWS[0]] * 5_000
        chunks = [c async for c in render("csv", COLUMNS, in_batches(many, 700), ZONE, sheet="x")]
        assert len(chunks) > 3
        assert all(CHUNK_BYTES <= len(chunk) < 2 * CHUNK_BYTES for chunk in chunks[:-1])
        rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
        assert len(rows) == 5_001


class TestXlsx:
    async def test_values_types_and_layout(self) -> None:
        book = openpyxl.load_workbook(io.BytesIO(await file_of("xlsx", ROWS)))
        sheet = book["Báo cáo"]
        values = list(sheet.iter_rows(values_only=True))
        assert values[0] == ("code", "name", "amount", "count", "paid_at", "day", "late")
        assert values[1] == (
            "LEPHI",
            "Lệ phí cấp giấy phép",
            1_500_000,
            3,
            datetime(2026, 11, 23, 0, 30),  # local time of the business zone
            datetime(2026, 11, 23),
            False,
        )
        assert values[2] == ("PHI", '=HYPERLINK("http://x")', 0, 0, None, None, True)
        assert sheet["B3"].data_type == "s"  # text, never a formula
        assert sheet["C2"].number_format == "#,##0"
        assert sheet["E2"].number_format == "yyyy-mm-dd hh:mm:ss"
        assert sheet["A1"].font.b is True
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == "A1:G3"
        assert sheet.column_dimensions["B"].width == pytest.approx(30, abs=1)

    async def test_rows_beyond_a_sheet_continue_on_the_next(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(writers, "SHEET_ROWS", 3)  # Excel's is 1,048,576
        rows = [(f"C{n}", "x", n, n, None, None, False) for n in range(5)]
        book = openpyxl.load_workbook(io.BytesIO(await file_of("xlsx", rows)))
        assert book.sheetnames == ["Báo cáo", "Báo cáo (2)", "Báo cáo (3)"]
        codes = [
            row[0]
            for sheet in book.worksheets
            for row in sheet.iter_rows(min_row=2, values_only=True)
        ]
        assert codes == [f"C{n}" for n in range(5)]
        assert all(sheet["A1"].value == "code" for sheet in book.worksheets)

    async def test_a_failure_half_way_leaves_no_temporary_files(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

        async def rows_then_failure() -> AsyncIterator[Sequence[Sequence[object]]]:
            yield ROWS
            raise ConnectionError("the database went away")

        with pytest.raises(ConnectionError):
            async for _ in render("xlsx", COLUMNS, rows_then_failure(), ZONE, sheet="x"):
                pass
        assert list(tmp_path.iterdir()) == []
