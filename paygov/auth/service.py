"""API keys: issued once in clear, stored as HMAC-SHA256 under a server secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.models import Agency
from paygov.agencies.profile import AgencyProfile
from paygov.audit import service as audit
from paygov.auth import repository
from paygov.auth.models import ApiKey
from paygov.kit.crypto import keyed_hash, new_bearer
from paygov.kit.errors import NotFound, Unauthorized
from paygov.kit.ids import new_id


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"
    message = "The API key is unknown or revoked."


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "No active API key with this id."


def key_prefix(mode: str) -> str:
    return f"pk_{mode}_"


async def issue_key(
    session: AsyncSession, secret: bytes, agency: Agency, *, at: datetime, actor: str
) -> str:
    """Create a key for the agency; the clear key is returned here and never again."""
    bearer = new_bearer(secret, key_prefix(agency.mode))
    key = ApiKey(
        id=new_id("key"),
        agency_id=agency.id,
        key_hash=bearer.stored_hash,
        display_prefix=bearer.display_prefix,
        created_at=at,
        revoked_at=None,
    )
    repository.add(session, key)
    await session.flush()
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="api_key.created",
        subject_type="api_key",
        subject_id=key.id,
        details={"agency_id": agency.id, "prefix": key.display_prefix},
    )
    return bearer.clear


async def revoke_key(session: AsyncSession, key_id: str, *, at: datetime, actor: str) -> ApiKey:
    """Revoke a key at once; requests carrying it get 401 from then on."""
    key = await repository.revoke(session, key_id, at)
    if key is None:
        raise ApiKeyNotFound(field="key_id")
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="api_key.revoked",
        subject_type="api_key",
        subject_id=key.id,
        details={"agency_id": key.agency_id, "prefix": key.display_prefix},
    )
    return key


async def authenticate(session: AsyncSession, secret: bytes, clear: str) -> AgencyProfile:
    """The agency behind a bearer key, or 401."""
    if not clear.startswith(("pk_test_", "pk_live_")) or len(clear) > 128:
        raise InvalidApiKey()
    profile = await repository.profile_for_key(session, keyed_hash(secret, clear))
    if profile is None:
        raise InvalidApiKey()
    return profile


async def profile_of(session: AsyncSession, agency_id: str) -> AgencyProfile:
    return await repository.profile_of(session, agency_id)


async def keys_of(session: AsyncSession, agency_id: str) -> list[ApiKey]:
    return await repository.keys_of(session, agency_id)
