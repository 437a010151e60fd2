"""Payments: search, a payment's detail with its timeline, and refunds (at or below the
threshold made at once, above it waiting for a second person: approvals.py)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from paygov.backoffice import approvals, repository, service
from paygov.backoffice.pages import PREFIX, PageDenied, Text, in_scope, redirect, staff_page
from paygov.kit.errors import ValidationFailed
from paygov.payments import repository as payments
from paygov.payments.service import amount_available, status_at
from paygov.staff.roles import Permission

router = APIRouter()

STATUSES = ("created", "pending", "succeeded", "failed", "expired", "cancelled")


@router.get("/payments")
async def payments_page(request: Request, q: Text = "", status: Text = "") -> Response:
    async with staff_page(request, Permission.READ) as p:
        rows = await repository.find_payments(
            p.session,
            agency_id=p.staff.agency_id,
            text=q.strip() or None,
            status=status if status in STATUSES else None,
            limit=50,
        )
    return p.render("payments.html", rows=rows, q=q, status=status, statuses=STATUSES)


@router.get("/payments/{payment_id}")
async def payment_page(request: Request, payment_id: str, msg: Text = "") -> Response:
    async with staff_page(request, Permission.READ) as p:
        found = await repository.payment(p.session, payment_id[:64])
        if found is None:
            raise PageDenied(404)
        payment, agency = found
        in_scope(p.visit, payment.agency_id)
        events = await payments.events_of(p.session, payment.id)
        attempts = await payments.attempts_of(p.session, payment.id)
        postings = await repository.postings_of(p.session, payment.id)
        refunds = await repository.refunds_of(p.session, payment.id)
        requests = await repository.approvals_for(p.session, payment.id)
        emails = await repository.emails(p.session, {a.requested_by for a in requests})
    grace = timedelta(seconds=p.ctx.settings.expiry_grace_seconds)
    return p.render(
        "payment.html",
        payment=payment,
        agency=agency,
        status=status_at(payment, p.ctx.clock.now(), grace),
        available=amount_available(payment),
        events=events,
        attempts=attempts,
        postings=postings,
        refunds=refunds,
        approvals=[approvals.approval_view(a, emails) for a in requests],
        may_refund=p.staff.may(Permission.REFUND),
        reauth_fresh=service.reauth_fresh(p.ctx, p.bo, p.visit),
        threshold=p.bo.approval_threshold,
        flash=p.flash(msg),
    )


def _amount(text: str) -> int:
    try:
        return int(text.replace(".", "").replace(" ", ""))
    except ValueError:
        raise ValidationFailed("Give the amount in VND.", field="amount") from None


@router.post("/payments/{payment_id}/refund")
async def refund(request: Request, payment_id: str) -> Response:
    async with staff_page(request, Permission.REFUND, post=True) as p:
        amount = _amount(p.form.get("amount", ""))
        found = await repository.payment(p.session, payment_id[:64])
        if found is None:
            raise PageDenied(404)
        in_scope(p.visit, found[0].agency_id)
        if not service.reauth_fresh(p.ctx, p.bo, p.visit):
            return redirect(f"{PREFIX}/reauth?next={found[0].id}")
        reason = p.form.get("reason", "").strip()[:255]
        outcome = await service.request_refund(
            p.session, p.ctx, p.bo, p.visit, found[0].id, amount, reason
        )
    base = f"{PREFIX}/payments/{found[0].id}"
    if outcome.refund_id is not None:
        return redirect(f"{base}?msg=refund_made&id={outcome.refund_id}")
    return redirect(f"{base}?msg=refund_waiting")
