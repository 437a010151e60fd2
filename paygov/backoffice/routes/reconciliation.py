"""Reconciliation: the runs, starting one for a provider's day, a run's discrepancies, their
resolution or a request to book a line's money to a payment order (a manual correction, which
a second person approves on the approvals page), and the run's report."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.backoffice import service
from paygov.backoffice.pages import (
    PREFIX,
    PageDenied,
    Text,
    form_day,
    redirect,
    staff_page,
    upload,
)
from paygov.kit.errors import PayGovError, ValidationFailed
from paygov.reconciliation import corrections
from paygov.reconciliation import repository as recon
from paygov.reconciliation import service as reconciliation
from paygov.reconciliation import views as recon_views
from paygov.reports import writers
from paygov.reports.api import download
from paygov.staff.roles import Permission

router = APIRouter()
# Item numbers are 32-bit in the database: a larger one names nothing (and PostgreSQL would
# refuse the query).
MAX_ITEM_NO = 2**31 - 1


async def _runs_page(
    request: Request, *, asked: dict[str, str] | None = None, error: PayGovError | None = None
) -> Response:
    """The runs, newest first, and (for who may start one) the form to start a run, as
    asked, with why it was refused."""
    async with staff_page(request, Permission.RESOLVE) as p:
        runs = await recon.runs(p.session, provider=None, day=None, limit=100)
        may_start = p.staff.may(Permission.RECONCILE)
        if may_start:
            await p.ctx.providers.refresh(p.session, p.ctx.box)
    yesterday = (p.today() - timedelta(days=1)).isoformat()
    return p.render(
        "runs.html",
        refused=error,
        runs=[recon_views.run_summary(r) for r in runs],
        may_start=may_start,
        providers=service.fetchable_providers(p.ctx) if may_start else [],
        uploadable=service.statement_providers(p.ctx) if may_start else [],
        asked=asked or {"provider": "", "day": yesterday},
    )


@router.get("/reconciliation")
async def runs_page(request: Request) -> Response:
    return await _runs_page(request)


@router.post("/reconciliation")
async def start_run(request: Request) -> Response:
    """Runs in the request (see docs/backoffice.md: big statements go through the CLI or
    the nightly job); the run opens its own transactions, so none is open around it."""
    async with staff_page(request, Permission.RECONCILE, post=True) as p:
        asked = {"provider": p.form.get("provider", "")[:32], "day": p.form.get("day", "")[:10]}
    try:
        run = await service.start_run(
            p.ctx, p.staff, asked["provider"], form_day(asked["day"], "day")
        )
    except PayGovError as exc:
        return await _runs_page(request, asked=asked, error=exc)
    return redirect(f"{PREFIX}/reconciliation/{run.id}")


@router.post("/reconciliation/upload")
async def upload_run(request: Request) -> Response:
    """A provider's statement file for a day, reconciled in the request (as start_run)."""
    async with staff_page(request, Permission.RECONCILE, post=True) as p:
        asked = {"provider": p.form.get("provider", "")[:32], "day": p.form.get("day", "")[:10]}
        statement = await upload(request)
    try:
        if statement is None or statement.filename is None:
            raise ValidationFailed("Choose the statement file.", field="file")
        day = form_day(asked["day"], "day")
        with tempfile.TemporaryDirectory(prefix="paygov-statement-") as folder:
            # The name as the person's computer gave it, without its folders: the run records
            # it, and its suffix tells a camt.053 file from a CSV one.
            path = Path(folder) / (PurePosixPath(statement.filename.replace("\\", "/")).name or "x")
            with path.open("wb") as saved:
                await asyncio.to_thread(shutil.copyfileobj, statement.file, saved, 1 << 20)
            run = await service.start_run(p.ctx, p.staff, asked["provider"], day, path)
    except PayGovError as exc:
        return await _runs_page(request, asked=asked, error=exc)
    return redirect(f"{PREFIX}/reconciliation/{run.id}")


