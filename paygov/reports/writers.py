"""Report files streamed in chunks with bounded memory: CSV for Excel, and XLSX.

A report is a list of `Column`s and rows that arrive in batches (an async iterable of
lists of rows, e.g. the partitions of `session.stream(...)`), so a million rows are never
held at once. `render(format, columns, batches, zone)` yields the file's bytes in chunks
of about 64 KiB.

* CSV: UTF-8 with a byte order mark (Excel then reads Vietnamese correctly), one header
  row, integers as plain integers, times as ISO 8601 text in the business time zone, to
  the second.
  Free text (`Kind.TEXT`) that a spreadsheet would take for a formula gets a leading `'`.
* XLSX: written by xlsxwriter in constant-memory mode to an unnamed temporary file, then
  streamed. Bold frozen header row with a filter, column widths, amounts as numbers with
  a thousands separator, times as Excel date-times in the business time zone (to the
  second, like the CSV). A sheet holds at most Excel's 1,048,576 rows; further rows
  continue on a new sheet.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

import xlsxwriter

CHUNK_BYTES = 64 * 1024
# Rows written between two checks of the CSV buffer's size.
CSV_SLICE = 256
# Excel's limit per sheet, the header row included.
SHEET_ROWS = 1_048_576

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

Row = Sequence[Any]
Batches = AsyncIterable[Sequence[Row]]


class Kind(StrEnum):
    """How a column's values are written."""

    TEXT = "text"  # free text from outside PayGov (references, descriptions, item names)
    CODE = "code"  # ids, codes and statuses PayGov itself controls
    AMOUNT = "amount"  # integer VND
    COUNT = "count"
    TIME = "time"  # an aware datetime, shown in the business time zone
    DATE = "date"
    FLAG = "flag"  # a bool


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.CODE
    width: float = 14


async def in_batches(rows: Iterable[Row], size: int = 1000) -> AsyncIterator[Sequence[Row]]:
    """Rows already in memory (a small report) as the batches the writers take."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def render(
    fmt: Format, columns: Sequence[Column], batches: Batches, zone: ZoneInfo, *, sheet: str
) -> AsyncIterator[bytes]:
    """The report file in `fmt`, as chunks of bytes."""
    if fmt == "xlsx":
        return xlsx_chunks(columns, batches, zone, sheet=sheet)
    return csv_chunks(columns, batches, zone)


# --- CSV ----------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _plain_text(value: str) -> str:
    """Text a spreadsheet would run as a formula (CSV injection) is quoted with `'`."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_cell(kind: Kind, zone: ZoneInfo) -> Callable[[Any], Any] | None:
    """How a CSV cell of this kind is written; None: as it comes (csv calls str)."""
    if kind is Kind.TIME:
        return lambda value: value.astimezone(zone).isoformat(timespec="seconds")
    if kind is Kind.DATE:
        return date.isoformat
    if kind is Kind.FLAG:
        return lambda value: "true" if value else "false"
    if kind is Kind.TEXT:
        return _plain_text
    return None


def _row_converter(columns: Sequence[Column], zone: ZoneInfo) -> Callable[[Row], Row]:
    steps = [
        (index, cell)
        for index, column in enumerate(columns)
        if (cell := _csv_cell(column.kind, zone)) is not None
    ]

    def convert(row: Row) -> Row:
        out = list(row)
        for index, cell in steps:
            value = out[index]
            if value is not None:
                out[index] = cell(value)
        return out

    return convert


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


