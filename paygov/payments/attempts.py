"""Attempts: one try to pay through one provider, and what a provider's word does to the
payment. Locks are always taken payment first, then attempt, so no two paths deadlock."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import AckResult, AttemptRequest, ProviderEvent
from paygov.kit.context import Context
from paygov.kit.crypto import sha256_hex
from paygov.kit.errors import Conflict, NotFound
from paygov.kit.ids import new_id
from paygov.ledger import service as ledger
from paygov.payments import repository
from paygov.payments import service as payments
from paygov.payments.models import Attempt, Payment
from paygov.payments.service import status_at
from paygov.providers.live import LiveProvider

MAX_DECLINES = 5
TXN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FINAL_FOR_PORTAL = ("expired", "cancelled", "failed")


class CheckoutNotFound(NotFound):
    code = "checkout_not_found"
    message = "This payment link is not valid."


class PaymentNotPayable(Conflict):
    code = "payment_not_payable"
    message = "This payment can no longer be paid."


class ProviderNotOffered(Conflict):
    code = "provider_not_offered"
    message = "This way to pay is not available for this payment."


def new_txn_ref() -> str:
    """`PG` + 14 Crockford characters: 16 chars of A-Z 0-9, fits vnp_TxnRef and a QR memo."""
    return "PG" + "".join(secrets.choice(TXN_ALPHABET) for _ in range(14))


def grace(ctx: Context) -> timedelta:
    return timedelta(seconds=ctx.settings.expiry_grace_seconds)


async def open_attempt(
    session: AsyncSession,
    ctx: Context,
    *,
    token: str,
    mode: str,
    provider: LiveProvider,
    bank_code: str | None,
) -> tuple[Payment, Attempt]:
    """Start a try through `provider` for the payment behind a checkout token."""
    payment = await repository.by_checkout_token(session, token, for_update=True)
    if payment is None:
        raise CheckoutNotFound()
    now = ctx.clock.now()
    if now >= payment.expires_at or status_at(payment, now, grace(ctx)) not in (
        "created",
        "pending",
    ):
        raise PaymentNotPayable()  # past the deadline nobody starts paying, grace or not
    if not provider.offered(mode, payment.amount):
        raise ProviderNotOffered(field="method")
    schedule = ctx.settings.attempt_poll_schedule  # the worker asks the provider then
    attempt = add_attempt(
        session,
        payment,
        provider=provider.code,
        bank=bank_code,
        amount=payment.amount,
        at=now,
        next_poll_at=now + timedelta(seconds=schedule[0]) if schedule else None,
    )
    await payments.change(
        session,
        ctx,
        payment,
        event_type="payment.attempt_started",
        event_data={
            "attempt_id": attempt.id,
            "txn_ref": attempt.txn_ref,
            "provider": provider.code,
            "bank": bank_code,
        },
        status="pending",
        attempt_open=True,
        provider=provider.code,
        bank=bank_code,
    )
    return payment, attempt


def add_attempt(
    session: AsyncSession,
    payment: Payment,
    *,
    provider: str,
    bank: str | None,
    amount: int,
    at: datetime,
    next_poll_at: datetime | None = None,
    raw: dict[str, Any] | None = None,
) -> Attempt:
    """An open attempt of the payment under a new txn_ref, added to the session."""
    attempt = Attempt(
        id=new_id("att"),
        payment_id=payment.id,
        txn_ref=new_txn_ref(),
        provider=provider,
        bank=bank,
        amount=amount,
        status="open",
        failure_reason=None,
        provider_txn_id=None,
        raw=raw or {},
        polls=0,
        transfers=0,
        next_poll_at=next_poll_at,
        created_at=at,
        updated_at=at,
    )
    repository.add_attempt(session, attempt)
    return attempt


def attempt_request(
    ctx: Context, payment: Payment, attempt: Attempt, client_ip: str = "127.0.0.1"
) -> AttemptRequest:
    """What the adapter needs to build the provider's request."""
    base = ctx.settings.public_url.rstrip("/")
    return AttemptRequest(
        txn_ref=attempt.txn_ref,
        amount=attempt.amount,
        description=payment.description,
        created_at=attempt.created_at,
        expires_at=payment.expires_at,
        return_url=f"{base}/checkout/return/{attempt.provider}",
        callback_url=f"{base}/callbacks/{attempt.provider}",
        bank_code=attempt.bank,
        language=payment.language,
        client_ip=client_ip,
    )


