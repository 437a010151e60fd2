"""All SQL of staff users and their tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.staff.models import StaffSession, StaffToken, StaffUser


def add(session: AsyncSession, row: StaffUser | StaffToken) -> None:
    session.add(row)


async def user_by_email(session: AsyncSession, email: str) -> StaffUser | None:
    found: StaffUser | None = await session.scalar(
        select(StaffUser).where(StaffUser.email == email)
    )
    return found


async def user_for_update(session: AsyncSession, user_id: str) -> StaffUser | None:
    found: StaffUser | None = await session.scalar(
        select(StaffUser).where(StaffUser.id == user_id).with_for_update()
    )
    return found


async def end_sessions_of(session: AsyncSession, user_id: str, at: datetime) -> None:
    """End the user's back-office sessions (paygov/backoffice)."""
    await session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=at)
    )


async def users(session: AsyncSession) -> list[StaffUser]:
    return list(await session.scalars(select(StaffUser).order_by(StaffUser.email)))


async def user_for_token(session: AsyncSession, token_hash: str) -> StaffUser | None:
    found: StaffUser | None = await session.scalar(
        select(StaffUser)
        .join(StaffToken, StaffToken.user_id == StaffUser.id)
        .where(
            StaffToken.token_hash == token_hash,
            StaffToken.revoked_at.is_(None),
            StaffUser.disabled_at.is_(None),
        )
    )
    return found


async def revoke_token(session: AsyncSession, token_id: str, at: datetime) -> StaffToken | None:
    found: StaffToken | None = await session.scalar(
        update(StaffToken)
        .where(StaffToken.id == token_id, StaffToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(StaffToken)
    )
    return found