async def _run_page(
    request: Request,
    run_id: str,
    *,
    msg: str = "",
    asked: dict[str, Any] | None = None,
    error: PayGovError | None = None,
) -> Response:
    """The run and its discrepancies, each open one with the forms to resolve it or (a
    credit PayGov could not book) to book it to a payment order; the correction asked for,
    with why it was refused."""
    async with staff_page(request, Permission.RESOLVE) as p:
        run = await reconciliation.get_run(p.session, run_id[:64])
        items = [
            recon_views.discrepancy_view(row)
            async for row in recon.discrepancies(p.session, run, after=None, limit=500)
        ]
        waiting = await _corrections_waiting(p.session, run.provider, run.day.isoformat())
    for item in items:
        item["waiting"] = waiting.get(item["subject"])
        item["correctable"] = item["waiting"] is None and _offers_correction(item)
    return p.render(
        "run.html",
        refused=error,
        flash=p.flash(msg),
        run=recon_views.run_summary(run),
        items=items,
        asked=asked or {},
        may_download=p.staff.may(Permission.DOWNLOAD),
    )


async def _corrections_waiting(
    session: AsyncSession, provider: str, day: str
) -> dict[str, dict[str, Any]]:
    """The pending corrections of the provider's day, by the subject of their line (a re-run
    of the day names the same line by the same subject)."""
    pending = await corrections.corrections(session, status="pending", limit=500)
    return {c["subject"]: c for c in pending if (c["provider"], c["date"]) == (provider, day)}


def _offers_correction(item: dict[str, Any]) -> bool:
    """Whether the page offers to book the line to an order: an open credit of a class a
    correction takes that the run did not book itself. The service checks it all again."""
    return (
        item["class"] in corrections.CORRECTABLE_CLASSES
        and item["resolution"] is None
        and not item["corrected"]
        and (item["bank_amount"] or 0) > 0
    )


@router.get("/reconciliation/{run_id}")
async def run_page(request: Request, run_id: str, msg: Text = "") -> Response:
    return await _run_page(request, run_id, msg=msg)


@router.post("/reconciliation/{run_id}/items/{item_id}/resolve")
async def resolve(request: Request, run_id: str, item_id: int) -> Response:
    async with staff_page(request, Permission.RESOLVE, post=True) as p:
        run = await reconciliation.get_run(p.session, run_id[:64])
        reason = p.form.get("reason", "")
        await reconciliation.resolve(
            p.session, p.ctx, run, _item_no(item_id), reason, p.staff.actor
        )
    return redirect(f"{PREFIX}/reconciliation/{run.id}")


@router.post("/reconciliation/{run_id}/items/{item_id}/correct")
async def correct(request: Request, run_id: str, item_id: int) -> Response:
    """Ask for the line's money to be booked to a payment order; a second person approves."""
    asked: dict[str, Any] = {"item_id": item_id, "payment_id": "", "reason": ""}
    try:
        async with staff_page(request, Permission.RESOLVE, post=True) as p:
            asked["payment_id"] = p.form.get("payment_id", "").strip()[:64]
            asked["reason"] = p.form.get("reason", "")[:500]
            approval = await corrections.request_correction(
                p.session,
                p.ctx,
                p.staff,
                run_id=run_id[:64],
                item_id=_item_no(item_id),
                payment_id=asked["payment_id"],
                reason=asked["reason"],
                via="backoffice",
            )
    except PayGovError as exc:  # nothing was written: the block rolled back
        return await _run_page(request, run_id, asked=asked, error=exc)
    return redirect(
        f"{PREFIX}/reconciliation/{run_id[:64]}?msg=correction_waiting&id={approval.id}"
    )


def _item_no(item_id: int) -> int:
    if not 0 < item_id <= MAX_ITEM_NO:
        raise reconciliation.DiscrepancyNotFound(field="item_id")
    return item_id


@router.get("/reconciliation/{run_id}/report")
async def run_report(request: Request, run_id: str, format: Text = "csv") -> Response:
    fmt: writers.Format = "xlsx" if format == "xlsx" else "csv"
    async with staff_page(request, Permission.RESOLVE) as p:
        if not p.staff.may(Permission.DOWNLOAD):
            raise PageDenied(403)
        run = await reconciliation.get_run(p.session, run_id[:64])
    filename = recon_views.report_filename(run.id, fmt)
    return download(recon_views.report_chunks(p.ctx, run.id, fmt), fmt, filename)
