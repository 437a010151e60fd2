"""The staff-token dependency of the finance API (`Authorization: Bearer st_…`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.auth.api import context
from paygov.kit.context import Context
from paygov.kit.errors import Forbidden, RateLimited, Unauthorized
from paygov.staff import service
from paygov.staff.roles import Permission, Staff

staff_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StaffToken",
    description="A staff token (`st_…`) from `paygov user token`, acting as that user.",
)


class StaffToken:
    """The caller's token, checked inside the route's own transaction."""

    def __init__(self, clear: str, ctx: Context) -> None:
        self.clear = clear
        self.ctx = ctx

    async def require(self, session: AsyncSession, permission: Permission) -> Staff:
        """The staff member, if the role grants `permission`; else 403."""
        staff = await service.authenticate(
            session, self.ctx.settings.api_key_secret_bytes, self.clear
        )
        if not staff.may(permission):
            raise Forbidden(f"The {staff.role} role may not {permission.value}.")
        return staff


async def staff_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(staff_bearer)],
) -> StaffToken:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized()
    ctx = context(request)
    if not ctx.limiter.allow(credentials.credentials):
        raise RateLimited()
    return StaffToken(credentials.credentials, ctx)


StaffCaller = Annotated[StaffToken, Depends(staff_token)]
