"""All SQL of webhook events, deliveries and their attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.models import Agency
from paygov.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent


def add(session: AsyncSession, *rows: WebhookEvent | WebhookDelivery | WebhookAttempt) -> None:
    session.add_all(rows)


async def agency(session: AsyncSession, agency_id: str, *, for_update: bool = False) -> Agency:
    query = select(Agency).where(Agency.id == agency_id)
    found = await session.scalar(query.with_for_update() if for_update else query)
    assert found is not None, agency_id
    return found


async def event(session: AsyncSession, event_id: str) -> WebhookEvent | None:
    found: WebhookEvent | None = await session.get(WebhookEvent, event_id)
    return found


async def events_after(
    session: AsyncSession, agency_id: str, since: str | None, limit: int
) -> list[WebhookEvent]:
    """Oldest first by id (ULIDs sort by time)."""
    query = select(WebhookEvent).where(WebhookEvent.agency_id == agency_id)
    if since is not None:
        query = query.where(WebhookEvent.id > since)
    return list(await session.scalars(query.order_by(WebhookEvent.id).limit(limit)))


async def delivery(
    session: AsyncSession, delivery_id: str, *, agency_id: str | None = None, lock: bool = False
) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if agency_id is not None:
        query = query.where(WebhookDelivery.agency_id == agency_id)
    found: WebhookDelivery | None = await session.scalar(query.with_for_update() if lock else query)
    return found


async def deliveries_of(
    session: AsyncSession,
    agency_id: str,
    *,
    status: str | None,
    before: str | None,
    limit: int,
) -> list[tuple[WebhookDelivery, str]]:
    """The agency's deliveries with their event type, newest first by id."""
    query = (
        select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.agency_id == agency_id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = await session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit))
    return [(row[0], row[1]) for row in rows]


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[str]:
    """Pending deliveries that are due, hidden from other workers until `lease_until`.

    PostgreSQL: rows another worker is claiming are skipped, not waited for. SQLite runs
    one worker, and its write transaction is serial anyway.
    """
    query = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    if (await session.connection()).dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(await session.scalars(query))
    if ids:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(next_attempt_at=lease_until)
        )
    return ids


async def disable_pending(session: AsyncSession, agency_id: str, *, at: datetime) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.agency_id == agency_id, WebhookDelivery.status == "pending")
        .values(status="disabled", next_attempt_at=None, updated_at=at)
    )


async def attempts_of(session: AsyncSession, delivery_id: str) -> list[WebhookAttempt]:
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    )
    return list(rows)


async def requeue_disabled(
    session: AsyncSession, agency_id: str, *, since: datetime, at: datetime
) -> int:
    """Make the deliveries disabled at or after `since` due again at `at`."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.agency_id == agency_id,
            WebhookDelivery.status == "disabled",
            WebhookDelivery.updated_at >= since,
        )
        .values(status="pending", next_attempt_at=at, updated_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def events_without_delivery(
    session: AsyncSession, agency_id: str, *, since: datetime
) -> list[str]:
    """The agency's events since `since` that never got a delivery (oldest first)."""
    rows = await session.scalars(
        select(WebhookEvent.id)
        .where(
            WebhookEvent.agency_id == agency_id,
            WebhookEvent.created_at >= since,
            ~exists().where(WebhookDelivery.event_id == WebhookEvent.id),
        )
        .order_by(WebhookEvent.id)
    )
    return list(rows)
