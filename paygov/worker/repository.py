"""SQL of the worker's own jobs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.payments.models import Payment


async def due_for_expiry(
    session: AsyncSession, *, now: datetime, grace: timedelta, limit: int
) -> list[str]:
    """Unresolved payments past their deadline (plus the grace period with an open attempt)."""
    rows = await session.scalars(
        select(Payment.id)
        .where(
            Payment.status.in_(("created", "pending")),
            or_(
                and_(Payment.attempt_open == false(), Payment.expires_at <= now),
                and_(Payment.attempt_open == true(), Payment.expires_at <= now - grace),
            ),
        )
        .order_by(Payment.expires_at)
        .limit(limit)
    )
    return list(rows)
