"""Providers and banks: their health, and enabling or disabling one."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paygov.backoffice.pages import PREFIX, redirect, staff_page
from paygov.providers import service as providers
from paygov.staff.roles import Permission

router = APIRouter()


@router.get("/providers")
async def providers_page(request: Request) -> Response:
    async with staff_page(request, Permission.ADMINISTER) as p:
        rows = await providers.list_providers(p.session)
    return p.render("providers.html", rows=rows, live=p.ctx.providers.by_code)


@router.post("/providers/{code}")
async def toggle_provider(request: Request, code: str) -> Response:
    async with staff_page(request, Permission.ADMINISTER, post=True) as p:
        enabled = p.form.get("enabled") == "1"
        await providers.set_enabled(
            p.session, code[:32], enabled, at=p.ctx.clock.now(), actor=p.staff.actor
        )
    async with p.ctx.db.read() as session:  # this process stops (or starts) offering it now
        await p.ctx.providers.refresh(session, p.ctx.box, force=True)
    return redirect(PREFIX + "/providers")
