"""A manual correction asked for on a run's page and decided on the approvals page
(paygov/backoffice/routes/reconciliation.py, routes/approvals.py), on both databases: one
finance user asks, a second approves after re-authenticating, the money is the order's and
the discrepancy shows resolved; the walls hold and a refusal is a readable page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from paygov.backoffice.i18n import EN, VI
from paygov.kit.context import Context
from tests.backoffice.conftest import User, alert, create_user, sign_in
from tests.backoffice.test_walls_and_approvals import reauth
from tests.payments_flow.test_attempts import read
from tests.reconciliation.test_manual_correction import (
    APPROVER,
    ASKER,
    FEE,
    ORPHAN,
    Day,
    ask,
    counts,
    plant,
)
from tests.reconciliation.test_reconcile import DAY, at, local

REASON = "Người nộp gõ sai mã hồ sơ HS-25"


@dataclass
class Desk:
    """The planted day, and two finance users signed in, each in their own client."""

    day: Day
    asker: httpx.AsyncClient
    asker_csrf: str
    approver: httpx.AsyncClient
    approver_csrf: str
    approver_user: User

    @property
    def run_page(self) -> str:
        return f"/backoffice/reconciliation/{self.day.run.id}"

    async def book(
        self, item_id: int, payment_id: str, reason: str = REASON, query: str = ""
    ) -> httpx.Response:
        return await self.asker.post(
            f"{self.run_page}/items/{item_id}/correct{query}",
            data={"csrf": self.asker_csrf, "payment_id": payment_id, "reason": reason},
        )


@pytest.fixture
async def desk(
    ctx: Context,
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    tmp_path: Path,
) -> Desk:
    day = await plant(ctx, api, tmp_path)
    asker = await create_user(ctx, "finance", email=ASKER)
    approver = await create_user(ctx, "finance", email=APPROVER)
    at(ctx, local(DAY + timedelta(days=1), 9))  # the morning after: finance at work
    asker_csrf = await sign_in(browser, ctx, asker)
    approver_csrf = await sign_in(second_browser, ctx, approver)
    await reauth(browser, ctx, asker, "")  # fresh, so only the rules stop the asker
    return Desk(day, browser, asker_csrf, second_browser, approver_csrf, approver)


def row(html: str, item_id: int) -> str:
    """The run page's row of one discrepancy."""
    found = re.search(rf'<tr><td data-label="#">{item_id}</td>.*?</tr>', html, re.S)
    assert found, html[:2000]
    return found.group(0)


def approval_ids(html: str) -> list[str]:
    """The requests the approvals page offers to decide."""
    return list(dict.fromkeys(re.findall(r'action="/backoffice/approvals/(apr_\w+)"', html)))


class TestBookALineToAnOrder:
    async def test_asked_on_the_run_page_approved_by_another_after_reauth(
        self, ctx: Context, api: httpx.AsyncClient, desk: Desk
    ) -> None:
        page = await desk.asker.get(desk.run_page)
        assert "/correct" in row(page.text, ORPHAN)
        assert "/correct" not in row(page.text, FEE)  # a bank charge: resolved with a reason

        asked = await desk.book(ORPHAN, desk.day.order)
        assert asked.status_code == 303, asked.text
        assert asked.headers["location"].startswith(f"{desk.run_page}?msg=correction_waiting")
        waiting = await desk.asker.get(asked.headers["location"])
        assert "người thứ hai phê duyệt" in waiting.text
        assert VI["correction_pending"] in row(waiting.text, ORPHAN)
        assert "/correct" not in row(waiting.text, ORPHAN)  # one request a line at a time
        assert (await read(api, desk.day.order))["status"] == "expired"

        listed = await desk.approver.get("/backoffice/approvals")
        [approval_id] = approval_ids(listed.text)
        for shown in (
            VI["kind_correction"],
            "Sao kê bank-r ngày 2026-11-20, dòng 1",
            "25.000 ₫",
            desk.day.order,
            ASKER,
            REASON,
        ):
            assert shown in listed.text, shown
        assert VI["reauth_needed"] in listed.text
        url = f"/backoffice/approvals/{approval_id}"
        decision = {"csrf": desk.approver_csrf, "decision": "approve"}
        not_yet = await desk.approver.post(url, data=decision)
        assert not_yet.headers["location"] == "/backoffice/reauth"
        assert (await read(api, desk.day.order))["status"] == "expired"

        await reauth(desk.approver, ctx, desk.approver_user, "")
        done = await desk.approver.post(url, data=decision)
        assert done.status_code == 303, done.text
        assert done.headers["location"].startswith("/backoffice/approvals?msg=approved_correction")
        assert (
            "đã được ghi cho lệnh thanh toán"
            in (await desk.approver.get(done.headers["location"])).text
        )
        paid = await read(api, desk.day.order)
        assert (paid["status"], paid["late"]) == ("succeeded", True)

        resolved = row((await desk.asker.get(desk.run_page)).text, ORPHAN)
        assert VI["resolved"] in resolved
        assert approval_id in resolved
        assert desk.day.order in resolved
        assert "<form" not in resolved

    async def test_the_asker_cannot_approve_their_own_request(
        self, ctx: Context, desk: Desk
    ) -> None:
        asked = await desk.book(ORPHAN, desk.day.order)
        assert asked.status_code == 303, asked.text
        own_page = await desk.asker.get("/backoffice/approvals")
        assert VI["own_request"] in own_page.text
        assert approval_ids(own_page.text) == []  # no buttons for the asker
        [approval_id] = approval_ids((await desk.approver.get("/backoffice/approvals")).text)
        before = await counts(ctx)
        own = await desk.asker.post(
            f"/backoffice/approvals/{approval_id}",
            data={"csrf": desk.asker_csrf, "decision": "approve"},
        )
        assert own.status_code == 403
        assert alert(own.text) == VI["err_own_approval"]
        assert await counts(ctx) == before


