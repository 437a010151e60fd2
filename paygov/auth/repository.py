"""All SQL of API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.models import Agency
from paygov.auth.models import ApiKey


async def agency_for_key(session: AsyncSession, key_hash: str) -> Agency | None:
    """The agency owning an unrevoked key, in one query."""
    result: Agency | None = await session.scalar(
        select(Agency)
        .join(ApiKey, ApiKey.agency_id == Agency.id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )
    return result


def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)


async def revoke(session: AsyncSession, key_id: str, at: datetime) -> ApiKey | None:
    key: ApiKey | None = await session.scalar(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(ApiKey)
    )
    return key


async def keys_of(session: AsyncSession, agency_id: str) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.agency_id == agency_id).order_by(ApiKey.created_at)
    )
    return list(rows)
