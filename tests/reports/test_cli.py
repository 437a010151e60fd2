"""`paygov report …`: the file whole or not at all, one clear line on bad input."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest

from paygov.kit.context import Context
from paygov.reports.cli import write_file
from tests.reports.conftest import TOTAL_OF_A, Day, unexplained
from tests.test_cli import one_line_error, paygov

SETTLEMENT = ["report", "settlement", "--agency", "dvc-hcm", "--date", "2026-11-23"]
TRANSACTIONS = ["report", "transactions", "--from", "2026-11-23", "--to", "2026-11-23"]
BACKWARDS = ["report", "transactions", "--from", "2026-11-30", "--to", "2026-11-01"]


def files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


class TestWrites:
    async def test_settlement_csv(self, ctx: Context, day: Day, tmp_path: Path) -> None:
        out = tmp_path / "out" / "settlement.csv"
        out.parent.mkdir()
        result = paygov(ctx, *SETTLEMENT, "--output", str(out))
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert (summary["format"], summary["ties"], summary["bytes"]) == (
            "csv", True, out.stat().st_size
        )  # fmt: skip
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        assert rows[1][3:5] == ["LEPHI", "Lệ phí cấp giấy phép"]
        assert rows[-1][2:] == TOTAL_OF_A
        assert files(out.parent) == ["settlement.csv"]

    async def test_transactions_xlsx_from_the_suffix(
        self, ctx: Context, day: Day, tmp_path: Path
    ) -> None:
        out = tmp_path / "giao-dich.xlsx"
        result = paygov(ctx, *TRANSACTIONS, "--agency", "dvc-hcm", "--output", str(out))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["rows"] == 4
        sheet = openpyxl.load_workbook(out).active
        assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
            day.payments[p] for p in ("p1", "p2", "p3", "p4")
        ]

    async def test_a_day_that_does_not_tie_is_written_and_fails(
        self, ctx: Context, day: Day, tmp_path: Path
    ) -> None:
        await unexplained(ctx, day, -1_000, kind="refund")
        out = tmp_path / "settlement.xlsx"
        result = paygov(ctx, *SETTLEMENT, "--output", str(out))
        assert "does not tie to the ledger" in one_line_error(result)
        assert json.loads(result.stdout)["ties"] is False
        ties = [row[-1] for row in openpyxl.load_workbook(out).active.iter_rows(values_only=True)]
        assert ties[1:] == [None, None, False, True, False]


class TestRefuses:
    def test_bad_arguments_before_the_database(self, tmp_path: Path) -> None:
        env = {"PAYGOV_ENVIRONMENT": "test", "PAYGOV_DATABASE_URL": "sqlite+aiosqlite:///"}
        out = str(tmp_path / "report.csv")
        cases = [
            ([*SETTLEMENT[:-1], "2026-13-01", "--output", out], "not a day (YYYY-MM-DD)"),
            ([*SETTLEMENT, "--output", out, "--format", "pdf"], "invalid choice: 'pdf'"),
            ([*SETTLEMENT, "--output", str(tmp_path / "missing" / "r.csv")], "no such directory"),
            ([*SETTLEMENT, "--output", str(tmp_path)], "is a directory"),
        ]
        for args, expected in cases:
            line = one_line_error(paygov(env, *args))
            assert expected in line, (args, line)
        assert files(tmp_path) == []

    async def test_refused_by_the_database_leaves_no_file(
        self, ctx: Context, tmp_path: Path
    ) -> None:
        folder = tmp_path / "out"
        folder.mkdir()
        out = str(folder / "report.csv")
        cases = [
            (
                [*SETTLEMENT[:3], "nope", *SETTLEMENT[4:], "--output", out],
                "No agency with this code",
            ),
            ([*BACKWARDS, "--output", out], "'from' must not be later than 'to'"),
            ([*TRANSACTIONS, "--provider", "no-such-bank", "--output", out], "No provider"),
        ]
        for args, expected in cases:
            line = one_line_error(paygov(ctx, *args))
            assert expected in line, (args, line)
        assert files(folder) == []

    async def test_a_failure_while_writing_leaves_no_partial_file(self, tmp_path: Path) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"\xef\xbb\xbfpayment_id\r\n"
            raise ConnectionError("the database went away")

        with pytest.raises(ConnectionError):
            await write_file(tmp_path / "report.csv", chunks())
        assert files(tmp_path) == []
