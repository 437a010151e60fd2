"""The audit log, newest first, with the verdict on its hash chain."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paygov.audit import service as audit
from paygov.backoffice import repository
from paygov.backoffice.pages import staff_page
from paygov.staff.roles import Permission

router = APIRouter()


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    async with staff_page(request, Permission.ADMINISTER) as p:
        verdict = await audit.verify(p.session)
        entries = await repository.audit_entries(p.session, 200)
    return p.render("audit.html", verdict=verdict, entries=entries)
