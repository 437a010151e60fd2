"""The worker's part of refunds: asking each pending refund's provider, never twice for money.

The provider is asked OUTSIDE any transaction; its answer is recorded under the payment's
lock afterwards (`service.settle`). A worker killed in between (crash point
`after_refund_call`) leaves the refund `pending`, and once its lease ends another worker
takes it up. Sending it again would refund twice at a provider whose refunds are not
idempotent (VNPay), so before each send PayGov writes, and commits, a `payment.refund_sent`
event; a refund with one is first looked up (`adapter.query_refund`) and sent again only
when the provider says it never got it. While one refund of a payment is in that doubt,
the payment's other refunds wait: a provider's lookup may show only the latest refund.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import ProviderUnavailable, RefundRequest, RefundResult
from paygov.kit.context import Context
from paygov.kit.crashpoints import crash_point
from paygov.kit.ids import new_id
from paygov.payments import repository as payments
from paygov.providers.live import LiveProvider
from paygov.refunds import repository
from paygov.refunds.models import Refund
from paygov.refunds.service import settle

log = logging.getLogger(__name__)

# How long a claimed refund is hidden from other workers while its provider is asked.
LEASE = timedelta(seconds=120)
# After an unknown answer, when to ask again.
RETRY_AFTER = timedelta(seconds=60)
ANSWERS = frozenset({"succeeded", "failed", "pending_manual"})
HELD = "held: another refund of this payment is in doubt at the provider"

Call = Callable[[RefundRequest], Awaitable[RefundResult]]


@dataclass(frozen=True)
class Claimed:
    """What asking the provider needs, read while the refund was claimed."""

    refund_id: str
    payment_id: str
    provider: str
    request: RefundRequest
    sent_before: bool  # handed to the provider already: look it up before sending again


async def process_refunds(ctx: Context) -> int:
    """Ask the provider about every due pending refund once; returns how many were asked."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        due = await repository.claim_due(
            session, now=now, lease_until=now + LEASE, limit=ctx.settings.worker_batch_size
        )
        claimed = [await _claimed(session, refund) for refund in due]
    if not claimed:
        return 0
    async with ctx.db.read() as session:
        await ctx.providers.refresh(session, ctx.box)
    for one in claimed:
        await process_one(ctx, one)
    return len(claimed)


async def _claimed(session: AsyncSession, refund: Refund) -> Claimed:
    attempt = await repository.attempt(session, refund.attempt_id)
    payment = await payments.lock_payment(session, refund.payment_id, lock=False)
    others = await repository.of_payment(session, refund.payment_id)
    known = tuple(
        other.provider_refund_id
        for other in others
        if other.id != refund.id and other.status == "succeeded" and other.provider_refund_id
    )
    return Claimed(
        refund_id=refund.id,
        payment_id=refund.payment_id,
        provider=refund.provider,
        request=RefundRequest(
            refund_id=refund.id,
            txn_ref=attempt.txn_ref,
            amount=refund.amount,
            original_amount=attempt.amount or payment.amount,
            provider_txn_id=attempt.provider_txn_id,
            paid_at=payment.paid_at,
            attempt_created_at=attempt.created_at,
            reason=refund.reason,
            known_refund_ids=known,
        ),
        sent_before=refund.id in await repository.sent_refund_ids(session, refund.payment_id),
    )


async def process_one(ctx: Context, claimed: Claimed) -> None:
    """Find out (no transaction open meanwhile) what became of the refund, then record it."""
    provider = ctx.providers.by_code.get(claimed.provider)
    if provider is None:
        result = RefundResult("unknown", message="provider not configured")
    else:
        result = await _resolve(ctx, provider, claimed)
    crash_point("after_refund_call")
    async with ctx.db.transaction() as session:
        await _record(session, ctx, claimed, result)


async def _resolve(ctx: Context, provider: LiveProvider, claimed: Claimed) -> RefundResult:
    """Look a refund sent before up, and send it only when the provider never got it."""
    if claimed.sent_before:
        found = await _ask(provider, claimed, provider.adapter.query_refund, lookup=True)
        if found.status != "not_found":
            return found
    if not await _mark_sent(ctx, claimed):
        return RefundResult("unknown", message=HELD)
    return await _ask(provider, claimed, provider.adapter.refund, lookup=False)


async def _mark_sent(ctx: Context, claimed: Claimed) -> bool:
    """Commit that the refund is being handed to its provider; False (send nothing) when
    it is no longer pending or another refund of the payment is in doubt."""
    async with ctx.db.transaction() as session:
        payment = await payments.lock_payment(session, claimed.payment_id)
        refund = await repository.get(session, claimed.refund_id, lock=True)
        if refund is None or refund.status != "pending":
            return False
        sent = await repository.sent_refund_ids(session, payment.id)
        others = await repository.of_payment(session, payment.id)
        if any(o.id in sent and o.status == "pending" and o.id != refund.id for o in others):
            return False
        await payments.note(
            session,
            payment,
            at=ctx.clock.now(),
            event_type=repository.SENT_EVENT,
            event_id=new_id("evt"),
            event_data={"refund_id": refund.id, "amount": refund.amount},
        )
        return True


async def _ask(
    provider: LiveProvider, claimed: Claimed, call: Call, *, lookup: bool
) -> RefundResult:
    """The provider's answer; anything but a clear one is `unknown`, never guessed."""
    try:
        result = await call(claimed.request)
        provider.breaker.record_success()
    except ProviderUnavailable as exc:
        provider.breaker.record_failure()
        return RefundResult("unknown", message=str(exc) or "provider unavailable")
    except Exception as exc:
        log.exception("refund %s through %s failed", claimed.refund_id, claimed.provider)
        return RefundResult("unknown", message=f"refund failed: {type(exc).__name__}")
    allowed = (ANSWERS | {"not_found"}) if lookup else ANSWERS
    if not isinstance(result, RefundResult) or result.status not in allowed:
        return RefundResult("unknown")
    return result


async def _record(
    session: AsyncSession, ctx: Context, claimed: Claimed, result: RefundResult
) -> None:
    payment = await payments.lock_payment(session, claimed.payment_id)
    refund = await repository.get(session, claimed.refund_id, lock=True)
    assert refund is not None, claimed.refund_id
    if refund.status != "pending":
        return  # resolved meanwhile (by staff, or by another worker after the lease)
    if result.status == "unknown":
        refund.next_attempt_at = ctx.clock.now() + RETRY_AFTER
        return
    await settle(session, ctx, payment, refund, result)
