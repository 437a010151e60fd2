"""All SQL of the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.audit.models import AuditEntry

# Any constant works: it names the one advisory lock that serialises appends.
AUDIT_LOCK_KEY = 0x7061_7967_6F76


async def lock_chain(session: AsyncSession) -> None:
    """Serialise appends so two writers never chain onto the same row.

    PostgreSQL takes a transaction-scoped advisory lock; SQLite's write transactions
    (BEGIN IMMEDIATE) are already serial.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


async def last_hash(session: AsyncSession) -> str | None:
    result = await session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return result.scalar_one_or_none()


async def append(session: AsyncSession, row: dict[str, object]) -> None:
    await session.execute(insert(AuditEntry), [row])


async def stream(session: AsyncSession, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    """Every entry, oldest first, fetched in batches (bounded memory)."""
    after = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
            )
        ).all()
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].id


async def recent(session: AsyncSession, limit: int = 50) -> list[AuditEntry]:
    rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    return list(rows)
