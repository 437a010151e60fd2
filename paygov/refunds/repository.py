"""All SQL of refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.payments.models import Attempt, PaymentEvent
from paygov.refunds.models import Refund

# The payment history events refunds read: an overpayment (its attempt and amount), and a
# refund handed to its provider (written before the provider is asked).
OVERPAID_EVENT = "payment.overpaid"
SENT_EVENT = "payment.refund_sent"


def add(session: AsyncSession, refund: Refund) -> None:
    session.add(refund)


async def get(
    session: AsyncSession, refund_id: str, *, agency_id: str | None = None, lock: bool = False
) -> Refund | None:
    query = select(Refund).where(Refund.id == refund_id)
    if agency_id is not None:
        query = query.where(Refund.agency_id == agency_id)
    if lock:
        query = query.with_for_update()
    result: Refund | None = await session.scalar(query)
    return result


async def of_payment(session: AsyncSession, payment_id: str) -> list[Refund]:
    rows = await session.scalars(
        select(Refund)
        .where(Refund.payment_id == payment_id)
        .order_by(Refund.created_at.desc(), Refund.id.desc())
    )
    return list(rows)


async def paid_attempt(session: AsyncSession, payment_id: str) -> Attempt | None:
    """The attempt that succeeded first: the one that took the order's money (the ledger
    posted the payment on it; a later success is an overpayment), whichever was opened
    first."""
    result: Attempt | None = await session.scalar(
        select(Attempt)
        .where(Attempt.payment_id == payment_id, Attempt.status == "succeeded")
        .order_by(Attempt.succeeded_at, Attempt.id)
        .limit(1)
    )
    return result


async def attempt(session: AsyncSession, attempt_id: str) -> Attempt:
    found = await session.get(Attempt, attempt_id)
    assert found is not None, attempt_id
    return found


async def listing(
    session: AsyncSession, *, status: str | None, agency_id: str | None, limit: int
) -> list[Refund]:
    """Refunds, newest first, optionally of one status or agency."""
    query = select(Refund)
    if status is not None:
        query = query.where(Refund.status == status)
    if agency_id is not None:
        query = query.where(Refund.agency_id == agency_id)
    rows = await session.scalars(
        query.order_by(Refund.created_at.desc(), Refund.id.desc()).limit(limit)
    )
    return list(rows)


async def _event_data(
    session: AsyncSession, payment_id: str, event_type: str
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(PaymentEvent.data)
        .where(PaymentEvent.payment_id == payment_id, PaymentEvent.type == event_type)
        .order_by(PaymentEvent.id)
    )
    return list(rows)


async def overpayments(session: AsyncSession, payment_id: str) -> list[tuple[str, int]]:
    """(attempt id, VND) of each overpayment the payment received."""
    rows = await _event_data(session, payment_id, OVERPAID_EVENT)
    return [(str(data["attempt_id"]), int(data["amount"])) for data in rows]


async def sent_refund_ids(session: AsyncSession, payment_id: str) -> set[str]:
    """The payment's refunds that were handed to their provider at least once."""
    rows = await _event_data(session, payment_id, SENT_EVENT)
    return {str(data["refund_id"]) for data in rows}


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[Refund]:
    """Pending refunds due for the provider, hidden from other workers until `lease_until`.
    PostgreSQL skips rows another worker is claiming; SQLite runs one worker."""
    query = (
        select(Refund)
        .where(Refund.status == "pending", Refund.next_attempt_at <= now)
        .order_by(Refund.next_attempt_at)
        .limit(limit)
    )
    if (await session.connection()).dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(await session.scalars(query))
    if due:
        await session.execute(
            update(Refund)
            .where(Refund.id.in_([refund.id for refund in due]))
            .values(next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
    return due
