"""All SQL of idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert, select
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


async def purge_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
