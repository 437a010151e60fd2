"""The finance flows of the back office in a real Chromium against `uvicorn --factory`.

Each test starts a server and a browser, so these run on SQLite only; the same routes are
covered on both databases by the route tests (test_walls_and_approvals.py, test_approvals.py).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from paygov.kit.clock import FrozenClock
from paygov.kit.context import Context
from paygov.payments import attempts
from paygov.payments.models import Payment
from paygov.refunds.models import Refund
from tests.backoffice.conftest import PASSWORD, THRESHOLD, User, create_user, live_code
from tests.backoffice.test_browser import server as server  # the uvicorn fixture
from tests.backoffice.test_browser import shot, sign_in
from tests.e2e.test_checkout_browser import page as page  # the Chromium fixture
from tests.factories import create_agency, payment_body
from tests.payments_flow.test_attempts import new_payment, start, tell, token_of
from tests.reconciliation.test_reconcile import DAY, Day, reconcile
from tests.refunds.test_refunds import ITEMS, install, paid

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def second_page(page: Any) -> Any:
    """A second, separate browser context (its own cookies): another person."""
    context = await page.context.browser.new_context(locale="vi-VN")
    return await context.new_page()


async def reauthenticate(page: Any, user: User) -> None:
    await page.wait_for_url(re.compile(r"/backoffice/reauth"))
    await page.fill("#password", PASSWORD)
    await page.fill("#code", live_code(user))
    await page.click("main button[type=submit]")


async def card(page: Any, heading: str) -> str:
    """The text of the page's section under this heading."""
    return str(await page.locator("section", has=page.locator("h2", has_text=heading)).inner_text())


@pytest.fixture
async def planted_run(ctx: Context, api: httpx.AsyncClient, tmp_path: Path) -> str:
    """A reconciliation run over a day planted with every class (tests/reconciliation)."""
    run = await reconcile(ctx, await Day().plant(ctx, api, tmp_path))
    return run.id


class TestFindAPayment:
    async def test_by_dossier_reference_after_the_second_factor(
        self, ctx: Context, api: httpx.AsyncClient, server: str, page: Any
    ) -> None:
        bank = install(ctx)
        payment = await new_payment(api, reference="HS-2026-777001", items=ITEMS)
        await tell(ctx, bank, await start(ctx, payment["payment_id"], bank))
        finance = await create_user(ctx, "finance")
        await sign_in(page, server, finance)
        await page.click("nav >> text=Giao dịch")
        await page.fill("#q", "HS-2026-777001")
        await page.click("form[role=search] button[type=submit]")
        rows = page.locator("main tbody tr")
        assert await rows.count() == 1
        await rows.first.locator("a").click()
        await page.wait_for_url(f"**/backoffice/payments/{payment['payment_id']}")
        main = await page.inner_text("main")
        assert "HS-2026-777001" in main
        assert "payment.succeeded" in main  # the timeline
        assert "150.000 ₫" in main
        attempts = await card(page, "Các lần thanh toán")
        assert "bank-a" in attempts
        assert "succeeded" in attempts
        ledger = await card(page, "Bút toán sổ cái")
        assert "clearing:bank-a" in ledger


class TestResolveADiscrepancy:
    async def test_with_a_reason_and_it_shows_resolved(
        self, ctx: Context, planted_run: str, server: str, page: Any
    ) -> None:
        await sign_in(page, server, await create_user(ctx, "finance"))
        await page.goto(f"{server}/backoffice/reconciliation")
        await page.click(f"a[href$='/reconciliation/{planted_run}']")
        row = page.locator("tr", has_text="amount_mismatch")
        await row.locator("input[name=reason]").fill("Ngân hàng trừ phí 1.000 ₫, đã đối chiếu")
        await row.locator("button[type=submit]").click()
        await page.wait_for_url(f"**/backoffice/reconciliation/{planted_run}")
        resolved = page.locator("tr", has_text="amount_mismatch")
        assert "Đã xử lý" in await resolved.inner_text()
        assert "Ngân hàng trừ phí 1.000 ₫" in await resolved.inner_text()
        assert await resolved.locator("form").count() == 0
        # The others are still open.
        assert await page.locator("tr", has_text="missing_at_bank").locator("form").count() == 1


