"""All SQL of the ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.ledger.models import Journal, Posting


async def insert_journal(
    session: AsyncSession,
    *,
    kind: str,
    reference: str,
    payment_id: str | None,
    at: datetime,
    postings: list[tuple[str, int]],
) -> int:
    """Insert a journal and its postings; IntegrityError if (kind, reference) exists."""
    journal_id = await session.scalar(
        insert(Journal)
        .values(kind=kind, reference=reference, payment_id=payment_id, created_at=at)
        .returning(Journal.id)
    )
    assert journal_id is not None
    await session.execute(
        insert(Posting),
        [
            {"journal_id": journal_id, "account": account, "amount": amount}
            for account, amount in postings
        ],
    )
    return int(journal_id)


async def unbalanced_journals(session: AsyncSession) -> list[int]:
    rows = await session.scalars(
        select(Posting.journal_id)
        .group_by(Posting.journal_id)
        .having(func.sum(Posting.amount) != 0)
    )
    return list(rows)


async def balances(session: AsyncSession, prefix: str = "") -> dict[str, int]:
    rows = await session.execute(
        select(Posting.account, func.sum(Posting.amount))
        .where(Posting.account.startswith(prefix))
        .group_by(Posting.account)
    )
    return {account: int(total) for account, total in rows.all()}


async def postings_of(session: AsyncSession, payment_id: str) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        select(Journal.kind, Posting.account, Posting.amount)
        .join(Posting, Posting.journal_id == Journal.id)
        .where(Journal.payment_id == payment_id)
        .order_by(Posting.id)
    )
    return [(kind, account, int(amount)) for kind, account, amount in rows.all()]
