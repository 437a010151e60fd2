"""Transaction exports: one row per payment, filtered, without personal data."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import httpx
import openpyxl
from sqlalchemy import select

from paygov.kit.context import Context
from paygov.payments.models import Attempt
from tests.reports.conftest import PAYER, PROVIDER, Day, staff_headers

URL = "/v1/finance/reports/transactions"
D = "2026-11-23"


async def export(
    ctx: Context,
    client: httpx.AsyncClient,
    params: dict[str, str] | None = None,
    staff: tuple[str, str | None] = ("finance", None),
) -> httpx.Response:
    """The export as a staff member (role, agency) asks for it with these parameters."""
    headers = await staff_headers(ctx, *staff)
    reply = await client.get(URL, params={"from": D, "to": D, **(params or {})}, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply


def table(reply: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))


async def txn_ref(ctx: Context, payment_id: str) -> str:
    async with ctx.db.read() as session:
        found = await session.scalar(
            select(Attempt.txn_ref).where(Attempt.payment_id == payment_id)
        )
    assert found is not None
    return found


class TestCsv:
    async def test_one_row_per_payment_of_the_local_day(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        reply = await export(ctx, client)
        assert reply.headers["content-disposition"] == (
            'attachment; filename="transactions-2026-11-23-2026-11-23.csv"'
        )
        rows = table(reply)
        ids = day.payments
        assert [row["payment_id"] for row in rows] == [
            ids[p] for p in ("p1", "p2", "p3", "p4", "q1")
        ]
        p1 = rows[0]
        assert p1 == {
            "payment_id": ids["p1"],
            "agency": "dvc-hcm",
            "reference": "HS-2026-000123",
            "description": "Lệ phí cấp giấy phép lái xe",
            "status": "succeeded",
            "amount": "150000",
            "paid": "150000",
            "refunded": "20000",
            "refund_pending": "0",
            "overpaid": "0",
            "provider": PROVIDER,
            "bank": "VCB",
            "txn_ref": await txn_ref(ctx, ids["p1"]),
            "created_at": "2026-11-23T00:30:00+07:00",
            "paid_at": "2026-11-23T00:30:00+07:00",
            "late": "false",
        }
        unpaid = rows[3]  # its attempt is still with the provider
        assert unpaid["status"] in ("pending", "expired")
        assert (unpaid["paid"], unpaid["provider"], unpaid["txn_ref"], unpaid["paid_at"]) == (
            "0", PROVIDER, "", ""
        )  # fmt: skip
        assert rows[4]["agency"] == "dvc-hn"

    async def test_no_personal_data_of_the_payer(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        for fmt in ("csv", "xlsx"):
            reply = await export(ctx, client, {"format": fmt})
            text = reply.content.decode("utf-8-sig") if fmt == "csv" else xlsx_text(reply)
            assert day.payments["p1"] in text
            for value in PAYER.values():
                assert value not in text

    async def test_filters(self, ctx: Context, client: httpx.AsyncClient, day: Day) -> None:
        ids = day.payments

        async def chosen(**params: str) -> list[str]:
            return [row["payment_id"] for row in table(await export(ctx, client, params))]

        assert await chosen(by="paid") == [ids[p] for p in ("p1", "p2", "p3", "q1")]
        assert await chosen(**{"from": "2026-11-22", "by": "paid"}) == [
            ids[p] for p in ("p0", "p1", "p2", "p3", "q1")
        ]
        assert await chosen(agency="dvc-hn") == [ids["q1"]]
        assert await chosen(reference="HS-UNPAID") == [ids["p4"]]
        assert await chosen(status="succeeded", agency="dvc-hcm") == [
            ids[p] for p in ("p1", "p2", "p3")
        ]
        assert await chosen(provider=PROVIDER, agency="dvc-hcm") == [
            ids[p] for p in ("p1", "p2", "p3", "p4")
        ]
        nothing = await export(ctx, client, {"from": "2026-12-01", "to": "2026-12-31"})
        assert (
            nothing.content
            == (
                "\ufeffpayment_id,agency,reference,description,status,amount,paid,refunded,"
                "refund_pending,overpaid,provider,bank,txn_ref,created_at,paid_at,late\r\n"
            ).encode()
        )

    async def test_agency_finance_gets_their_own_agency(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        rows = table(await export(ctx, client, staff=("agency_finance", "dvc-hn")))
        assert [row["payment_id"] for row in rows] == [day.payments["q1"]]


def xlsx_text(reply: httpx.Response) -> str:
    sheet = openpyxl.load_workbook(io.BytesIO(reply.content)).active
    return "\n".join(str(value) for row in sheet.iter_rows(values_only=True) for value in row)


class TestXlsx:
    async def test_values_and_types(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        reply = await export(ctx, client, {"format": "xlsx", "agency": "dvc-hcm"})
        assert reply.headers["content-type"] == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert reply.headers["content-disposition"].endswith('-2026-11-23-dvc-hcm.xlsx"')
        sheet = openpyxl.load_workbook(io.BytesIO(reply.content))["Transactions"]
        header, *rows = list(sheet.iter_rows(values_only=True))
        p1 = dict(zip(header, rows[0], strict=True))
        assert p1["payment_id"] == day.payments["p1"]
        assert p1["description"] == "Lệ phí cấp giấy phép lái xe"
        assert (p1["amount"], p1["paid"], p1["refunded"]) == (150_000, 150_000, 20_000)
        assert p1["created_at"] == datetime(2026, 11, 23, 0, 30)
        assert p1["late"] is False
        assert sheet["F2"].number_format == "#,##0"
        assert sheet["N2"].number_format == "yyyy-mm-dd hh:mm:ss"
        assert len(rows) == 4
