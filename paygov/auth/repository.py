"""All SQL of API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.models import Agency, BeneficiaryAccount
from paygov.agencies.profile import AgencyProfile
from paygov.auth.models import ApiKey
from paygov.kit.db import DriverStatement, driver_fetch

# Built once: the hot path pays neither statement construction nor cache-key cost.
PROFILE_BY_KEY = (
    select(
        Agency.id, Agency.code, Agency.mode, Agency.return_hosts, BeneficiaryAccount.account_number
    )
    .select_from(ApiKey)
    .join(Agency, Agency.id == ApiKey.agency_id)
    .outerjoin(BeneficiaryAccount, BeneficiaryAccount.agency_id == Agency.id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
    .order_by(BeneficiaryAccount.is_default.desc(), BeneficiaryAccount.id)
)


PROFILE_BY_KEY_PG = DriverStatement.of(PROFILE_BY_KEY)


async def profile_for_key(session: AsyncSession, key_hash: str) -> AgencyProfile | None:
    """The agency owning an unrevoked key, with its beneficiary accounts: one query."""
    if session.get_bind().dialect.name == "postgresql":  # the hot path: see DriverStatement
        rows = await driver_fetch(session, PROFILE_BY_KEY_PG, {"key_hash": key_hash})
    else:
        connection = await session.connection()
        rows = list((await connection.execute(PROFILE_BY_KEY, {"key_hash": key_hash})).all())
    if not rows:
        return None
    agency_id, code, mode, hosts, _ = rows[0]
    accounts = tuple(row[4] for row in rows if row[4] is not None)
    return AgencyProfile(agency_id, code, mode, tuple(hosts), accounts)


async def profile_of(session: AsyncSession, agency_id: str) -> AgencyProfile:
    """The same profile for an agency known by id (CLI, demo, back office)."""
    agency = await session.get(Agency, agency_id)
    assert agency is not None, agency_id
    accounts = await session.scalars(
        select(BeneficiaryAccount.account_number)
        .where(BeneficiaryAccount.agency_id == agency_id)
        .order_by(BeneficiaryAccount.is_default.desc(), BeneficiaryAccount.id)
    )
    return AgencyProfile(
        agency.id, agency.code, agency.mode, tuple(agency.return_hosts), tuple(accounts)
    )


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