class TestWalls:
    @pytest.mark.parametrize("role", ["viewer", "agency_finance"])
    async def test_other_roles_may_neither_ask_nor_approve(
        self, ctx: Context, desk: Desk, bo_app: object, role: str
    ) -> None:
        asked = await ask(ctx, desk.day.run.id, ORPHAN, desk.day.order)
        user = await create_user(ctx, role, agency="dvc-hcm" if role == "agency_finance" else None)
        transport = httpx.ASGITransport(app=bo_app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="https://paygov.test") as http:
            csrf = await sign_in(http, ctx, user)
            before = await counts(ctx)
            booked = await http.post(
                f"{desk.run_page}/items/{ORPHAN}/correct",
                data={"csrf": csrf, "payment_id": desk.day.other, "reason": "thử"},
            )
            approved = await http.post(
                f"/backoffice/approvals/{asked.id}", data={"csrf": csrf, "decision": "approve"}
            )
            listed = await http.get("/backoffice/approvals")
        assert (booked.status_code, approved.status_code) == (403, 403)
        assert asked.id not in listed.text  # agency_finance sees its refunds only
        assert await counts(ctx) == before

    async def test_without_the_csrf_token_nothing_is_asked_or_decided(
        self, ctx: Context, desk: Desk
    ) -> None:
        before = await counts(ctx)
        booked = await desk.asker.post(
            f"{desk.run_page}/items/{ORPHAN}/correct", data={"payment_id": desk.day.order}
        )
        assert booked.status_code == 403
        assert await counts(ctx) == before
        asked = await ask(ctx, desk.day.run.id, ORPHAN, desk.day.order)
        await reauth(desk.approver, ctx, desk.approver_user, "")
        before = await counts(ctx)
        forged = await desk.approver.post(
            f"/backoffice/approvals/{asked.id}", data={"csrf": "x", "decision": "approve"}
        )
        assert forged.status_code == 403
        assert await counts(ctx) == before


class TestRefusals:
    async def test_an_unknown_payment_id_is_a_readable_error_and_the_form_keeps_it(
        self, ctx: Context, desk: Desk
    ) -> None:
        before = await counts(ctx)
        refused = await desk.book(ORPHAN, "pay_KHONGCO")
        assert refused.status_code == 404
        assert alert(refused.text) == VI["err_payment_not_found_payment_id"]
        kept = row(refused.text, ORPHAN)
        assert '<details class="fold" open>' in kept
        assert 'value="pay_KHONGCO"' in kept
        english = await desk.book(ORPHAN, "pay_KHONGCO", query="?lang=en")
        assert alert(english.text) == EN["err_payment_not_found_payment_id"]
        assert await counts(ctx) == before

    @pytest.mark.parametrize(
        ("item_id", "order", "status", "message"),
        [
            (ORPHAN, "other", 409, "Số tiền của dòng sao kê khác số tiền của lệnh thanh toán"),
            (FEE, "order", 409, "Chênh lệch này không ghi được vào lệnh thanh toán"),
            (ORPHAN, "order", 409, VI["err_approval_pending"]),
            (2**40, "order", 404, VI["err_discrepancy_not_found"]),  # past a 32-bit column
        ],
        ids=["amount_mismatch", "not_correctable", "already_waiting", "no_such_item"],
    )
    async def test_a_request_the_service_refuses_is_shown_on_the_page(
        self, ctx: Context, desk: Desk, item_id: int, order: str, status: int, message: str
    ) -> None:
        if message == VI["err_approval_pending"]:
            await ask(ctx, desk.day.run.id, ORPHAN, desk.day.order)
        before = await counts(ctx)
        refused = await desk.book(item_id, getattr(desk.day, order))
        assert refused.status_code == status
        assert message in alert(refused.text)
        assert await counts(ctx) == before
