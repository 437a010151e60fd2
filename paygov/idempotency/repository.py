"""All SQL of idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.idempotency.models import IdempotencyKey

KEYS = cast(Table, IdempotencyKey.__table__)
INSERT_KEY = insert(KEYS)


async def claim(session: AsyncSession, row: dict[str, object]) -> None:
    """Insert the key; raises IntegrityError when it exists. On PostgreSQL a key another
    transaction is inserting makes this wait (up to lock_timeout) for that one to end."""
    connection = await session.connection()
    await connection.execute(INSERT_KEY, [row])


def is_key_conflict(exc: IntegrityError) -> bool:
    """Whether a failed write failed because the idempotency key was already stored."""
    return "idempotency_keys" in str(exc.orig)


async def find(
    session: AsyncSession, agency_id: str, route: str, key: str
) -> IdempotencyKey | None:
    result: IdempotencyKey | None = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.agency_id == agency_id,
            IdempotencyKey.route == route,
            IdempotencyKey.key == key,
        )
    )
    return result


async def purge_before(session: AsyncSession, cutoff: datetime, *, limit: int) -> int:
    """Delete up to `limit` keys created before `cutoff`, oldest first. On PostgreSQL keys
    another worker is deleting are skipped (SKIP LOCKED), so workers share the work."""
    doomed = (
        select(IdempotencyKey.agency_id, IdempotencyKey.route, IdempotencyKey.key)
        .where(IdempotencyKey.created_at < cutoff)
        .order_by(IdempotencyKey.created_at)
        .limit(limit)
    )
    if (await session.connection()).dialect.name == "postgresql":
        doomed = doomed.with_for_update(skip_locked=True)
    result = await session.execute(
        delete(IdempotencyKey)
        .where(
            tuple_(IdempotencyKey.agency_id, IdempotencyKey.route, IdempotencyKey.key).in_(doomed)
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