class TestDownloadReports:
    async def test_settlement_csv_and_run_xlsx_open_with_vietnamese_text(
        self, ctx: Context, planted_run: str, server: str, page: Any, tmp_path: Path
    ) -> None:
        await sign_in(page, server, await create_user(ctx, "finance"))
        await page.goto(f"{server}/backoffice/reports")
        await page.fill("#s-day", DAY.isoformat())
        async with page.expect_download() as settlement:
            await page.click("form[action$='/settlement'] button[type=submit]")
        saved = tmp_path / (await settlement.value).suggested_filename
        await (await settlement.value).save_as(saved)
        raw = saved.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        assert {row["agency"] for row in rows} == {"dvc-hcm"}
        assert any(row["name"] == "Lệ phí cấp giấy phép lái xe" for row in rows), rows
        total = next(row for row in rows if row["section"] == "total")
        # The eight payments that succeeded on the planted day, tied to the ledger.
        assert (total["payments"], total["gross"], total["ties"]) == ("8", "1470000", "true")

        await page.goto(f"{server}/backoffice/reconciliation/{planted_run}")
        async with page.expect_download() as report:
            await page.click("a[href$='format=xlsx']")
        workbook_path = tmp_path / (await report.value).suggested_filename
        await (await report.value).save_as(workbook_path)
        sheet = openpyxl.load_workbook(workbook_path, read_only=True).active
        assert sheet is not None
        cells = [list(row) for row in sheet.iter_rows(values_only=True)]
        flat = [value for row in cells for value in row]
        assert "Lãi tiền gửi tháng 11" in flat  # the unrelated interest line's memo
        assert 59_000 in flat  # the amount_mismatch line, a number Excel can add up


class TestRefundAboveTheThreshold:
    async def test_asked_by_one_approved_by_another_then_made(
        self, ctx: Context, api: httpx.AsyncClient, server: str, page: Any
    ) -> None:
        amount = THRESHOLD + 500_000
        bank = install(ctx)
        items = [{"code": "LP", "name": "Lệ phí", "amount": amount}]
        payment = await paid(ctx, api, bank, amount=amount, items=items)
        pid = payment["payment_id"]
        asker = await create_user(ctx, "finance", email="a@stc.gov.vn")
        approver = await create_user(ctx, "finance", email="b@stc.gov.vn")

        await sign_in(page, server, asker)
        await page.goto(f"{server}/backoffice/payments/{pid}")
        await page.fill("#reason", "Nộp trùng hồ sơ")
        await page.click("#refund button[type=submit]")
        await reauthenticate(page, asker)
        await page.wait_for_url(f"**/backoffice/payments/{pid}?msg=reauth_ok")
        await page.fill("#reason", "Nộp trùng hồ sơ")
        await page.click("#refund button[type=submit]")
        await page.wait_for_url(f"**/backoffice/payments/{pid}?msg=refund_waiting")
        async with ctx.db.read() as session:
            assert list(await session.scalars(select(Refund))) == []
        await page.goto(f"{server}/backoffice/approvals")
        assert await page.locator("main button", has_text="Phê duyệt").count() == 0  # own

        other = await second_page(page)
        await sign_in(other, server, approver)
        await other.goto(f"{server}/backoffice/approvals")
        assert "Nộp trùng hồ sơ" in await other.inner_text("main")
        await other.click("main button:has-text('Phê duyệt')")
        await reauthenticate(other, approver)
        await other.wait_for_url("**/backoffice/approvals?msg=reauth_ok")
        await other.click("main button:has-text('Phê duyệt')")
        await other.wait_for_url(re.compile(r"/backoffice/approvals\?msg=approved"))
        await shot(other, "approvals-approved", "sqlite")

        async with ctx.db.read() as session:
            refunds = list(await session.scalars(select(Refund)))
        assert [(r.payment_id, r.amount) for r in refunds] == [(pid, amount)]
        await page.goto(f"{server}/backoffice/payments/{pid}")
        assert refunds[0].id in await page.inner_text("main")


