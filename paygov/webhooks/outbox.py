"""The outbox: a portal-visible change writes its webhook event (the catch-up feed) and a
delivery due now, in the change's own transaction, so both commit or roll back with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.kit.ids import new_id
from paygov.webhooks import repository
from paygov.webhooks.models import WebhookDelivery, WebhookEvent

# The payment events a portal is told about; the others stay in the payment's history.
PAYMENT_WEBHOOK_TYPES = frozenset(
    {
        "payment.succeeded",
        "payment.failed",
        "payment.expired",
        "payment.cancelled",
        "payment.overpaid",
    }
)


async def record(
    session: AsyncSession,
    *,
    agency_id: str,
    subject_id: str,
    event_type: str,
    event_id: str,
    data: dict[str, Any],
    at: datetime,
) -> None:
    """The catch-up event (with the object as it was), and a delivery when the agency has
    a live endpoint."""
    repository.add(
        session,
        WebhookEvent(
            id=event_id,
            agency_id=agency_id,
            type=event_type,
            subject_id=subject_id,
            data=data,
            created_at=at,
        ),
    )
    await session.flush()  # no ORM relationship orders the two inserts: the event first
    agency = await repository.agency(session, agency_id)
    if agency.webhook_url and agency.webhook_disabled_at is None:
        repository.add(session, new_delivery(event_id, agency_id, at))
    await session.flush()


def new_delivery(event_id: str, agency_id: str, at: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        id=new_id("whd"),
        event_id=event_id,
        agency_id=agency_id,
        status="pending",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
        updated_at=at,
    )
