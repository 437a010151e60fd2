"""The Users page (administrators): create a user, disable and enable one. A disabled user
cannot sign in and their sessions and staff tokens stop working; bad input is a readable
error and writes nothing; other roles, and a POST without the CSRF token, get 403. Both
databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paygov.audit import service as audit
from paygov.audit.models import AuditEntry
from paygov.backoffice import service as backoffice
from paygov.kit.context import Context
from paygov.staff.models import StaffSession, StaffUser
from tests.backoffice.conftest import PASSWORD, User, alert, create_user, csrf_of, sign_in
from tests.backoffice.test_admin_actions import audited
from tests.factories import AgencyKeys, staff_token

ADMIN = "staff:admin@stc.gov.vn"
RUNS = "/v1/finance/reconciliation/runs"  # any route a staff token may read


async def state(ctx: Context) -> dict[str, Any]:
    """Everything the Users page may change."""
    async with ctx.db.read() as session:
        users = [
            (u.email, u.role, u.agency_id, u.disabled_at is not None)
            for u in await session.scalars(select(StaffUser))
        ]
        live = list(
            await session.scalars(select(StaffSession.id).where(StaffSession.ended_at.is_(None)))
        )
        entries = list(await session.scalars(select(AuditEntry.id)))
    return {"users": sorted(users), "sessions": sorted(live), "audit": sorted(entries)}


async def user_row(ctx: Context, email: str) -> StaffUser:
    async with ctx.db.read() as session:
        found = await session.scalar(select(StaffUser).where(StaffUser.email == email))
    assert found is not None
    return found


async def chain_intact(ctx: Context) -> bool:
    async with ctx.db.read() as session:
        return (await audit.verify(session)).ok


@pytest.fixture
async def admin(ctx: Context, agency: AgencyKeys) -> User:
    return await create_user(ctx, "admin")


class TestCreateUser:
    async def test_admin_creates_a_finance_user_who_waits_for_a_password(
        self, ctx: Context, browser: httpx.AsyncClient, admin: User
    ) -> None:
        csrf = await sign_in(browser, ctx, admin)
        reply = await browser.post(
            "/backoffice/users",
            data={"csrf": csrf, "email": " New.Finance@STC.gov.vn ", "role": "finance"},
        )
        assert reply.status_code == 303, reply.text
        assert reply.headers["location"] == "/backoffice/users?msg=user_created"
        created = await user_row(ctx, "new.finance@stc.gov.vn")
        assert (created.role, created.agency_id, created.password_hash) == ("finance", None, None)
        assert (ADMIN, created.id) in await audited(ctx, "staff_user.created")
        page = await browser.get(reply.headers["location"])
        assert "Đã tạo người dùng" in page.text
        assert "paygov user password --email new.finance@stc.gov.vn" in page.text
        english = await browser.get("/backoffice/users?msg=user_created&lang=en")
        assert "User created. They can sign in once an operator" in english.text
        assert await chain_intact(ctx)

    async def test_an_agency_finance_user_gets_the_agency_and_others_get_none(
        self, ctx: Context, browser: httpx.AsyncClient, admin: User, agency: AgencyKeys
    ) -> None:
        csrf = await sign_in(browser, ctx, admin)
        for email, role in (("hcm@stc.gov.vn", "agency_finance"), ("v@stc.gov.vn", "viewer")):
            reply = await browser.post(
                "/backoffice/users",
                data={"csrf": csrf, "email": email, "role": role, "agency": "dvc-hcm"},
            )
            assert reply.status_code == 303, reply.text
        assert (await user_row(ctx, "hcm@stc.gov.vn")).agency_id == agency.agency.id
        assert (await user_row(ctx, "v@stc.gov.vn")).agency_id is None  # the form's leftover


BAD_INPUT = [
    # (fields, status, Vietnamese words of the error)
    ({"email": "not-an-email", "role": "finance"}, 422, "Nhập địa chỉ email hợp lệ"),
    ({"email": "x@stc.gov.vn", "role": "superuser"}, 422, "Chọn một vai trò"),
    ({"email": "x@stc.gov.vn", "role": "agency_finance"}, 422, "cần chọn một đơn vị"),
    (
        {"email": "x@stc.gov.vn", "role": "agency_finance", "agency": "no-such"},
        422,
        "cần chọn một đơn vị",
    ),
    ({"email": "ADMIN@stc.gov.vn", "role": "viewer"}, 409, "Đã có người dùng với email này"),
    ({}, 422, "Nhập địa chỉ email hợp lệ"),
]


class TestBadInput:
    @pytest.mark.parametrize(("fields", "status", "words"), BAD_INPUT)
    async def test_a_readable_error_and_nothing_written(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        admin: User,
        fields: dict[str, str],
        status: int,
        words: str,
    ) -> None:
        csrf = await sign_in(browser, ctx, admin)
        before = await state(ctx)
        reply = await browser.post("/backoffice/users", data={"csrf": csrf, **fields})
        assert reply.status_code == status, reply.text
        assert words in alert(reply.text)
        assert f'value="{fields.get("email", "")}"' in reply.text  # the form keeps the input
        assert await state(ctx) == before

    async def test_the_error_speaks_english_too(
        self, ctx: Context, browser: httpx.AsyncClient, admin: User
    ) -> None:
        csrf = await sign_in(browser, ctx, admin)
        reply = await browser.post(
            "/backoffice/users?lang=en",
            data={"csrf": csrf, "email": "x@stc.gov.vn", "role": "agency_finance"},
        )
        assert reply.status_code == 422
        assert alert(reply.text) == "An Agency finance user needs one of the listed agencies."


class TestDisableAndEnable:
    async def test_a_disabled_user_is_signed_out_and_cannot_sign_in_until_enabled(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        second_browser: httpx.AsyncClient,
        admin: User,
    ) -> None:
        await sign_in(browser, ctx, admin)
        token = await staff_token(ctx, email="f@stc.gov.vn")  # the user, with a staff token
        async with ctx.db.transaction() as session:
            secret = await backoffice.set_credentials(
                session, ctx, "f@stc.gov.vn", PASSWORD, actor="test"
            )
        finance = User("f@stc.gov.vn", secret)
        await sign_in(second_browser, ctx, finance)
        target = await user_row(ctx, finance.email)
        csrf = csrf_of((await browser.get("/backoffice/users")).text)

        off = await browser.post(f"/backoffice/users/{target.id}/disable", data={"csrf": csrf})
        assert off.status_code == 303
        assert off.headers["location"] == "/backoffice/users?msg=user_disabled"
        assert (await user_row(ctx, finance.email)).disabled_at is not None
        kicked = await second_browser.get("/backoffice/dashboard")
        assert (kicked.status_code, kicked.headers["location"]) == (303, "/backoffice/login")
        assert (await second_browser.get(RUNS, headers=token)).status_code == 401
        page = await second_browser.get("/backoffice/login")
        refused = await second_browser.post(
            "/backoffice/login",
            data={"csrf": csrf_of(page.text), "email": finance.email, "password": PASSWORD},
        )
        assert refused.status_code == 401
        assert await audited(ctx, "staff_user.disabled") == [(ADMIN, target.id)]

        on = await browser.post(f"/backoffice/users/{target.id}/enable", data={"csrf": csrf})
        assert on.status_code == 303
        assert on.headers["location"] == "/backoffice/users?msg=user_enabled"
        assert (await user_row(ctx, finance.email)).disabled_at is None
        assert await audited(ctx, "staff_user.enabled") == [(ADMIN, target.id)]
        assert (await second_browser.get(RUNS, headers=token)).status_code == 200
        await sign_in(second_browser, ctx, finance)  # signs in again
        assert await chain_intact(ctx)

    async def test_disabling_twice_writes_once(
        self, ctx: Context, browser: httpx.AsyncClient, admin: User
    ) -> None:
        csrf = await sign_in(browser, ctx, admin)
        viewer = await create_user(ctx, "viewer")
        target = await user_row(ctx, viewer.email)
        for _ in range(2):
            reply = await browser.post(
                f"/backoffice/users/{target.id}/disable", data={"csrf": csrf}
            )
            assert reply.status_code == 303
        assert await audited(ctx, "staff_user.disabled") == [(ADMIN, target.id)]

    async def test_an_admin_cannot_disable_themselves(
        self, ctx: Context, browser: httpx.AsyncClient, admin: User
    ) -> None:
        csrf = await sign_in(browser, ctx, admin)
        me = await user_row(ctx, admin.email)
        page = await browser.get("/backoffice/users")
        assert f"/backoffice/users/{me.id}/disable" not in page.text  # no button for oneself
        before = await state(ctx)
        reply = await browser.post(f"/backoffice/users/{me.id}/disable", data={"csrf": csrf})
        assert reply.status_code == 409
        assert "không thể tự vô hiệu hoá" in alert(reply.text)
        assert await state(ctx) == before
        assert (await browser.get("/backoffice/dashboard")).status_code == 200

    @pytest.mark.parametrize(
        ("path", "status"),
        [("usr_nobody/disable", 404), ("{me}/promote", 404)],
    )
    async def test_unknown_user_or_action_is_a_404_page(
        self, ctx: Context, browser: httpx.AsyncClient, admin: User, path: str, status: int
    ) -> None:
        csrf = await sign_in(browser, ctx, admin)
        me = await user_row(ctx, admin.email)
        before = await state(ctx)
        reply = await browser.post(
            "/backoffice/users/" + path.format(me=me.id), data={"csrf": csrf}
        )
        assert reply.status_code == status
        assert "<html" in reply.text
        assert await state(ctx) == before


# --- walls ---------------------------------------------------------------------------------


ACTIONS = {
    "create": ("/backoffice/users", {"email": "new@stc.gov.vn", "role": "admin"}),
    "disable": ("/backoffice/users/{target}/disable", {}),
    "enable": ("/backoffice/users/{target}/enable", {}),
}


class TestWalls:
    @pytest.mark.parametrize("action", list(ACTIONS))
    @pytest.mark.parametrize("who", ["finance", "viewer", "no_csrf"])
    async def test_refused_and_nothing_changes(
        self, ctx: Context, browser: httpx.AsyncClient, admin: User, action: str, who: str
    ) -> None:
        role = "admin" if who == "no_csrf" else who
        csrf = await sign_in(browser, ctx, await create_user(ctx, role, email="me@stc.gov.vn"))
        target = await create_user(ctx, "viewer", email="target@stc.gov.vn")
        if action == "enable":
            async with ctx.db.transaction() as session:
                row = await session.scalar(select(StaffUser).where(StaffUser.email == target.email))
                assert row is not None
                row.disabled_at = ctx.clock.now()
        path, fields = ACTIONS[action]
        path = path.format(target=(await user_row(ctx, target.email)).id)
        before = await state(ctx)
        form = fields if who == "no_csrf" else {"csrf": csrf, **fields}
        reply = await browser.post(path, data=form)
        assert reply.status_code == 403, reply.text
        assert await state(ctx) == before
        if who != "no_csrf":
            assert (await browser.get("/backoffice/users")).status_code == 403
