"""Business rules of refunds: requesting one, asking the provider, recording its answer.

A refund is requested under the payment's row lock: the amount is taken from what is
available at once (`payment.amount_refunded` rises), so two portals racing cannot refund
the same money twice, and the portal's `refund_amount_available` must match what is
available now (the concurrency guard). The provider is asked later by the worker, OUTSIDE
any transaction; its answer is written under the payment's lock again. A worker killed
between the two (crash point `after_refund_call`) leaves the refund `pending`: once its
lease ends the provider is asked again with the same refund id, and only one answer is
ever recorded (the refund must still be `pending`; the ledger's (kind, reference) is
unique).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import ProviderUnavailable, RefundRequest, RefundResult
from paygov.agencies.profile import AgencyProfile
from paygov.idempotency import repository as keys
from paygov.idempotency.service import Claim, IdempotencyKeyReused, Reply, store
from paygov.kit.context import Context
from paygov.kit.crashpoints import crash_point
from paygov.kit.errors import Conflict, NotFound, ValidationFailed
from paygov.kit.ids import new_id
from paygov.kit.money import CURRENCY
from paygov.ledger import service as ledger
from paygov.payments import repository as payments
from paygov.payments.models import Attempt, Payment, PaymentItem
from paygov.payments.service import PaymentNotFound, change, timestamp, to_millisecond
from paygov.providers.live import LiveProvider
from paygov.refunds import repository
from paygov.refunds.models import Refund
from paygov.refunds.schemas import CreateRefund
from paygov.webhooks import outbox

log = logging.getLogger(__name__)

CREATE_ROUTE = "refunds.create"
# How long a claimed refund is hidden from other workers while its provider is asked.
LEASE = timedelta(seconds=120)
# After an unknown answer, when to ask again.
RETRY_AFTER = timedelta(seconds=60)


class RefundNotFound(NotFound):
    code = "refund_not_found"
    message = "No refund with this id."


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    message = "Only a payment in status 'succeeded' can be refunded."


class RefundAmountMismatch(Conflict):
    code = "refund_amount_mismatch"
    message = (
        "refund_amount_available does not match the amount available now; read the payment again."
    )


class RefundAmountTooHigh(ValidationFailed):
    code = "refund_amount_too_high"
    message = "The refund is larger than the amount available to refund."


class UnknownRefundItem(ValidationFailed):
    code = "unknown_refund_item"
    message = "A refund item names a code that is not one of the payment's items."


class RefundItemsDoNotSum(ValidationFailed):
    code = "refund_items_sum_mismatch"
    message = "The refund items' amounts must add up to the refund's amount."


class RefundItemTooHigh(ValidationFailed):
    code = "refund_item_amount_too_high"
    message = "A refund item is larger than what remains of that item."


def split_pro_rata(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` whole VND across `weights` in proportion, by largest remainder.

    Each part is first the floor of its exact share `amount * weight / total`; the VND
    still missing go one each to the parts with the largest fractional remainders (ties
    to the earlier part). The parts sum exactly to `amount`, and when `amount <= total`
    none exceeds its weight. Weights must be >= 0 with a positive total.
    """
    total = sum(weights)
    if total <= 0 or any(weight < 0 for weight in weights):
        raise ValueError("weights must be non-negative with a positive total")
    if not 0 <= amount <= total:
        raise ValueError("amount must be between 0 and the total of the weights")
    parts = [amount * weight // total for weight in weights]
    missing = amount - sum(parts)
    by_remainder = sorted(
        range(len(weights)), key=lambda index: (-(amount * weights[index] % total), index)
    )
    for index in by_remainder[:missing]:
        parts[index] += 1
    return parts


def render(refund: Refund) -> dict[str, Any]:
    """The refund object a portal sees (API and webhooks)."""
    return {
        "refund_id": refund.id,
        "payment_id": refund.payment_id,
        "amount": refund.amount,
        "currency": CURRENCY,
        "reason": refund.reason,
        "status": refund.status,
        "items": [{"code": code, "amount": amount} for code, amount in refund.items.items()],
        "provider": refund.provider,
        "provider_refund_id": refund.provider_refund_id,
        "failure_message": refund.failure_message,
        "created_at": timestamp(refund.created_at),
        "updated_at": timestamp(refund.updated_at),
    }


# --- requesting ----------------------------------------------------------------------------


async def _owned_payment(
    session: AsyncSession, agency: AgencyProfile, payment_id: str, *, lock: bool
) -> Payment:
    if "\x00" in payment_id:
        raise PaymentNotFound(field="payment_id")
    payment = await payments.get(session, agency.id, payment_id, for_update=lock)
    if payment is None:
        raise PaymentNotFound(field="payment_id")
    return payment


def _codes(items: list[PaymentItem]) -> dict[str, list[PaymentItem]]:
    """The payment's items by code, in position order (a code may repeat)."""
    grouped: dict[str, list[PaymentItem]] = {}
    for item in items:
        grouped.setdefault(item.code, []).append(item)
    return grouped


async def _remaining(
    session: AsyncSession, payment_id: str, grouped: dict[str, list[PaymentItem]]
) -> dict[str, int]:
    """What is left to refund of each item code: its amount less refunds not failed."""
    left = {code: sum(item.amount for item in group) for code, group in grouped.items()}
    for refund in await repository.of_payment(session, payment_id):
        if refund.status == "failed":
            continue
        for code, part in refund.items.items():
            if code in left:
                left[code] -= part
    return left


def _parts(body: CreateRefund, left: dict[str, int]) -> dict[str, int]:
    """The refund's amount per item code: as the portal named them, else pro rata."""
    if body.items is None:
        codes = [code for code, remaining in left.items() if remaining > 0]
        split = split_pro_rata(body.amount, [left[code] for code in codes])
        return {code: part for code, part in zip(codes, split, strict=True) if part > 0}
    asked: dict[str, int] = {}
    for index, item in enumerate(body.items):
        if item.code not in left:
            raise UnknownRefundItem(field=f"items[{index}].code")
        asked[item.code] = asked.get(item.code, 0) + item.amount
        if asked[item.code] > left[item.code]:
            raise RefundItemTooHigh(field=f"items[{index}].amount")
    if sum(asked.values()) != body.amount:
        raise RefundItemsDoNotSum(field="items")
    return asked


async def create_refund(
    session: AsyncSession,
    ctx: Context,
    agency: AgencyProfile,
    payment_id: str,
    body: CreateRefund,
    claim: Claim,
) -> Reply:
    """Check the request against the locked payment, then store the refund, the payment's
    raised `amount_refunded` and the idempotency key together. Any refusal writes nothing."""
    payment = await _owned_payment(session, agency, payment_id, lock=True)
    if claim.key is not None:
        # Under the payment's lock a duplicate sees the first request's key once it committed.
        stored = await keys.find(session, agency.id, claim.route, claim.key)
        if stored is not None:
            if stored.body_hash != claim.body_hash:
                raise IdempotencyKeyReused(field="Idempotency-Key")
            return Reply(stored.status_code, stored.response_body, replayed=True)
    if payment.status != "succeeded":
        raise PaymentNotRefundable(field="payment_id")
    available = payment.amount - payment.amount_refunded
    if body.refund_amount_available != available:
        raise RefundAmountMismatch(field="refund_amount_available")
    if body.amount > available:
        raise RefundAmountTooHigh(field="amount")
    attempt = await repository.paid_attempt(session, payment.id)
    if attempt is None:  # a succeeded payment always has its attempt; be safe anyway
        raise PaymentNotRefundable(field="payment_id")
    items = (await payments.items_of(session, [payment.id]))[payment.id]
    parts = _parts(body, await _remaining(session, payment.id, _codes(items)))

    await ctx.providers.refresh(session, ctx.box)
    provider = ctx.providers.by_code.get(attempt.provider)
    manual = provider is not None and provider.adapter.refunds_manual is True
    now = to_millisecond(ctx.clock.now())
    refund = Refund(
        id=new_id("rfd"),
        payment_id=payment.id,
        agency_id=agency.id,
        attempt_id=attempt.id,
        provider=attempt.provider,
        amount=body.amount,
        reason=body.reason,
        status="pending_manual" if manual else "pending",
        items=parts,
        provider_refund_id=None,
        failure_message=None,
        next_attempt_at=None if manual else now,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, refund)
    await session.flush()
    await change(
        session,
        ctx,
        payment,
        event_type="payment.refund_requested",
        event_data={"refund_id": refund.id, "amount": refund.amount, "status": refund.status},
        amount_refunded=payment.amount_refunded + body.amount,
    )
    response = orjson.dumps(render(refund))
    await store(session, claim.row(agency.id, 201, response))
    return Reply(201, response)


async def get_refund(session: AsyncSession, agency: AgencyProfile, refund_id: str) -> Refund:
    """The agency's own refund; another agency's reads as not found."""
    refund = None if "\x00" in refund_id else await repository.get(session, refund_id)
    if refund is None or refund.agency_id != agency.id:
        raise RefundNotFound(field="refund_id")
    return refund


async def refunds_of(session: AsyncSession, agency: AgencyProfile, payment_id: str) -> list[Refund]:
    payment = await _owned_payment(session, agency, payment_id, lock=False)
    return await repository.of_payment(session, payment.id)


# --- processing (worker) -------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """What asking the provider needs, read while the refund was claimed."""

    refund_id: str
    payment_id: str
    provider: str
    request: RefundRequest


async def process_refunds(ctx: Context) -> int:
    """Ask the provider about every due pending refund once; returns how many were asked."""
    now = ctx.clock.now()
    claimed: list[Claimed] = []
    async with ctx.db.transaction() as session:
        due = await repository.claim_due(
            session, now=now, lease_until=now + LEASE, limit=ctx.settings.worker_batch_size
        )
        for refund in due:
            attempt = await session.get(Attempt, refund.attempt_id)
            assert attempt is not None, refund.attempt_id
            payment = await payments.lock_payment(session, refund.payment_id, lock=False)
            claimed.append(
                Claimed(
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
                    ),
                )
            )
    if not claimed:
        return 0
    async with ctx.db.read() as session:
        await ctx.providers.refresh(session, ctx.box)
    for one in claimed:
        await process_one(ctx, one)
    return len(claimed)


