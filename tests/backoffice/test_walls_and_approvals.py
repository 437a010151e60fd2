"""Permission walls on every page and the four-eyes refund, on both databases."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from paygov.kit.context import Context
from paygov.refunds.models import Refund
from tests.backoffice.conftest import PASSWORD, THRESHOLD, create_user, csrf_of, next_code, sign_in
from tests.factories import create_agency
from tests.refunds.test_refunds import install, paid

PAGES = [
    "/backoffice/dashboard",
    "/backoffice/payments",
    "/backoffice/approvals",
    "/backoffice/reconciliation",
    "/backoffice/reports",
    "/backoffice/webhooks",
    "/backoffice/agencies",
    "/backoffice/providers",
    "/backoffice/users",
    "/backoffice/audit",
]
ALLOWED = {
    "admin": set(PAGES),
    "finance": set(PAGES[:6]),
    "agency_finance": {PAGES[0], PAGES[1], PAGES[2], PAGES[4], PAGES[5]},
    "viewer": {PAGES[0], PAGES[1], PAGES[5]},
}


async def reauth(http: httpx.AsyncClient, ctx: Context, user: object, payment_id: str) -> None:
    page = await http.get(f"/backoffice/reauth?next={payment_id}")
    reply = await http.post(
        "/backoffice/reauth",
        data={
            "csrf": csrf_of(page.text),
            "password": PASSWORD,
            "code": next_code(ctx, user),  # type: ignore[arg-type]
            "next": payment_id,
        },
    )
    assert reply.status_code == 303, reply.text


class TestWalls:
    @pytest.mark.parametrize("role", ["admin", "finance", "agency_finance", "viewer"])
    async def test_each_role_sees_its_pages_only(
        self, ctx: Context, browser: httpx.AsyncClient, agency: object, role: str
    ) -> None:
        user = await create_user(ctx, role, agency="dvc-hcm" if role == "agency_finance" else None)
        await sign_in(browser, ctx, user)
        for path in PAGES:
            status = (await browser.get(path)).status_code
            assert status == (200 if path in ALLOWED[role] else 403), (path, status)

    async def test_viewer_cannot_refund(
        self, ctx: Context, browser: httpx.AsyncClient, api: httpx.AsyncClient
    ) -> None:
        payment = await paid(ctx, api, install(ctx))
        user = await create_user(ctx, "viewer")
        csrf = await sign_in(browser, ctx, user)
        page = await browser.get(f"/backoffice/payments/{payment['payment_id']}")
        assert page.status_code == 200
        assert "/refund" not in page.text
        reply = await browser.post(
            f"/backoffice/payments/{payment['payment_id']}/refund",
            data={"csrf": csrf, "amount": "1000", "reason": "x"},
        )
        assert reply.status_code == 403

    async def test_agency_finance_gets_404_for_another_agency(
        self, ctx: Context, browser: httpx.AsyncClient, api: httpx.AsyncClient
    ) -> None:
        payment = await paid(ctx, api, install(ctx))
        await create_agency(ctx, code="dvc-hn", name="Cổng DVC Hà Nội")
        user = await create_user(ctx, "agency_finance", agency="dvc-hn")
        await sign_in(browser, ctx, user)
        page = await browser.get(f"/backoffice/payments/{payment['payment_id']}")
        assert page.status_code == 404
        listing = await browser.get(f"/backoffice/payments?q={payment['payment_id']}")
        assert f"/backoffice/payments/{payment['payment_id']}" not in listing.text


class TestRefunds:
    async def test_small_refund_after_reauth(
        self, ctx: Context, browser: httpx.AsyncClient, api: httpx.AsyncClient
    ) -> None:
        payment = await paid(ctx, api, install(ctx))
        pid = payment["payment_id"]
        user = await create_user(ctx, "finance")
        csrf = await sign_in(browser, ctx, user)
        form = {"csrf": csrf, "amount": "50000", "reason": "Hồ sơ bị từ chối"}
        first = await browser.post(f"/backoffice/payments/{pid}/refund", data=form)
        assert first.headers["location"] == f"/backoffice/reauth?next={pid}"
        await reauth(browser, ctx, user, pid)
        done = await browser.post(f"/backoffice/payments/{pid}/refund", data=form)
        assert "msg=refund_made" in done.headers["location"]
        async with ctx.db.read() as session:
            refunds = list(await session.scalars(select(Refund)))
        assert [r.amount for r in refunds] == [50_000]

    async def test_large_refund_needs_a_second_person(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        second_browser: httpx.AsyncClient,
        api: httpx.AsyncClient,
    ) -> None:
        amount = THRESHOLD + 500_000
        bank = install(ctx)
        bank.max_amount = 10**10
        payment = await paid(
            ctx,
            api,
            bank,
            amount=amount,
            items=[{"code": "LP", "name": "Lệ phí", "amount": amount}],
        )
        pid = payment["payment_id"]
        asker = await create_user(ctx, "finance", email="a@stc.gov.vn")
        csrf = await sign_in(browser, ctx, asker)
        await reauth(browser, ctx, asker, pid)
        form = {"csrf": csrf, "amount": str(amount), "reason": "Nộp trùng"}
        asked = await browser.post(f"/backoffice/payments/{pid}/refund", data=form)
        assert "msg=refund_waiting" in asked.headers["location"]
        async with ctx.db.read() as session:
            assert list(await session.scalars(select(Refund))) == []
        approvals = await browser.get("/backoffice/approvals")
        approval_id = approvals.text.split('action="/backoffice/approvals/')
        assert len(approval_id) == 1  # the asker gets no approve button
        own = await browser.post(
            "/backoffice/approvals/apr_x", data={"csrf": csrf, "decision": "approve"}
        )
        assert own.status_code == 404

        approver = await create_user(ctx, "finance", email="b@stc.gov.vn")
        csrf2 = await sign_in(second_browser, ctx, approver)
        listing = await second_browser.get("/backoffice/approvals")
        apr = listing.text.split('action="/backoffice/approvals/')[1].split('"')[0]
        # The asker cannot approve it even by posting directly.
        mine = await browser.post(
            f"/backoffice/approvals/{apr}", data={"csrf": csrf, "decision": "approve"}
        )
        assert mine.status_code == 403
        not_yet = await second_browser.post(
            f"/backoffice/approvals/{apr}", data={"csrf": csrf2, "decision": "approve"}
        )
        assert not_yet.headers["location"] == "/backoffice/reauth"
        await reauth(second_browser, ctx, approver, "")
        done = await second_browser.post(
            f"/backoffice/approvals/{apr}", data={"csrf": csrf2, "decision": "approve"}
        )
        assert "msg=approved" in done.headers["location"]
        async with ctx.db.read() as session:
            refunds = list(await session.scalars(select(Refund)))
        assert [r.amount for r in refunds] == [amount]
