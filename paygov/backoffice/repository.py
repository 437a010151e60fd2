"""All SQL of the back office: sessions, approvals, cross-agency search, dashboard figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.models import Agency
from paygov.audit.models import AuditEntry
from paygov.ledger.models import Journal, Posting
from paygov.payments.models import Attempt, Payment
from paygov.refunds.models import Refund
from paygov.staff.models import StaffApproval, StaffSession, StaffUser
from paygov.webhooks.models import WebhookDelivery, WebhookEvent


def add(session: AsyncSession, row: StaffSession | StaffApproval) -> None:
    session.add(row)


# --- sessions and users -------------------------------------------------------------------


async def session_by_token(session: AsyncSession, token_hash: str) -> StaffSession | None:
    found: StaffSession | None = await session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == token_hash, StaffSession.ended_at.is_(None)
        )
    )
    return found


async def user(session: AsyncSession, user_id: str, *, lock: bool = False) -> StaffUser | None:
    query = select(StaffUser).where(StaffUser.id == user_id)
    found: StaffUser | None = await session.scalar(query.with_for_update() if lock else query)
    return found


async def user_by_email(session: AsyncSession, email: str) -> StaffUser | None:
    found: StaffUser | None = await session.scalar(
        select(StaffUser).where(StaffUser.email == email).with_for_update()
    )
    return found


# --- approvals ----------------------------------------------------------------------------


async def approval(session: AsyncSession, approval_id: str) -> StaffApproval | None:
    found: StaffApproval | None = await session.scalar(
        select(StaffApproval).where(StaffApproval.id == approval_id).with_for_update()
    )
    return found


async def pending_approvals(session: AsyncSession, agency_id: str | None) -> list[StaffApproval]:
    query = select(StaffApproval).where(StaffApproval.status == "pending")
    if agency_id is not None:
        query = query.where(StaffApproval.agency_id == agency_id)
    return list(await session.scalars(query.order_by(StaffApproval.requested_at)))


async def approvals_for(session: AsyncSession, subject_id: str) -> list[StaffApproval]:
    return list(
        await session.scalars(
            select(StaffApproval)
            .where(StaffApproval.subject_id == subject_id)
            .order_by(StaffApproval.requested_at.desc())
        )
    )


async def emails(session: AsyncSession, user_ids: set[str]) -> dict[str, str]:
    rows = await session.execute(
        select(StaffUser.id, StaffUser.email).where(StaffUser.id.in_(user_ids))
    )
    return {row.id: row.email for row in rows}


# --- payments -----------------------------------------------------------------------------


async def find_payments(
    session: AsyncSession,
    *,
    agency_id: str | None,
    text: str | None,
    status: str | None,
    limit: int,
) -> list[tuple[Payment, str]]:
    """Newest first, with the agency's name; `text` is a payment id, dossier reference or
    a provider transaction reference."""
    query = select(Payment, Agency.name).join(Agency, Agency.id == Payment.agency_id)
    if agency_id is not None:
        query = query.where(Payment.agency_id == agency_id)
    if status:
        query = query.where(Payment.status == status)
    if text:
        by_ref = select(Attempt.payment_id).where(Attempt.txn_ref == text)
        query = query.where(
            or_(Payment.id == text, Payment.reference == text, Payment.id.in_(by_ref))
        )
    query = query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
    return [(row[0], row[1]) for row in await session.execute(query)]


async def payment(session: AsyncSession, payment_id: str) -> tuple[Payment, Agency] | None:
    row = (
        await session.execute(
            select(Payment, Agency)
            .join(Agency, Agency.id == Payment.agency_id)
            .where(Payment.id == payment_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def postings_of(session: AsyncSession, payment_id: str) -> list[tuple[Journal, Posting]]:
    rows = await session.execute(
        select(Journal, Posting)
        .join(Posting, Posting.journal_id == Journal.id)
        .where(Journal.payment_id == payment_id)
        .order_by(Journal.id, Posting.id)
    )
    return [(row[0], row[1]) for row in rows]


async def refunds_of(session: AsyncSession, payment_id: str) -> list[Refund]:
    return list(
        await session.scalars(
            select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at)
        )
    )


# --- dashboard ----------------------------------------------------------------------------


def _local_day(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    """The Vietnam calendar day of a UTC timestamp (UTC+7 all year, no DST)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, "+7 hours")
    return cast(func.timezone("Asia/Ho_Chi_Minh", column), Date)


async def per_day(
    session: AsyncSession, agency_id: str | None, since: datetime
) -> list[tuple[str, int, int, int]]:
    """(day, payments created, of them paid, VND paid) per local day since `since`."""
    day = _local_day(session, Payment.created_at).label("day")
    paid = Payment.status == "succeeded"
    query = (
        select(
            day,
            func.count(),
            func.sum(case((paid, 1), else_=0)),
            func.sum(case((paid, Payment.amount), else_=0)),
        )
        .where(Payment.created_at >= since)
        .group_by(day)
        .order_by(day)
    )
    if agency_id is not None:
        query = query.where(Payment.agency_id == agency_id)
    return [
        (str(r[0]), int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in await session.execute(query)
    ]


async def success_by_bank(
    session: AsyncSession, agency_id: str | None, since: datetime
) -> list[tuple[str, int, int]]:
    """(bank or provider, attempts, succeeded) for attempts started since `since`."""
    who = func.coalesce(Attempt.bank, Attempt.provider).label("who")
    query = (
        select(who, func.count(), func.sum(case((Attempt.status == "succeeded", 1), else_=0)))
        .where(Attempt.created_at >= since)
        .group_by(who)
        .order_by(func.count().desc())
        .limit(12)
    )
    if agency_id is not None:
        query = query.join(Payment, Payment.id == Attempt.payment_id).where(
            Payment.agency_id == agency_id
        )
    return [(str(r[0]), int(r[1]), int(r[2] or 0)) for r in await session.execute(query)]


async def success_by_agency(
    session: AsyncSession, agency_id: str | None, since: datetime
) -> list[tuple[str, int, int]]:
    """(agency name, payments, paid) for payments created since `since`."""
    query = (
        select(
            Agency.name,
            func.count(),
            func.sum(case((Payment.status == "succeeded", 1), else_=0)),
        )
        .join(Agency, Agency.id == Payment.agency_id)
        .where(Payment.created_at >= since)
        .group_by(Agency.name)
        .order_by(func.count().desc())
        .limit(12)
    )
    if agency_id is not None:
        query = query.where(Payment.agency_id == agency_id)
    return [(str(r[0]), int(r[1]), int(r[2] or 0)) for r in await session.execute(query)]


# --- webhooks, agencies, audit ------------------------------------------------------------


async def deliveries(
    session: AsyncSession, agency_id: str | None, status: str | None, limit: int
) -> list[tuple[WebhookDelivery, WebhookEvent, str]]:
    query = (
        select(WebhookDelivery, WebhookEvent, Agency.name)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(Agency, Agency.id == WebhookDelivery.agency_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    if agency_id is not None:
        query = query.where(WebhookDelivery.agency_id == agency_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return [(r[0], r[1], r[2]) for r in await session.execute(query)]


async def delivery_agency(session: AsyncSession, delivery_id: str) -> str | None:
    found: str | None = await session.scalar(
        select(WebhookDelivery.agency_id).where(WebhookDelivery.id == delivery_id)
    )
    return found


async def audit_entries(session: AsyncSession, limit: int) -> list[AuditEntry]:
    return list(
        await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
    )
