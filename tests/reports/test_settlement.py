"""An agency's settlement for a day, tied to the ledger (DESIGN.md §10), on both databases."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl

from paygov.kit.context import Context
from paygov.reports import service
from tests.payments_flow.test_attempts import new_payment, read, start, tell
from tests.reports.conftest import (
    DAY,
    DEFAULT_ACCOUNT,
    LEPHI_NAME,
    PHI_NAME,
    SECOND_ACCOUNT,
    TOTAL_OF_A,
    Day,
    acting_as,
    lephi,
    refunded,
    staff_headers,
    travel,
    unexplained,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
URL = "/v1/finance/reports/settlement"
# section, code, name, payments, gross, refunds, refunded, net, ledger_net, ties
DAY_OF_A = [
    ("item", "LEPHI", LEPHI_NAME, 3, 350_001, 2, 35_000, 315_001, None, None),
    ("item", "PHI", PHI_NAME, 1, 50_000, 1, 20_000, 30_000, None, None),
    ("beneficiary", DEFAULT_ACCOUNT, "", 3, 330_000, 2, 25_000, 305_000, 305_000, True),
    ("beneficiary", SECOND_ACCOUNT, "", 2, 70_001, 2, 30_000, 40_001, 40_001, True),
    ("total", "", "", 3, 400_001, 3, 55_000, 345_001, 345_001, True),
]


async def settlement(ctx: Context, agency: str, day: date) -> service.Settlement:
    async with ctx.db.read() as session:
        return await service.settlement(session, staff=None, agency_code=agency, day=day, zone=ZONE)


def lines(report: service.Settlement) -> list[tuple[Any, ...]]:
    return [row[2:] for row in report.rows()]


class TestTotals:
    async def test_a_day_by_item_and_beneficiary_ties_to_the_ledger(
        self, ctx: Context, day: Day
    ) -> None:
        # p1 paid at 00:30 local (still the previous day in UTC) counts; the partial
        # refunds of p1 and p3 and the refund of p0 (paid the day before) are subtracted;
        # p3's pro-rata refund is split over its two LEPHI items as the ledger split it.
        report = await settlement(ctx, "dvc-hcm", DAY)
        assert lines(report) == DAY_OF_A
        assert report.ties

    async def test_other_days_and_agencies_do_not_leak_in(self, ctx: Context, day: Day) -> None:
        before = await settlement(ctx, "dvc-hcm", DAY - timedelta(days=1))
        assert lines(before)[-1] == ("total", "", "", 1, 150_000, 0, 0, 150_000, 150_000, True)
        after = await settlement(ctx, "dvc-hcm", DAY + timedelta(days=1))
        assert lines(after) == [
            ("item", "LEPHI", LEPHI_NAME, 1, 70_000, 1, 50_000, 20_000, None, None),
            ("beneficiary", DEFAULT_ACCOUNT, "", 1, 70_000, 1, 50_000, 20_000, 20_000, True),
            ("total", "", "", 1, 70_000, 1, 50_000, 20_000, 20_000, True),
        ]
        other = await settlement(ctx, "dvc-hn", DAY)
        assert lines(other) == [
            ("item", "LEPHI", LEPHI_NAME, 1, 300_000, 0, 0, 300_000, None, None),
            ("beneficiary", DEFAULT_ACCOUNT, "", 1, 300_000, 0, 0, 300_000, 300_000, True),
            ("total", "", "", 1, 300_000, 0, 0, 300_000, 300_000, True),
        ]
        quiet = await settlement(ctx, "dvc-hcm", DAY + timedelta(days=5))
        assert lines(quiet) == [("total", "", "", 0, 0, 0, 0, 0, 0, True)]

    async def test_a_second_payment_and_its_refund_stay_out(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        # The citizen pays twice (two attempts): the second is an overpayment, owed back
        # to the citizen, not the agency's money; refunding it leaves payable untouched.
        later = DAY + timedelta(days=2)
        travel(ctx, later, 10)
        api = acting_as(client, day.a)
        pid = (await new_payment(api, amount=150_000, items=[lephi(150_000)]))["payment_id"]
        first, second = await start(ctx, pid, day.bank), await start(ctx, pid, day.bank)
        await tell(ctx, day.bank, first)
        await tell(ctx, day.bank, second)
        available = (await read(api, pid))["refund_summary"]["amount_available"]
        await refunded(ctx, api, pid, 150_000, available)
        assert (await read(api, pid))["refund_summary"]["amount_overpaid"] == 150_000
        report = await settlement(ctx, "dvc-hcm", later)
        assert lines(report) == [
            ("item", "LEPHI", LEPHI_NAME, 1, 150_000, 0, 0, 150_000, None, None),
            ("beneficiary", DEFAULT_ACCOUNT, "", 1, 150_000, 0, 0, 150_000, 150_000, True),
            ("total", "", "", 1, 150_000, 0, 0, 150_000, 150_000, True),
        ]

    async def test_ledger_money_without_a_payment_does_not_tie(
        self, ctx: Context, day: Day
    ) -> None:
        await unexplained(ctx, day, 5_000)
        report = await settlement(ctx, "dvc-hcm", DAY)
        assert lines(report)[2] == (
            "beneficiary", DEFAULT_ACCOUNT, "", 3, 330_000, 2, 25_000, 305_000, 310_000, False
        )  # fmt: skip
        assert lines(report)[3][-1] is True
        assert report.total.ties is False
        assert not report.ties


class TestDownload:
    async def test_csv_for_excel(self, ctx: Context, client: httpx.AsyncClient, day: Day) -> None:
        headers = await staff_headers(ctx, "finance")
        reply = await client.get(
            URL, params={"agency": "dvc-hcm", "date": "2026-11-23"}, headers=headers
        )
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "text/csv; charset=utf-8"
        assert reply.headers["content-disposition"] == (
            'attachment; filename="settlement-dvc-hcm-2026-11-23.csv"'
        )
        assert reply.headers["paygov-ties"] == "true"
        assert reply.content.startswith("\ufeffagency,date,section,".encode())
        rows = list(csv.reader(io.StringIO(reply.content.decode("utf-8-sig"))))
        assert rows[1] == [
            "dvc-hcm", "2026-11-23", "item", "LEPHI", "Lệ phí cấp giấy phép",
            "3", "350001", "2", "35000", "315001", "", "",
        ]  # fmt: skip
        assert rows[-1][2:] == TOTAL_OF_A
        assert len(rows) == 1 + len(DAY_OF_A)

    async def test_xlsx_values_and_types(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        headers = await staff_headers(ctx, "agency_finance", agency="dvc-hcm")
        reply = await client.get(
            URL,
            params={"agency": "dvc-hcm", "date": "2026-11-23", "format": "xlsx"},
            headers=headers,
        )
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-disposition"].endswith('settlement-dvc-hcm-2026-11-23.xlsx"')
        sheet = openpyxl.load_workbook(io.BytesIO(reply.content)).active
        values = list(sheet.iter_rows(values_only=True))
        assert values[0][:3] == ("agency", "date", "section")
        assert [row[2:] for row in values[1:]] == DAY_OF_A
        assert values[1][1] == datetime(2026, 11, 23)
        assert sheet["G2"].number_format == "#,##0"
        assert isinstance(sheet["G2"].value, int)
        assert sheet["A1"].font.b is True
        assert sheet.freeze_panes == "A2"
