"""All SQL of staff users and their tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.staff.models import StaffToken, StaffUser


def add(session: AsyncSession, row: StaffUser | StaffToken) -> None:
    session.add(row)


async def user_by_email(session: AsyncSession, email: str) -> StaffUser | None:
    found: StaffUser | None = await session.scalar(
        select(StaffUser).where(StaffUser.email == email)
    )
    return found


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
