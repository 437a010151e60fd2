"""All SQL of providers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.providers.models import Provider


async def all_providers(session: AsyncSession) -> list[Provider]:
    return list(await session.scalars(select(Provider).order_by(Provider.code)))


async def get(session: AsyncSession, code: str) -> Provider | None:
    return await session.get(Provider, code)


def add(session: AsyncSession, provider: Provider) -> None:
    session.add(provider)
