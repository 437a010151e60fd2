"""A citizen pays in a real Chromium, through the sandbox bank, for each protocol."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI
from tests.e2e.stack import Stack, running_stack
from tests.factories import payment_body

CHROMIUM = os.environ.get("PAYGOV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("PAYGOV_SCREENSHOTS", "var/screenshots"))


@pytest.fixture
def stack(database_url: str) -> Iterator[Stack]:
    with running_stack(database_url) as running:
        yield running


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"CI=true and Chromium is missing at {CHROMIUM}")
        pytest.skip("Chromium not installed (CI=true makes this a failure)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
        yield await context.new_page()
        await browser.close()


def new_payment(stack: Stack) -> dict[str, Any]:
    with stack.api() as api:
        created = api.post(
            "/v1/payments",
            json=payment_body(
                items=[
                    {"code": "LEPHI", "name": "Lệ phí cấp giấy phép", "amount": 100_000},
                    {"code": "PHI", "name": "Phí thẩm định hồ sơ", "amount": 50_000},
                ]
            ),
        )
        assert created.status_code == 201, created.text
        return dict(created.json())


def status_of(stack: Stack, payment_id: str) -> dict[str, Any]:
    with stack.api() as api:
        return dict(api.get(f"/v1/payments/{payment_id}").json())


async def shot(page: Any, name: str, backend: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}-{backend}.png"), full_page=True)


class TestCitizenPays:
    async def test_through_vnpay(self, stack: Stack, page: Any, backend: str) -> None:
        payment = new_payment(stack)
        await page.goto(payment["checkout_url"])
        assert "150.000 ₫" in await page.inner_text("body")
        await shot(page, "checkout", backend)
        await page.click('button[value="bank:VCB:vnpay-sandbox"]')
        await page.wait_for_url(re.compile(r"/vnpay/paymentv2/vpcpay\.html"))
        await shot(page, "sandbox-vnpay", backend)
        await page.click('button[value="pay"]')
        await page.wait_for_url(re.compile(r"/checkout/.+/result"))
        await page.get_by_text("Thanh toán thành công").wait_for(timeout=20_000)
        await shot(page, "result", backend)
        back = page.get_by_role("link", name=re.compile("cổng dịch vụ công|Quay lại", re.I))
        assert await back.first.get_attribute("href") == payment["return_url"]
        paid = status_of(stack, payment["payment_id"])
        assert paid["status"] == "succeeded"
        assert paid["provider"] == "vnpay-sandbox"
        assert paid["bank"] == "VCB"

    async def test_by_vietqr_transfer(self, stack: Stack, page: Any, backend: str) -> None:
        payment = new_payment(stack)
        await page.goto(payment["checkout_url"])
        await page.click('button[value="vietqr:vietqr-sandbox"]')
        await page.wait_for_url(re.compile(r"/qr/"))
        image = await page.wait_for_selector('img[src$=".png"]')
        assert await image.evaluate("img => img.naturalWidth") > 100
        await shot(page, "qr", backend)
        memo = re.search(r"PG[0-9A-Z]{14}", await page.content())
        assert memo is not None
        transfer = httpx.post(
            f"{stack.sandbox}/vietqr/transfer.json",
            json={
                "account_number": "0071000888999",
                "amount": 150_000,
                "memo": f"MBVCB.1234.{memo.group(0)}.chuyen khoan le phi",
            },
        )
        assert transfer.status_code == 201, transfer.text
        await page.get_by_text("Thanh toán thành công").wait_for(timeout=20_000)
        assert status_of(stack, payment["payment_id"])["status"] == "succeeded"

    async def test_declined_then_paid_directly_at_the_bank(
        self, stack: Stack, page: Any, backend: str
    ) -> None:
        payment = new_payment(stack)
        await page.goto(payment["checkout_url"] + "?lang=en")
        await page.click('button[value="bank:VCB:vcb-direct-sandbox"]')
        await page.wait_for_url(re.compile(r"/bank/vcb/pay/"))
        await page.click('button[value="decline"]')
        await page.wait_for_url(re.compile(r"/checkout/.+/result"))
        await shot(page, "after-decline", backend)
        # Back from the bank the page speaks the payment's language again.
        await page.get_by_text("Giao dịch không thành công").wait_for(timeout=20_000)
        await shot(page, "declined", backend)
        assert status_of(stack, payment["payment_id"])["status"] == "pending"
        await page.goto(payment["checkout_url"] + "?lang=en")
        await page.click('button[value="bank:VCB:vcb-direct-sandbox"]')
        await page.click('button[value="pay"]')
        await page.get_by_text("Thanh toán thành công").wait_for(timeout=20_000)
        paid = status_of(stack, payment["payment_id"])
        assert paid["status"] == "succeeded"
        assert paid["version"] >= 4
