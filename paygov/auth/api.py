"""The API-key dependency: parses the bearer header, rate-limits, finds the agency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.profile import AgencyProfile
from paygov.auth import service
from paygov.kit.context import Context
from paygov.kit.errors import RateLimited, Unauthorized

bearer = HTTPBearer(auto_error=False, description="An agency API key: `pk_test_…` or `pk_live_…`.")


class ApiKey:
    """The caller's key, checked against the database inside the route's own transaction."""

    def __init__(self, clear: str, ctx: Context) -> None:
        self.clear = clear
        self.ctx = ctx

    async def agency(self, session: AsyncSession) -> AgencyProfile:
        return await service.authenticate(
            session, self.ctx.settings.api_key_secret_bytes, self.clear
        )


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized()
    ctx = context(request)
    if not ctx.limiter.allow(credentials.credentials):
        raise RateLimited()
    return ApiKey(credentials.credentials, ctx)


Caller = Annotated[ApiKey, Depends(api_key)]
