"""All SQL of manual corrections (paygov/reconciliation/corrections.py). Kept beside
repository.py, whose classification queries are tuned on their own; the discrepancy itself
is read through repository.py's query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.callbacks.models import InboxEntry
from paygov.payments.models import Payment
from paygov.reconciliation import repository
from paygov.reconciliation.models import ReconItem, ReconRun, StatementLine
from paygov.staff.models import StaffApproval, StaffUser


async def statement_line(session: AsyncSession, run_id: str, line_no: int) -> StatementLine | None:
    found: StatementLine | None = await session.scalar(
        select(StatementLine).where(
            StatementLine.run_id == run_id, StatementLine.line_no == line_no
        )
    )
    return found


async def discrepancy_about(
    session: AsyncSession, run: ReconRun, subject: str, cls: str
) -> Row[Any] | None:
    """The run's discrepancy of this class about this subject (a line's bank reference or
    number): how a later run of the day names what an earlier one called item N."""
    query = repository.discrepancies_query(run).where(
        repository.subject_sql() == subject, ReconItem.cls == cls
    )
    return (await session.execute(query)).first()


async def inbox_key_taken(session: AsyncSession, provider: str, dedupe_key: str) -> bool:
    found = await session.scalar(
        select(InboxEntry.id).where(
            InboxEntry.provider == provider, InboxEntry.dedupe_key == dedupe_key
        )
    )
    return found is not None


async def payment(session: AsyncSession, payment_id: str, *, lock: bool = False) -> Payment | None:
    query = select(Payment).where(Payment.id == payment_id)
    found: Payment | None = await session.scalar(query.with_for_update() if lock else query)
    return found


async def corrections(
    session: AsyncSession, *, status: str | None, limit: int | None
) -> list[StaffApproval]:
    """Correction requests, newest first; `status` None: whatever their status."""
    query = select(StaffApproval).where(StaffApproval.kind == "correction")
    if status is not None:
        query = query.where(StaffApproval.status == status)
    query = query.order_by(StaffApproval.requested_at.desc(), StaffApproval.id.desc())
    return list(await session.scalars(query.limit(limit)))


async def correction(session: AsyncSession, approval_id: str) -> StaffApproval | None:
    found: StaffApproval | None = await session.scalar(
        select(StaffApproval).where(
            StaffApproval.id == approval_id, StaffApproval.kind == "correction"
        )
    )
    return found


async def emails(session: AsyncSession, user_ids: set[str]) -> dict[str, str]:
    rows = await session.execute(
        select(StaffUser.id, StaffUser.email).where(StaffUser.id.in_(user_ids))
    )
    return {row.id: row.email for row in rows}


async def user_by_email(session: AsyncSession, email: str) -> StaffUser | None:
    found: StaffUser | None = await session.scalar(
        select(StaffUser).where(StaffUser.email == email)
    )
    return found
