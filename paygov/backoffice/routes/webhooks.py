"""Webhook deliveries to the agencies' portals, and re-sending one."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paygov.backoffice import repository
from paygov.backoffice.pages import PREFIX, PageDenied, Text, in_scope, redirect, staff_page
from paygov.staff.roles import Permission
from paygov.webhooks import service as webhooks

router = APIRouter()


@router.get("/webhooks")
async def webhooks_page(request: Request, status: Text = "", msg: Text = "") -> Response:
    async with staff_page(request, Permission.READ) as p:
        rows = await repository.deliveries(p.session, p.staff.agency_id, status or None, 100)
    return p.render(
        "webhooks.html",
        rows=rows,
        status=status,
        may_resend=p.staff.may(Permission.RESOLVE) or p.staff.may(Permission.ADMINISTER),
        flash=p.flash(msg),
    )


@router.post("/webhooks/{delivery_id}/resend")
async def resend(request: Request, delivery_id: str) -> Response:
    async with staff_page(request, Permission.RESOLVE, post=True) as p:
        agency_id = await repository.delivery_agency(p.session, delivery_id[:40])
        if agency_id is None:
            raise PageDenied(404)
        in_scope(p.visit, agency_id)
        delivery = await webhooks.resend(
            p.session, p.ctx, agency_id, delivery_id[:40], actor=p.staff.actor
        )
    return redirect(f"{PREFIX}/webhooks?msg=resent&id={delivery.id}")
