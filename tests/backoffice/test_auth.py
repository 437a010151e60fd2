"""Sign-in with password and TOTP, sessions, CSRF and lockout, on both databases."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from paygov.audit.models import AuditEntry
from paygov.backoffice import security
from paygov.kit.context import Context
from tests.backoffice.conftest import PASSWORD, code_now, create_user, csrf_of, next_code, sign_in


class TestTotp:
    def test_rfc6238_vector(self) -> None:
        secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # b"12345678901234567890"
        assert security.totp_code(secret, 59 // 30) == "287082"
        assert security.totp_code(secret, 1111111109 // 30) == "081804"

    def test_password_hash_round_trip(self) -> None:
        stored = security.hash_password("đúng rồi")
        assert security.verify_password("đúng rồi", stored)
        assert not security.verify_password("sai rồi", stored)
        assert not security.verify_password("x", None)


class TestSignIn:
    async def test_password_then_code_then_dashboard(
        self, ctx: Context, browser: httpx.AsyncClient
    ) -> None:
        user = await create_user(ctx, "finance")
        assert (await browser.get("/backoffice/dashboard")).headers["location"] == (
            "/backoffice/login"
        )
        await sign_in(browser, ctx, user)
        cookie = next(c for c in browser.cookies.jar if c.name == "paygov_bo")
        assert cookie.secure
        assert cookie.has_nonstandard_attr("HttpOnly")

    async def test_cookie_flags(self, ctx: Context, browser: httpx.AsyncClient) -> None:
        user = await create_user(ctx, "finance")
        page = await browser.get("/backoffice/login")
        reply = await browser.post(
            "/backoffice/login",
            data={"csrf": csrf_of(page.text), "email": user.email, "password": PASSWORD},
        )
        header = reply.headers["set-cookie"].lower()
        assert "secure" in header
        assert "httponly" in header
        assert "samesite=lax" in header

    async def test_code_is_not_accepted_twice(
        self, ctx: Context, browser: httpx.AsyncClient, second_browser: httpx.AsyncClient
    ) -> None:
        user = await create_user(ctx, "finance")
        await sign_in(browser, ctx, user)
        used = code_now(ctx, user)
        page = await second_browser.get("/backoffice/login")
        await second_browser.post(
            "/backoffice/login",
            data={"csrf": csrf_of(page.text), "email": user.email, "password": PASSWORD},
        )
        page = await second_browser.get("/backoffice/login/code")
        reply = await second_browser.post(
            "/backoffice/login/code", data={"csrf": csrf_of(page.text), "code": used}
        )
        assert reply.status_code == 401

    async def test_wrong_password(self, ctx: Context, browser: httpx.AsyncClient) -> None:
        user = await create_user(ctx, "finance")
        page = await browser.get("/backoffice/login")
        reply = await browser.post(
            "/backoffice/login",
            data={"csrf": csrf_of(page.text), "email": user.email, "password": "wrong"},
        )
        assert reply.status_code == 401
        assert (await browser.get("/backoffice/login/code")).status_code == 303

    async def test_idle_session_expires(self, ctx: Context, browser: httpx.AsyncClient) -> None:
        user = await create_user(ctx, "finance")
        await sign_in(browser, ctx, user)
        ctx.clock.advance(timedelta(minutes=31))
        assert (await browser.get("/backoffice/dashboard")).status_code == 303

    async def test_logout(self, ctx: Context, browser: httpx.AsyncClient) -> None:
        user = await create_user(ctx, "finance")
        csrf = await sign_in(browser, ctx, user)
        assert (await browser.post("/backoffice/logout", data={"csrf": csrf})).status_code == 303
        assert (await browser.get("/backoffice/dashboard")).status_code == 303


class TestCsrf:
    async def test_login_without_token_is_refused(
        self, ctx: Context, browser: httpx.AsyncClient
    ) -> None:
        user = await create_user(ctx, "finance")
        await browser.get("/backoffice/login")
        reply = await browser.post(
            "/backoffice/login", data={"email": user.email, "password": PASSWORD}
        )
        assert reply.status_code == 403

    async def test_post_without_token_is_refused(
        self, ctx: Context, browser: httpx.AsyncClient
    ) -> None:
        user = await create_user(ctx, "finance")
        await sign_in(browser, ctx, user)
        assert (await browser.post("/backoffice/logout", data={"csrf": "x"})).status_code == 403
        assert (await browser.get("/backoffice/dashboard")).status_code == 200


class TestLockout:
    async def test_five_failures_lock_for_fifteen_minutes(
        self, ctx: Context, browser: httpx.AsyncClient
    ) -> None:
        user = await create_user(ctx, "finance")
        for _ in range(5):
            page = await browser.get("/backoffice/login")
            reply = await browser.post(
                "/backoffice/login",
                data={"csrf": csrf_of(page.text), "email": user.email, "password": "sai"},
            )
            assert reply.status_code == 401
        page = await browser.get("/backoffice/login")
        locked = await browser.post(
            "/backoffice/login",
            data={"csrf": csrf_of(page.text), "email": user.email, "password": PASSWORD},
        )
        assert locked.status_code == 401
        assert "15" in locked.text
        async with ctx.db.read() as session:
            actions = list(await session.scalars(select(AuditEntry.action)))
        assert "staff_user.locked" in actions
        ctx.clock.advance(timedelta(minutes=16))
        next_code(ctx, user)
        await sign_in(browser, ctx, user)