async def csv_chunks(
    columns: Sequence[Column], batches: Batches, zone: ZoneInfo, *, chunk_bytes: int = CHUNK_BYTES
) -> AsyncIterator[bytes]:
    """CSV for Excel: BOM, one header row, then the rows; chunks of about `chunk_bytes`."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([column.name for column in columns])
    convert = _row_converter(columns, zone)
    async for batch in batches:
        for start in range(0, len(batch), CSV_SLICE):
            writer.writerows(map(convert, batch[start : start + CSV_SLICE]))
            if buffer.tell() >= chunk_bytes:
                yield _drain(buffer)
    if buffer.tell():
        yield _drain(buffer)


# --- XLSX ---------------------------------------------------------------------------------

NUMBER_FORMATS = {
    Kind.AMOUNT: "#,##0",
    Kind.COUNT: "0",
    Kind.TIME: "yyyy-mm-dd hh:mm:ss",
    Kind.DATE: "yyyy-mm-dd",
}
WRITE_METHODS = {
    Kind.TEXT: "write_string",
    Kind.CODE: "write_string",
    Kind.AMOUNT: "write_number",
    Kind.COUNT: "write_number",
    Kind.TIME: "write_datetime",
    Kind.DATE: "write_datetime",
    Kind.FLAG: "write_boolean",
}


def _cell_writer(sheet: Any, method: str) -> Callable[..., int]:
    """The sheet's method to write one cell. xlsxwriter's public `write_*` methods only
    add a check for "A1"-style arguments to the `_write_*` ones; skipping it per cell is
    what `write_row` does too (measured in docs/benchmarks.md). Should a release rename
    them, the public method still works."""
    found: Callable[..., int] = getattr(sheet, "_" + method, None) or getattr(sheet, method)
    return found


class XlsxBook:
    """One workbook written row by row in constant memory (xlsxwriter keeps one row)."""

    def __init__(
        self,
        file: IO[bytes] | str,
        columns: Sequence[Column],
        zone: ZoneInfo,
        sheet: str,
        tmpdir: str | None = None,
    ) -> None:
        self.book = xlsxwriter.Workbook(
            file,
            {
                "constant_memory": True,
                "tmpdir": tmpdir,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        self.columns = columns
        self.zone = zone
        self.sheet_name = sheet[:24]
        self.header = self.book.add_format({"bold": True})
        self.formats = {
            kind: self.book.add_format({"num_format": f}) for kind, f in NUMBER_FORMATS.items()
        }
        self.sheets: list[Any] = []
        self.row = 0
        self.cells: list[tuple[int, Callable[..., int], Any, Callable[[Any], Any] | None]] = []
        self._new_sheet()

    def _new_sheet(self) -> None:
        if self.sheets:
            self._finish_sheet()
        name = self.sheet_name if not self.sheets else f"{self.sheet_name} ({len(self.sheets) + 1})"
        sheet = self.book.add_worksheet(name)
        self.sheets.append(sheet)
        for index, column in enumerate(self.columns):
            sheet.set_column(index, index, column.width)
            sheet.write_string(0, index, column.name, self.header)
        sheet.freeze_panes(1, 0)
        self.row = 1
        to_local = self._local
        self.cells = [
            (
                index,
                _cell_writer(sheet, WRITE_METHODS[column.kind]),
                self.formats.get(column.kind),
                to_local if column.kind is Kind.TIME else None,
            )
            for index, column in enumerate(self.columns)
        ]

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone).replace(tzinfo=None, microsecond=0)

    def _finish_sheet(self) -> None:
        self.sheets[-1].autofilter(0, 0, max(self.row - 1, 0), len(self.columns) - 1)

    def write(self, batch: Sequence[Row]) -> None:
        for values in batch:
            if self.row == SHEET_ROWS:
                self._new_sheet()
            row = self.row
            for index, put, cell_format, convert in self.cells:
                value = values[index]
                if value is not None:
                    put(row, index, convert(value) if convert else value, cell_format)
            self.row = row + 1

    def close(self) -> None:
        self._finish_sheet()
        self.book.close()


async def xlsx_chunks(
    columns: Sequence[Column],
    batches: Batches,
    zone: ZoneInfo,
    *,
    sheet: str,
    chunk_bytes: int = CHUNK_BYTES,
) -> AsyncIterator[bytes]:
    """XLSX built in a temporary file, then read out in chunks. The writing runs in a
    thread so the event loop keeps serving. xlsxwriter's own row files live in a folder of
    ours, removed even when the download is abandoned half-way (a client gone)."""
    with (
        tempfile.TemporaryDirectory(prefix="paygov-xlsx-") as folder,
        tempfile.TemporaryFile(dir=folder) as file,
    ):
        book = XlsxBook(file, columns, zone, sheet, tmpdir=folder)
        async for batch in batches:
            await asyncio.to_thread(book.write, batch)
        await asyncio.to_thread(book.close)
        file.seek(0)
        while chunk := file.read(chunk_bytes):
            yield chunk
