"""The back office mounted on a PayGov app, and staff users who can sign in to it."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from paygov.app import create_app
from paygov.backoffice import security
from paygov.backoffice import service as backoffice
from paygov.backoffice.settings import BackofficeSettings
from paygov.kit.context import Context
from paygov.staff import service as staff

PASSWORD = "mật-khẩu-đủ-dài-2026"
THRESHOLD = 1_000_000


@dataclass
class User:
    email: str
    secret: str
    last_step: int = field(default=0, compare=False)


async def create_user(
    ctx: Context, role: str, email: str | None = None, agency: str | None = None
) -> User:
    email = email or f"{role}@stc.gov.vn"
    async with ctx.db.transaction() as session:
        await staff.create_user(
            session, email=email, role=role, agency_code=agency, at=ctx.clock.now(), actor="test"
        )
        secret = await backoffice.set_credentials(session, ctx, email, PASSWORD, actor="test")
    return User(email, secret)


def code_now(ctx: Context, user: User) -> str:
    return security.totp_code(user.secret, security.totp_step(ctx.clock.now()))


def next_code(ctx: Context, user: User) -> str:
    """A code of a later time step (a used one is refused): moves the clock 30 s on."""
    ctx.clock.advance(timedelta(seconds=30))
    return code_now(ctx, user)


def live_code(user: User) -> str:
    """A code for a server on the wall clock (a subprocess: the test cannot move its time).
    Each code is of a later step than the last one used (a step is accepted once), at most
    one step ahead of now; when both are used up, wait for the clock."""
    while True:
        now = security.totp_step(datetime.now(UTC))
        step = max(user.last_step + 1, now)
        if step <= now + 1:
            user.last_step = step
            return security.totp_code(user.secret, step)
        time.sleep(1)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def alert(html: str) -> str:
    """The text of the page's error notice."""
    found = re.search(r'role="alert">([^<]*)<', html)
    assert found, html[:2000]
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, ctx: Context, user: User) -> str:
    """Password, then a fresh TOTP code; returns the signed-in page's CSRF token."""
    page = await http.get("/backoffice/login")
    reply = await http.post(
        "/backoffice/login",
        data={"csrf": csrf_of(page.text), "email": user.email, "password": PASSWORD},
    )
    assert reply.status_code == 303, reply.text
    page = await http.get("/backoffice/login/code")
    reply = await http.post(
        "/backoffice/login/code", data={"csrf": csrf_of(page.text), "code": next_code(ctx, user)}
    )
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == "/backoffice/dashboard"
    dashboard = await http.get("/backoffice/dashboard")
    assert dashboard.status_code == 200
    return csrf_of(dashboard.text)


@pytest.fixture
def bo_app(ctx: Context) -> object:
    app = create_app(ctx)  # mounts the back office with its settings from the environment
    app.state.backoffice = BackofficeSettings(approval_threshold=THRESHOLD)
    return app


@pytest.fixture
async def browser(bo_app: object) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client over https (the session cookie is Secure)."""
    transport = httpx.ASGITransport(app=bo_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://paygov.test") as http:
        yield http


@pytest.fixture
async def second_browser(bo_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=bo_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://paygov.test") as http:
        yield http
