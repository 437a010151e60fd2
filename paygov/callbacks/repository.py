"""All SQL of the callback inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.callbacks.models import InboxEntry


async def insert_rejected(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(InboxEntry), [row])


async def insert_new(session: AsyncSession, row: dict[str, Any]) -> int | None:
    """Insert unless (provider, dedupe_key) exists; the new id, or None for a duplicate.

    A concurrent copy of the same callback waits on the unique index until the first
    commits, then finds the conflict: only one copy is ever processed.
    """
    dialect = session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(InboxEntry).values(row)
    statement = statement.on_conflict_do_nothing(index_elements=["provider", "dedupe_key"])
    entry_id = await session.scalar(statement.returning(InboxEntry.id))
    return None if entry_id is None else int(entry_id)


async def mark_processed(session: AsyncSession, entry_id: int, result: str, at: datetime) -> None:
    await session.execute(
        update(InboxEntry).where(InboxEntry.id == entry_id).values(result=result, processed_at=at)
    )


async def for_txn_ref(session: AsyncSession, txn_ref: str) -> list[InboxEntry]:
    rows = await session.scalars(
        select(InboxEntry).where(InboxEntry.txn_ref == txn_ref).order_by(InboxEntry.id)
    )
    return list(rows)
