"""Business rules of refunds: requesting one, and recording how it ended.

A refund is requested under the payment's row lock: the amount is taken from what is
available at once (`payment.amount_refunded` rises), so two portals racing cannot refund
the same money twice, and the portal's `refund_amount_available` must match what is
available now (the concurrency guard). Available is the order's amount plus any
overpayment, less the refunds that did not fail; allocation.py says which money a refund
gives back. The worker then asks the provider (processing.py); a refund whose provider has
no refund API waits as `pending_manual` until finance staff pay it back and record it
here. Either way `settle` records the end once, under the payment's lock: the ledger's
reversal, the payment's history and the `refund.*` webhook.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import RefundResult
from paygov.agencies.profile import AgencyProfile
from paygov.audit import service as audit
from paygov.idempotency import repository as keys
from paygov.idempotency.service import Claim, IdempotencyKeyReused, Reply, store
from paygov.kit.context import Context
from paygov.kit.errors import Conflict, NotFound, ValidationFailed
from paygov.kit.ids import new_id
from paygov.kit.money import CURRENCY
from paygov.ledger import service as ledger
from paygov.payments import repository as payments
from paygov.payments.models import Payment
from paygov.payments.service import (
    PaymentNotFound,
    amount_available,
    change,
    timestamp,
    to_millisecond,
)
from paygov.refunds import allocation, repository
from paygov.refunds.allocation import split_pro_rata as split_pro_rata  # reports use it too
from paygov.refunds.models import Refund
from paygov.refunds.schemas import CreateRefund
from paygov.webhooks import outbox

CREATE_ROUTE = "refunds.create"
BANK_REFERENCE_MAX = 64  # refunds.provider_refund_id
NOTE_MAX = 500


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


class RefundNotManual(Conflict):
    code = "refund_not_pending_manual"
    message = "Only a refund in status 'pending_manual' can be recorded as paid back by hand."


class InvalidBankReference(ValidationFailed):
    code = "invalid_bank_reference"
    message = f"The bank reference must be 1-{BANK_REFERENCE_MAX} printable characters."


class InvalidNote(ValidationFailed):
    code = "invalid_note"
    message = f"The note must be at most {NOTE_MAX} characters."


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
        "from_overpayment": allocation.from_overpayment(refund),
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
    paid = await repository.paid_attempt(session, payment.id)
    if payment.status != "succeeded" or paid is None:
        raise PaymentNotRefundable(field="payment_id")
    available = amount_available(payment)
    if body.refund_amount_available != available:
        raise RefundAmountMismatch(field="refund_amount_available")
    if body.amount > available:
        raise RefundAmountTooHigh(field="amount")
    source = await allocation.allocate(session, payment, paid, body)
    refund = await _new_refund(session, ctx, payment, body, source)
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


async def _new_refund(
    session: AsyncSession,
    ctx: Context,
    payment: Payment,
    body: CreateRefund,
    source: allocation.Allocation,
) -> Refund:
    """The refund row: due for its provider now, or waiting for staff where refunds are manual."""
    await ctx.providers.refresh(session, ctx.box)
    provider = ctx.providers.by_code.get(source.attempt.provider)
    manual = provider is not None and provider.adapter.refunds_manual is True
    now = to_millisecond(ctx.clock.now())
    refund = Refund(
        id=new_id("rfd"),
        payment_id=payment.id,
        agency_id=payment.agency_id,
        attempt_id=source.attempt.id,
        provider=source.attempt.provider,
        amount=body.amount,
        reason=body.reason,
        status="pending_manual" if manual else "pending",
        items=source.items,
        provider_refund_id=None,
        failure_message=None,
        next_attempt_at=None if manual else now,
        created_at=now,
        updated_at=now,
    )
    repository.add(session, refund)
    await session.flush()
    return refund


async def get_refund(session: AsyncSession, agency: AgencyProfile, refund_id: str) -> Refund:
    """The agency's own refund; another agency's reads as not found."""
    refund = None if "\x00" in refund_id else await repository.get(session, refund_id)
    if refund is None or refund.agency_id != agency.id:
        raise RefundNotFound(field="refund_id")
    return refund


async def refunds_of(session: AsyncSession, agency: AgencyProfile, payment_id: str) -> list[Refund]:
    """A payment's refunds, newest first."""
    payment = await _owned_payment(session, agency, payment_id, lock=False)
    return await repository.of_payment(session, payment.id)


async def list_refunds(
    session: AsyncSession, *, status: str | None, agency_id: str | None, limit: int
) -> list[Refund]:
    """Refunds of every agency for staff, newest first (e.g. those `pending_manual`)."""
    return await repository.listing(session, status=status, agency_id=agency_id, limit=limit)


# --- recording the end ---------------------------------------------------------------------


async def record_manual_refund(
    session: AsyncSession,
    ctx: Context,
    refund_id: str,
    *,
    bank_reference: str,
    note: str | None,
    actor: str,
) -> Refund:
    """Finance staff paid a `pending_manual` refund back by hand: record it as succeeded
    with their bank reference, reverse the ledger, tell the portal, and audit who did it."""
    reference = bank_reference.strip()
    if not 0 < len(reference) <= BANK_REFERENCE_MAX or not reference.isprintable():
        raise InvalidBankReference(field="bank_reference")
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidNote(field="note")
    found = await repository.get(session, refund_id)
    if found is None:
        raise RefundNotFound(field="refund_id")
    payment = await payments.lock_payment(session, found.payment_id)  # payment, then refund
    refund = await repository.get(session, refund_id, lock=True)
    assert refund is not None, refund_id
    if refund.status != "pending_manual":
        raise RefundNotManual(
            f"{RefundNotManual.message} It is '{refund.status}'.", field="refund_id"
        )
    paid_back = RefundResult("succeeded", provider_refund_id=reference)
    await settle(session, ctx, payment, refund, paid_back)
    await audit.record(
        session,
        at=ctx.clock.now(),
        actor=actor,
        action="refund.recorded_manually",
        subject_type="refund",
        subject_id=refund.id,
        details={
            "payment_id": refund.payment_id,
            "amount": refund.amount,
            "bank_reference": reference,
            "note": note,
        },
    )
    return refund


async def settle(
    session: AsyncSession, ctx: Context, payment: Payment, refund: Refund, result: RefundResult
) -> None:
    """Record a definite answer on a refund (payment and refund locked, refund not final):
    `succeeded` reverses the ledger, `failed` gives the amount back to what is available,
    both tell the portal; `pending_manual` leaves it to staff."""
    now = ctx.clock.now()
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
    """The ledger's reversal: each item code's part back from its beneficiaries, and what
    the refund gives back of an overpayment from `overpaid:{agency}`."""
    grouped = allocation.codes((await payments.items_of(session, [payment.id]))[payment.id])
    parts: list[tuple[str | None, int]] = []
    for code, part in refund.items.items():
        group = grouped[code]
        split = allocation.split_pro_rata(part, [item.amount for item in group])
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
        overpaid=allocation.from_overpayment(refund),
    )
