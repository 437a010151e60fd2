"""Requests waiting for a second person (four eyes: paygov/backoffice/approvals.py), and
their approval or rejection."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paygov.backoffice import approvals, repository, service
from paygov.backoffice.pages import PREFIX, Text, redirect, staff_page
from paygov.kit.errors import PayGovError
from paygov.staff.roles import Permission

router = APIRouter()
# The notice after an approval, by kind (the change it made is named by `?id=`).
APPROVED = {
    "refund": "approved",
    "beneficiary": "approved_change",
    "correction": "approved_correction",
}


async def _approvals_page(
    request: Request, *, msg: str = "", error: PayGovError | None = None
) -> Response:
    """The requests the visitor may decide; a decision refused, with why."""
    async with staff_page(request, Permission.REFUND) as p:
        listed = await repository.pending_approvals(p.session, p.staff.agency_id)
        pending = [a for a in listed if approvals.may_decide(p.staff, a)]
        emails = await repository.emails(p.session, {a.requested_by for a in pending})
    return p.render(
        "approvals.html",
        refused=error,
        approvals=[approvals.approval_view(a, emails) for a in pending],
        reauth_fresh=service.reauth_fresh(p.ctx, p.bo, p.visit),
        flash=p.flash(msg),
    )


@router.get("/approvals")
async def approvals_page(request: Request, msg: Text = "") -> Response:
    return await _approvals_page(request, msg=msg)


@router.post("/approvals/{approval_id}")
async def decide(request: Request, approval_id: str) -> Response:
    try:
        async with staff_page(request, Permission.REFUND, post=True) as p:
            approve = p.form.get("decision") == "approve"
            approval = await approvals.decide(
                p.session,
                p.ctx,
                p.staff,
                approval_id[:40],
                approve=approve,
                reauthenticated=service.reauth_fresh(p.ctx, p.bo, p.visit),
            )
    except approvals.ReauthRequired:  # checked after who may decide: nothing was written
        return redirect(PREFIX + "/reauth")
    except PayGovError as exc:  # refused (own request, decided, stale…): nothing was written
        return await _approvals_page(request, error=exc)
    if approve:
        return redirect(f"{PREFIX}/approvals?msg={APPROVED[approval.kind]}&id={approval.outcome}")
    return redirect(PREFIX + "/approvals?msg=rejected")