class TestWallsInTheBrowser:
    async def test_viewer_has_no_refund_and_other_agency_is_not_found(
        self, ctx: Context, api: httpx.AsyncClient, server: str, page: Any
    ) -> None:
        payment = await paid(ctx, api, install(ctx))
        pid = payment["payment_id"]
        await create_agency(ctx, code="dvc-hn", name="Cổng DVC Hà Nội")

        await sign_in(page, server, await create_user(ctx, "viewer"))
        await page.goto(f"{server}/backoffice/payments/{pid}")
        assert "HS-2026-000123" in await page.inner_text("main")
        assert await page.locator("#refund").count() == 0
        csrf = await page.get_attribute("input[name=csrf]", "value")
        refused = await page.request.post(
            f"{server}/backoffice/payments/{pid}/refund",
            form={"csrf": csrf, "amount": "1000", "reason": "thử"},
            max_redirects=0,
        )
        assert refused.status == 403
        async with ctx.db.read() as session:
            assert list(await session.scalars(select(Refund))) == []

        other = await second_page(page)
        await sign_in(other, server, await create_user(ctx, "agency_finance", agency="dvc-hn"))
        reply = await other.goto(f"{server}/backoffice/payments/{pid}")
        assert reply.status == 404
        assert "Không tìm thấy" in await other.inner_text("main")
        assert "HS-2026-000123" not in await other.content()


async def seed_activity(ctx: Context, api: httpx.AsyncClient) -> None:
    """A week of payments of two agencies through two providers and four banks, some
    failed, so the dashboard's charts have bars to draw."""
    other = await create_agency(ctx, code="dvc-hn", name="Cổng DVC Hà Nội")
    providers = [install(ctx, code="bank-a"), install(ctx, code="bank-b")]
    banks = ["VCB", "BIDV", "TCB", "MB"]
    wall = ctx.clock
    try:
        for day in range(7):
            for n in range(3 + (day * 5) % 7):
                ctx.clock = FrozenClock(datetime.now(UTC) - timedelta(days=day, minutes=9 * n))
                amount = 50_000 * (1 + (n + day) % 6)
                headers = other.auth if n % 3 == 0 else {}
                created = await api.post(
                    "/v1/payments", json=payment_body(amount=amount), headers=headers
                )
                assert created.status_code == 201, created.text
                via = providers[n % 2]
                async with ctx.db.transaction() as session:
                    _, attempt = await attempts.open_attempt(
                        session,
                        ctx,
                        token=await token_of(ctx, created.json()["payment_id"]),
                        mode="test",
                        provider=via,
                        bank_code=banks[(n + day) % 4],
                    )
                outcome = "failed" if (n + day) % 5 == 0 else "succeeded"
                await tell(ctx, via, attempt.txn_ref, outcome, amount=amount)
    finally:
        ctx.clock = wall


async def fits_the_screen(page: Any) -> bool:
    """No sideways scrolling of the whole page (wide tables scroll inside their box)."""
    return bool(
        await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


class TestScreenshots:
    async def test_pages_with_data_on_laptop_and_phone(
        self, ctx: Context, api: httpx.AsyncClient, planted_run: str, server: str, page: Any
    ) -> None:
        await seed_activity(ctx, api)
        asker = await create_user(ctx, "admin", email="a@stc.gov.vn")
        async with ctx.db.transaction() as session:
            payment_id = await session.scalar(
                select(Payment.id).where(Payment.status == "succeeded").limit(1)
            )
        assert payment_id is not None
        await sign_in(page, server, await create_user(ctx, "admin", email="b@stc.gov.vn"))
        other = await second_page(page)
        await sign_in(other, server, asker)
        await other.goto(f"{server}/backoffice/agencies")
        await other.fill("#account-dvc-hcm", "1903666777888@970407")
        await other.check("input[name=make_default] >> nth=0")
        await other.click("form[action$='/dvc-hcm/beneficiaries'] button.btn--primary")
        await other.wait_for_url("**/backoffice/agencies?msg=change_waiting")

        pages = {
            "dashboard": "/backoffice/dashboard",
            "payment": f"/backoffice/payments/{payment_id}",
            "discrepancies": f"/backoffice/reconciliation/{planted_run}",
            "approvals": "/backoffice/approvals",
            "agencies": "/backoffice/agencies",
        }
        for name, path in pages.items():
            await page.goto(server + path)
            await shot(page, name, "sqlite")
            await shot(page, f"{name}-phone", "sqlite", width=390)
            assert await fits_the_screen(page), name
        await page.goto(server + "/backoffice/dashboard")
        assert await page.locator("svg.chart rect.chart__bar--brand").count() >= 7
        assert await page.locator(".rates__row").count() >= 4  # banks and agencies
