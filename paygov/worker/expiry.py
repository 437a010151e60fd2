"""The expiry job: a payment that already reads `expired` becomes `expired` for good, which
tells its portal (payment.expired webhook)."""

from __future__ import annotations

from datetime import timedelta

from paygov.kit.context import Context
from paygov.payments import repository as payments
from paygov.payments import service as payments_service
from paygov.payments.service import status_at
from paygov.worker import repository


async def expire_due(ctx: Context) -> int:
    """Expire every payment past its deadline; returns how many were expired."""
    grace = timedelta(seconds=ctx.settings.expiry_grace_seconds)
    async with ctx.db.read() as session:
        ids = await repository.due_for_expiry(
            session, now=ctx.clock.now(), grace=grace, limit=ctx.settings.worker_batch_size
        )
    expired = 0
    for payment_id in ids:
        expired += await expire_one(ctx, payment_id)
    return expired


async def expire_one(ctx: Context, payment_id: str) -> bool:
    """Under the payment's row lock, look again: a success or an attempt that arrived since
    the candidates were read wins, and the payment is left alone."""
    async with ctx.db.transaction() as session:
        payment = await payments.lock_payment(session, payment_id)
        now = ctx.clock.now()
        grace = timedelta(seconds=ctx.settings.expiry_grace_seconds)
        if payment.status not in ("created", "pending") or status_at(payment, now, grace) != (
            "expired"
        ):
            return False
        await payments_service.change(
            session,
            ctx,
            payment,
            event_type="payment.expired",
            event_data={"status": "expired"},
            status="expired",
        )
        return True