async def apply_event(
    session: AsyncSession, ctx: Context, provider: LiveProvider, event: ProviderEvent
) -> AckResult:
    """Apply a verified provider event exactly once (the caller's inbox row guarantees once)."""
    found = await repository.attempt_by_ref(session, event.txn_ref)
    if found is None or found.provider != provider.code:
        return AckResult.NOT_FOUND
    payment = await repository.lock_payment(session, found.payment_id)
    attempt = await repository.attempt_by_ref(session, event.txn_ref, for_update=True)
    assert attempt is not None
    now = ctx.clock.now()
    if event.outcome == "unknown":
        return AckResult.CONFIRMED
    if event.amount != attempt.amount:
        await repository.note(
            session,
            payment,
            at=now,
            event_type="payment.amount_mismatch",
            event_id=new_id("evt"),
            event_data={
                "txn_ref": attempt.txn_ref,
                "expected": attempt.amount,
                "reported": event.amount,
                "provider": provider.code,
            },
        )
        return AckResult.INVALID_AMOUNT
    if event.outcome == "succeeded":
        return await _succeeded(session, ctx, provider, payment, attempt, event)
    return await _failed(session, ctx, payment, attempt, event)


async def _succeeded(
    session: AsyncSession,
    ctx: Context,
    provider: LiveProvider,
    payment: Payment,
    attempt: Attempt,
    event: ProviderEvent,
) -> AckResult:
    if attempt.status == "succeeded" and not provider.adapter.each_callback_is_a_transfer:
        return AckResult.DUPLICATE
    now = ctx.clock.now()
    if attempt.status != "succeeded":
        attempt.succeeded_at = now
        attempt.succeeded_via = str(event.details.get("source", "callback"))[:16]
    attempt.status = "succeeded"
    attempt.transfers += 1
    attempt.provider_txn_id = event.provider_txn_id
    attempt.updated_at = now
    await session.flush()
    still_open = await repository.has_open_attempt(session, payment.id)
    event_data = {
        "attempt_id": attempt.id,
        "txn_ref": attempt.txn_ref,
        "provider": provider.code,
        "amount": event.amount,
        "provider_txn_id": event.provider_txn_id,
    }
    if payment.status == "succeeded":
        # The citizen paid twice (e.g. two QR scans): the money is real, so record it.
        await ledger.post_overpayment(
            session,
            reference=f"{attempt.id}:{sha256_hex(event.dedupe_key.encode())[:24]}",
            payment_id=payment.id,
            agency_id=payment.agency_id,
            clearing_account=provider.clearing_account,
            amount=event.amount,
            at=now,
        )
        await payments.change(
            session,
            ctx,
            payment,
            event_type="payment.overpaid",
            event_data=event_data,
            amount_overpaid=payment.amount_overpaid + event.amount,
            attempt_open=still_open,
        )
        return AckResult.CONFIRMED
    late = status_at(payment, now, grace(ctx)) in FINAL_FOR_PORTAL
    items = (await repository.items_of(session, [payment.id]))[payment.id]
    await ledger.post_payment(
        session,
        attempt_id=attempt.id,
        payment_id=payment.id,
        agency_id=payment.agency_id,
        clearing_account=provider.clearing_account,
        amount=event.amount,
        items=[(item.beneficiary_account, item.amount) for item in items],
        at=now,
    )
    await payments.change(
        session,
        ctx,
        payment,
        event_type="payment.succeeded",
        event_data={**event_data, "late": late},
        status="succeeded",
        paid_at=event.paid_at or now,
        provider=provider.code,
        bank=attempt.bank or event.bank_code,
        late=late,
        attempt_open=still_open,
        failure_code=None,
        failure_message=None,
    )
    return AckResult.CONFIRMED


async def _failed(
    session: AsyncSession, ctx: Context, payment: Payment, attempt: Attempt, event: ProviderEvent
) -> AckResult:
    if attempt.status != "open":
        return AckResult.DUPLICATE
    now = ctx.clock.now()
    attempt.status = "failed"
    attempt.failure_reason = (event.reason or "declined")[:255]
    attempt.updated_at = now
    await session.flush()
    still_open = await repository.has_open_attempt(session, payment.id)
    event_data = {
        "attempt_id": attempt.id,
        "txn_ref": attempt.txn_ref,
        "reason": attempt.failure_reason,
    }
    if payment.status not in ("created", "pending"):
        await repository.note(
            session,
            payment,
            at=now,
            event_type="payment.attempt_failed",
            event_id=new_id("evt"),
            event_data=event_data,
        )
        return AckResult.CONFIRMED
    declines = payment.declines + 1
    if declines >= MAX_DECLINES:
        await payments.change(
            session,
            ctx,
            payment,
            event_type="payment.failed",
            event_data=event_data,
            status="failed",
            declines=declines,
            attempt_open=still_open,
            failure_code="too_many_declines",
            failure_message=f"The payment was declined {declines} times.",
        )
    else:
        await payments.change(
            session,
            ctx,
            payment,
            event_type="payment.attempt_failed",
            event_data=event_data,
            declines=declines,
            attempt_open=still_open,
        )
    return AckResult.CONFIRMED
