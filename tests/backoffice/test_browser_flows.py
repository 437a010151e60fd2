"""The finance flows of the back office in a real Chromium against `uvicorn --factory`.

Each test starts a server and a browser (10 to 13 s a flow). The flows whose SQL differs by
database (the dashboard's per-day figures, report aggregates, the row locks of a refund's
approval) run on both databases; the others on SQLite only, their routes being covered on
both by the route tests (test_walls_and_approvals.py, test_approvals.py, test_start_run.py).
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
from paygov.providers.service import import_catalogue
from paygov.refunds.models import Refund
from tests.backoffice.conftest import PASSWORD, THRESHOLD, User, create_user, live_code
from tests.backoffice.test_browser import server as server  # the uvicorn fixture
from tests.backoffice.test_browser import shot, sign_in
from tests.conftest import SANDBOX_PROVIDERS
from tests.e2e.test_checkout_browser import page as page  # the Chromium fixture
from tests.factories import create_agency, payment_body
from tests.payments_flow.test_attempts import new_payment, start, tell, token_of
from tests.pg import free_port
from tests.reconciliation.test_manual_correction import ORPHAN, plant
from tests.reconciliation.test_manual_correction import Day as CorrectionDay
from tests.reconciliation.test_reconcile import DAY, Day, reconcile
from tests.refunds.test_refunds import ITEMS, install, paid

# On PostgreSQL too these would add ~40 s and test nothing the route tests do not.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


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


@sqlite_only
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


@sqlite_only
class TestResolveADiscrepancy:
    async def test_with_a_reason_and_it_shows_resolved(
        self, ctx: Context, planted_run: str, server: str, page: Any
    ) -> None:
        await sign_in(page, server, await create_user(ctx, "finance"))
        await page.goto(f"{server}/backoffice/reconciliation")
        await page.click(f"a[href$='/reconciliation/{planted_run}']")
        resolve = page.locator("tr", has_text="amount_mismatch").locator("form[action$=resolve]")
        await resolve.locator("input[name=reason]").fill("Ngân hàng trừ phí 1.000 ₫, đã đối chiếu")
        await resolve.locator("button[type=submit]").click()
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
        self, ctx: Context, api: httpx.AsyncClient, server: str, page: Any, backend: str
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
        await shot(other, "approvals-approved", backend)

        async with ctx.db.read() as session:
            refunds = list(await session.scalars(select(Refund)))
        assert [(r.payment_id, r.amount) for r in refunds] == [(pid, amount)]
        await page.goto(f"{server}/backoffice/payments/{pid}")
        assert refunds[0].id in await page.inner_text("main")


@sqlite_only
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


async def import_providers(ctx: Context, catalogue: Path = SANDBOX_PROVIDERS) -> None:
    """Providers in the database, their APIs on a closed port (imported before the server
    starts: it reads the providers then)."""
    async with ctx.db.transaction() as session:
        await import_catalogue(
            session,
            ctx.box,
            catalogue,
            at=ctx.clock.now(),
            actor="test",
            variables={"PAYGOV_SANDBOX_URL": f"http://127.0.0.1:{free_port()}"},
        )


@pytest.fixture
async def silent_banks(ctx: Context) -> None:
    """The sandbox providers, their statement APIs on a closed port."""
    await import_providers(ctx)


@sqlite_only
class TestAdministration:
    async def test_admin_adds_and_disables_a_user_then_a_run_meets_a_silent_bank(
        self, ctx: Context, silent_banks: None, server: str, page: Any
    ) -> None:
        await create_agency(ctx)
        await sign_in(page, server, await create_user(ctx, "admin"))
        await page.click("nav >> text=Người dùng")
        await page.fill("#u-email", "ketoan.hcm@stc.gov.vn")
        await page.select_option("#u-role", "agency_finance")
        await page.select_option("#u-agency", "dvc-hcm")
        await page.click("form[action$='/users'] button[type=submit]")
        await page.wait_for_url("**/backoffice/users?msg=user_created")
        assert "Đã tạo người dùng" in await page.inner_text("[role=status]")
        command = "paygov user password --email ketoan.hcm@stc.gov.vn"
        assert command in await page.inner_text("main")
        row = page.locator("tr", has_text="ketoan.hcm@stc.gov.vn")
        assert "dvc-hcm" in await row.inner_text()
        await row.locator("button", has_text="Tắt").click()
        await page.wait_for_url("**/backoffice/users?msg=user_disabled")
        assert "Đang tắt" in await page.locator("tr", has_text="ketoan.hcm").inner_text()

        await page.click("nav >> text=Đối soát")
        await page.select_option("#r-provider", "vcb-direct-sandbox")
        await page.fill("#r-day", "2026-11-20")
        await page.click("form[action$='/reconciliation'] button[type=submit]")
        await page.wait_for_load_state()
        assert "Không lấy được sao kê" in await page.inner_text("[role=alert]")
        assert await page.input_value("#r-day") == "2026-11-20"  # the form keeps the input
        assert "failed" in await page.locator("tr", has_text="vcb-direct-sandbox").inner_text()
        assert await fits_the_screen(page)


@pytest.fixture
async def orphan_line(ctx: Context, api: httpx.AsyncClient, tmp_path: Path) -> CorrectionDay:
    """A run whose line 1 is 25 000 ₫ PayGov could not book, and the unpaid order of 25 000 ₫
    it was meant for (tests/reconciliation/test_manual_correction.py). The server, another
    process, loads its providers from the database: the run's provider is put there as a
    sandbox one under the run's code."""
    day = await plant(ctx, api, tmp_path)
    catalogue = tmp_path / "providers.toml"
    sandbox = SANDBOX_PROVIDERS.read_text(encoding="utf-8")
    catalogue.write_text(
        sandbox.replace('code = "vcb-direct-sandbox"', f'code = "{day.run.provider}"'),
        encoding="utf-8",
    )
    await import_providers(ctx, catalogue)
    return day