async def _ask(provider: LiveProvider | None, claimed: Claimed) -> RefundResult:
    """The provider's answer; anything but a clear one is `unknown`, never guessed."""
    if provider is None:
        return RefundResult("unknown", message="provider not configured")
    try:
        result = await provider.adapter.refund(claimed.request)
        provider.breaker.record_success()
    except ProviderUnavailable as exc:
        provider.breaker.record_failure()
        return RefundResult("unknown", message=str(exc) or "provider unavailable")
    except Exception as exc:
        log.exception("refund %s through %s failed", claimed.refund_id, claimed.provider)
        return RefundResult("unknown", message=f"refund failed: {type(exc).__name__}")
    if not isinstance(result, RefundResult) or result.status not in (
        "succeeded",
        "failed",
        "pending_manual",
    ):
        return RefundResult("unknown")
    return result


async def process_one(ctx: Context, claimed: Claimed) -> None:
    """Ask the provider (no transaction open meanwhile), then record what it said."""
    provider = ctx.providers.by_code.get(claimed.provider)
    result = await _ask(provider, claimed)
    crash_point("after_refund_call")
    async with ctx.db.transaction() as session:
        payment = await payments.lock_payment(session, claimed.payment_id)
        refund = await repository.get(session, claimed.refund_id, lock=True)
        assert refund is not None, claimed.refund_id
        if refund.status != "pending":
            return  # resolved meanwhile (by staff, or by another worker after the lease)
        now = ctx.clock.now()
        if result.status == "unknown":
            refund.next_attempt_at = now + RETRY_AFTER
            return
        refund.updated_at = to_millisecond(now)
        refund.next_attempt_at = None
        refund.provider_refund_id = result.provider_refund_id
        if result.status == "pending_manual":
            refund.status = "pending_manual"
            return
        if result.status == "succeeded":
            refund.status = "succeeded"
            await _post(session, payment, refund, now)
            await payments.note(
                session,
                payment,
                at=now,
                event_type="payment.refund_succeeded",
                event_id=new_id("evt"),
                event_data={"refund_id": refund.id, "amount": refund.amount},
            )
        else:
            refund.status = "failed"
            refund.failure_message = (result.message or "refused by the provider")[:255]
            await change(
                session,
                ctx,
                payment,
                event_type="payment.refund_failed",
                event_data={"refund_id": refund.id, "amount": refund.amount},
                amount_refunded=payment.amount_refunded - refund.amount,
            )
        await session.flush()
        await outbox.record(
            session,
            agency_id=refund.agency_id,
            subject_id=refund.id,
            event_type=f"refund.{refund.status}",
            event_id=new_id("evt"),
            data=render(refund),
            at=now,
        )


async def _post(session: AsyncSession, payment: Payment, refund: Refund, at: datetime) -> None:
    """The ledger's reversal: each item code's part back from its beneficiaries."""
    grouped = _codes((await payments.items_of(session, [payment.id]))[payment.id])
    parts: list[tuple[str | None, int]] = []
    for code, part in refund.items.items():
        group = grouped[code]
        split = split_pro_rata(part, [item.amount for item in group])
        parts.extend(
            (item.beneficiary_account, share) for item, share in zip(group, split, strict=True)
        )
    await ledger.post_refund(
        session,
        refund_id=refund.id,
        payment_id=payment.id,
        agency_id=payment.agency_id,
        clearing_account=f"clearing:{refund.provider}",
        parts=parts,
        at=at,
    )
