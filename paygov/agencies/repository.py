"""All SQL of agencies and their beneficiary accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.models import Agency, BeneficiaryAccount


async def code_taken(session: AsyncSession, code: str) -> bool:
    found = await session.scalar(select(Agency.id).where(Agency.code == code))
    return found is not None


async def by_code(session: AsyncSession, code: str) -> Agency | None:
    result: Agency | None = await session.scalar(select(Agency).where(Agency.code == code))
    return result


async def all_agencies(session: AsyncSession) -> list[Agency]:
    return list(await session.scalars(select(Agency).order_by(Agency.code)))


async def beneficiaries(session: AsyncSession, agency_id: str) -> list[BeneficiaryAccount]:
    rows = await session.scalars(
        select(BeneficiaryAccount)
        .where(BeneficiaryAccount.agency_id == agency_id)
        .order_by(BeneficiaryAccount.is_default.desc(), BeneficiaryAccount.id)
    )
    return list(rows)


def add(session: AsyncSession, *objects: Agency | BeneficiaryAccount) -> None:
    session.add_all(objects)


async def get(session: AsyncSession, agency_id: str) -> Agency:
    agency = await session.get(Agency, agency_id)
    assert agency is not None, agency_id
    return agency