@sqlite_only
class TestCorrectADiscrepancy:
    async def test_booked_to_an_order_by_one_approved_by_another_then_resolved(
        self, ctx: Context, orphan_line: CorrectionDay, server: str, page: Any, backend: str
    ) -> None:
        order = orphan_line.order
        run_page = f"{server}/backoffice/reconciliation/{orphan_line.run.id}"
        asker = await create_user(ctx, "finance", email="a@stc.gov.vn")
        approver = await create_user(ctx, "finance", email="b@stc.gov.vn")

        await sign_in(page, server, asker)
        await page.goto(run_page)
        line = page.locator("tr", has=page.locator(f"form[action$='/items/{ORPHAN}/correct']"))
        await line.locator("summary", has_text="Ghi vào một lệnh thanh toán").click()
        await line.locator("input[name=payment_id]").fill(order)
        await line.locator("form[action$=correct] input[name=reason]").fill("Gõ sai mã HS-25")
        await shot(page, "discrepancy-correction-form", backend)
        await line.locator("form[action$=correct] button[type=submit]").click()
        await page.wait_for_url(re.compile(r"\?msg=correction_waiting"))
        assert "người thứ hai phê duyệt" in await page.inner_text("[role=status]")
        await page.goto(f"{server}/backoffice/approvals")
        assert await page.locator("main button", has_text="Phê duyệt").count() == 0  # own

        other = await second_page(page)
        await sign_in(other, server, approver)
        await other.goto(f"{server}/backoffice/approvals")
        await other.click("main button:has-text('Phê duyệt')")
        await reauthenticate(other, approver)
        await other.wait_for_url("**/backoffice/approvals?msg=reauth_ok")
        listed = await other.inner_text("main")
        for shown in ("Điều chỉnh đối soát", "dòng 1", "25.000 ₫", order, "Gõ sai mã HS-25"):
            assert shown in listed, shown
        await shot(other, "approvals-correction", backend)
        await shot(other, "approvals-correction-phone", backend, width=390)
        assert await fits_the_screen(other)
        await other.click("main button:has-text('Phê duyệt')")
        await other.wait_for_url(re.compile(r"/backoffice/approvals\?msg=approved_correction"))

        await page.goto(run_page)
        resolved = page.locator("tr", has=page.locator(f"td[data-label='#']:text-is('{ORPHAN}')"))
        assert "Đã xử lý" in await resolved.inner_text()
        assert order in await resolved.inner_text()
        assert await page.locator(f"form[action$='/items/{ORPHAN}/correct']").count() == 0
        await page.goto(f"{server}/backoffice/payments/{order}")
        assert "succeeded" in await page.inner_text("main")


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
        self,
        ctx: Context,
        api: httpx.AsyncClient,
        planted_run: str,
        server: str,
        page: Any,
        backend: str,
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
            "runs": "/backoffice/reconciliation",
            "users-list": "/backoffice/users",
        }
        for name, path in pages.items():
            await page.goto(server + path)
            await shot(page, name, backend)
            await shot(page, f"{name}-phone", backend, width=390)
            assert await fits_the_screen(page), name
        await page.goto(server + "/backoffice/dashboard")
        assert await page.locator("svg.chart rect.chart__bar--brand").count() >= 7
        assert await page.locator(".rates__row").count() >= 4  # banks and agencies
