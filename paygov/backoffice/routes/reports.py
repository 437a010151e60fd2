"""Report downloads: an agency's settlement for a day, and a transaction export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from paygov.agencies import service as agencies
from paygov.backoffice.pages import Text, form_day, staff_page
from paygov.reports import service as reports
from paygov.reports import writers
from paygov.reports.api import download
from paygov.staff.roles import Permission

router = APIRouter()


def _format(text: str) -> writers.Format:
    return "xlsx" if text == "xlsx" else "csv"


@router.get("/reports")
async def reports_page(request: Request) -> Response:
    async with staff_page(request, Permission.DOWNLOAD) as p:
        listed = await agencies.list_agencies(p.session)
    visible = [a for a in listed if p.staff.sees_agency(a.id)]
    return p.render("reports.html", agencies=visible, today=p.today().isoformat())


@router.get("/reports/settlement")
async def settlement(
    request: Request, agency: Text = "", day: Text = "", format: Text = "csv"
) -> Response:
    fmt = _format(format)
    async with staff_page(request, Permission.DOWNLOAD) as p:
        zone = ZoneInfo(p.ctx.settings.business_timezone)
        report = await reports.settlement(
            p.session, staff=p.staff, agency_code=agency, day=form_day(day, "day"), zone=zone
        )
    rows = writers.in_batches(report.rows())
    chunks = writers.render(fmt, reports.SETTLEMENT_COLUMNS, rows, zone, sheet="Settlement")
    return download(chunks, fmt, report.filename(fmt))


@router.get("/reports/transactions")
async def transactions(
    request: Request, first: Text = "", last: Text = "", agency: Text = "", format: Text = "csv"
) -> StreamingResponse:
    fmt = _format(format)
    wanted = reports.TransactionFilter(
        form_day(first, "first"), form_day(last, "last"), "created", agency or None
    )
    async with staff_page(request, Permission.DOWNLOAD) as p:
        ctx = p.ctx
        zone = ZoneInfo(ctx.settings.business_timezone)
        query = await reports.transaction_query(
            p.session,
            staff=p.staff,
            wanted=wanted,
            zone=zone,
            now=ctx.clock.now(),
            grace=timedelta(seconds=ctx.settings.expiry_grace_seconds),
        )

    async def rows() -> AsyncIterator[Sequence[Any]]:
        async with ctx.db.read() as session:
            async for batch in reports.transaction_rows(session, query):
                yield batch

    chunks = writers.render(fmt, reports.TRANSACTION_COLUMNS, rows(), zone, sheet="Transactions")
    return download(chunks, fmt, reports.transactions_filename(wanted, fmt))
