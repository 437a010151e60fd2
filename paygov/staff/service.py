"""Staff users and their API tokens (`st_…`, stored as an HMAC like agency API keys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies import repository as agencies
from paygov.audit import service as audit
from paygov.kit.crypto import keyed_hash, new_bearer
from paygov.kit.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from paygov.kit.ids import new_id
from paygov.staff import repository
from paygov.staff.models import ROLES, StaffToken, StaffUser
from paygov.staff.roles import Staff

TOKEN_PREFIX = "st_"


class InvalidStaffToken(Unauthorized):
    code = "invalid_staff_token"
    message = "The staff token is unknown or revoked, or its user is disabled."


class StaffUserExists(Conflict):
    code = "staff_user_exists"
    message = "A staff user with this email already exists."


class StaffUserNotFound(NotFound):
    code = "staff_user_not_found"
    message = "No staff user with this email."


class CannotDisableSelf(Conflict):
    code = "cannot_disable_self"
    message = "You cannot disable your own account; ask another administrator."


class StaffTokenNotFound(NotFound):
    code = "staff_token_not_found"
    message = "No active staff token with this id."


def staff_of(user: StaffUser) -> Staff:
    return Staff(user.id, user.email, user.role, user.agency_id)


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    role: str,
    agency_code: str | None,
    at: datetime,
    actor: str,
) -> StaffUser:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValidationFailed("Give the user's email address.", field="email")
    if role not in ROLES:
        raise ValidationFailed(f"The role must be one of {', '.join(ROLES)}.", field="role")
    if (role == "agency_finance") != (agency_code is not None):
        raise ValidationFailed(
            "An agency_finance user needs --agency; other roles see every agency.",
            field="agency",
        )
    agency_id = None
    if agency_code is not None:
        agency = await agencies.by_code(session, agency_code)
        if agency is None:
            raise ValidationFailed(f"No agency with code {agency_code!r}.", field="agency")
        agency_id = agency.id
    if await repository.user_by_email(session, email) is not None:
        raise StaffUserExists(field="email")
    user = StaffUser(
        id=new_id("usr"),
        email=email,
        role=role,
        agency_id=agency_id,
        created_at=at,
        disabled_at=None,
    )
    repository.add(session, user)
    await session.flush()
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="staff_user.created",
        subject_type="staff_user",
        subject_id=user.id,
        details={"email": email, "role": role, "agency_id": agency_id},
    )
    return user


async def set_disabled(
    session: AsyncSession,
    user_id: str,
    *,
    disabled: bool,
    at: datetime,
    actor: str,
    by_user_id: str | None = None,
) -> StaffUser:
    """Disable a user (no sign-in; their sessions end, their staff tokens stop working) or
    enable them again; audited. `by_user_id`, the person doing it, may not disable
    themselves. Asking for the state the user is already in changes nothing."""
    user = await repository.user_for_update(session, user_id)
    if user is None:
        raise StaffUserNotFound("No staff user with this id.", field="user_id")
    if disabled and user.id == by_user_id:
        raise CannotDisableSelf(field="user_id")
    if (user.disabled_at is not None) == disabled:
        return user
    user.disabled_at = at if disabled else None
    if disabled:
        await repository.end_sessions_of(session, user.id, at)
    await session.flush()
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="staff_user.disabled" if disabled else "staff_user.enabled",
        subject_type="staff_user",
        subject_id=user.id,
        details={"email": user.email},
    )
    return user


async def issue_token(
    session: AsyncSession, secret: bytes, email: str, *, at: datetime, actor: str
) -> str:
    """A token for a finance tool acting as this user; shown once in clear."""
    user = await repository.user_by_email(session, email.strip().lower())
    if user is None:
        raise StaffUserNotFound(field="email")
    bearer = new_bearer(secret, TOKEN_PREFIX)
    token = StaffToken(
        id=new_id("stk"),
        user_id=user.id,
        token_hash=bearer.stored_hash,
        display_prefix=bearer.display_prefix,
        created_at=at,
        revoked_at=None,
    )
    repository.add(session, token)
    await session.flush()
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="staff_token.created",
        subject_type="staff_token",
        subject_id=token.id,
        details={"user_id": user.id, "prefix": token.display_prefix},
    )
    return bearer.clear


async def revoke_token(session: AsyncSession, token_id: str, *, at: datetime, actor: str) -> None:
    token = await repository.revoke_token(session, token_id, at)
    if token is None:
        raise StaffTokenNotFound(field="token_id")
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="staff_token.revoked",
        subject_type="staff_token",
        subject_id=token.id,
        details={"user_id": token.user_id},
    )


async def authenticate(session: AsyncSession, secret: bytes, clear: str) -> Staff:
    if not clear.startswith(TOKEN_PREFIX) or len(clear) > 128:
        raise InvalidStaffToken()
    user = await repository.user_for_token(session, keyed_hash(secret, clear))
    if user is None:
        raise InvalidStaffToken()
    return staff_of(user)


async def users(session: AsyncSession) -> list[StaffUser]:
    return await repository.users(session)
