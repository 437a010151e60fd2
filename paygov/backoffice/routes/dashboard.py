"""The dashboard: volume and amount per day, success rates per bank and per agency, open
discrepancies and the providers' health, over the last 14 days."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.backoffice import charts, repository
from paygov.backoffice.pages import staff_page
from paygov.reconciliation import repository as recon
from paygov.staff.roles import Permission

router = APIRouter()

DAYS = 14


async def _open_discrepancies(session: AsyncSession) -> int:
    """Unresolved discrepancies of the ten latest completed runs (held items wait for the
    next day's run, so they are not counted)."""
    found = 0
    for run in await recon.runs(session, provider=None, day=None, limit=10):
        if run.status == "completed":
            async for row in recon.discrepancies(session, run, after=None, limit=1000):
                item = dict(zip(recon.DISCREPANCY_COLUMNS, row, strict=True))
                found += item["resolution"] is None and item["class"] != "held"
    return found


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    async with staff_page(request, Permission.READ) as p:
        since = p.ctx.clock.now() - timedelta(days=DAYS)
        scope = p.staff.agency_id
        days = await repository.per_day(p.session, scope, since)
        banks = charts.rates(await repository.success_by_bank(p.session, scope, since))
        by_agency = charts.rates(await repository.success_by_agency(p.session, scope, since))
        open_items = await _open_discrepancies(p.session) if scope is None else None
    live = sorted(p.ctx.providers.by_code.values(), key=lambda v: v.code) if scope is None else []
    labels = [
        (day[8:10] + "/" + day[5:7], count, paid, amount) for day, count, paid, amount in days
    ]
    return p.render(
        "dashboard.html",
        count_chart=charts.columns([(label, count) for label, count, _, _ in labels]),
        amount_chart=charts.columns([(label, amount) for label, _, _, amount in labels], " ₫"),
        totals={
            "payments": sum(d[1] for d in days),
            "paid": sum(d[2] for d in days),
            "amount": sum(d[3] for d in days),
        },
        open_items=open_items,
        banks=banks,
        agencies=by_agency,
        providers=live,
    )
