"""The citizen's checkout: the page, choosing a way to pay, the QR, the return, the result."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest.mock import AsyncMock, MagicMock
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bank_adapters.base import Adapter, ProviderEvent, ProviderUnavailable
from bank_adapters.vnpay import signing as vnpay_signing
from paygov.kit.context import Context
from paygov.payments import attempts, repository
from paygov.payments.models import Attempt
from tests.checkout.conftest import SANDBOX_URL, create_payment, hrefs, token_of

TXN_REF = re.compile(r"^[A-Z0-9]{1,20}$")
VNPAY_SECRET = "SANDBOXHASHSECRETPAYGOV0123456789"  # config/providers.sandbox.toml
RETURN_URL = "https://dvc.example.gov.vn/ket-qua?ho_so=HS-2026-000123&buoc=2"


async def choose(
    browser: httpx.AsyncClient, token: str, method: str, lang: str | None = None
) -> httpx.Response:
    url = f"/checkout/{token}/pay" + (f"?lang={lang}" if lang else "")
    return await browser.post(url, data={"method": method})


async def attempts_of(ctx: Context, payment_id: str) -> list[Attempt]:
    async with ctx.db.read() as session:
        return await repository.attempts_of(session, payment_id)


async def settle(ctx: Context, txn_ref: str, outcome: str, amount: int = 150_000) -> None:
    """What a verified provider callback does: apply the event in one transaction."""
    event = ProviderEvent(
        txn_ref=txn_ref,
        outcome=outcome,  # type: ignore[arg-type]
        amount=amount,
        dedupe_key=f"{txn_ref}:{outcome}",
        provider_txn_id="14123456" if outcome == "succeeded" else None,
        reason=None if outcome == "succeeded" else "24",
    )
    async with ctx.db.transaction() as session:
        await attempts.apply_event(session, ctx, ctx.providers.get("vnpay-sandbox"), event)


async def status_of(api: httpx.AsyncClient, payment: dict[str, Any]) -> str:
    response = await api.get(f"/v1/payments/{payment['payment_id']}")
    return str(response.json()["status"])


class TestCheckoutPage:
    async def test_shows_the_order_and_every_way_to_pay(
        self, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        response = await browser.get(f"/checkout/{token_of(payment)}")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        page = response.text
        assert '<html lang="vi">' in page
        assert "Cổng DVC TP.HCM" in page
        assert "Lệ phí cấp giấy phép lái xe" in page
        assert "HS-2026-000123" in page
        assert "150.000 ₫" in page
        assert "Hạn thanh toán" in page
        assert page.index('value="vietqr:vietqr-sandbox"') < page.index('value="bank:')
        assert 'value="bank:VCB:vcb-direct-sandbox"' in page
        assert 'value="bank:VCB:vnpay-sandbox"' in page
        assert 'value="bank:BIDV:bidv-direct-sandbox"' in page
        assert 'value="bank:TCB:vnpay-sandbox"' in page
        assert "Qua VNPay" in page
        assert "Trực tiếp" in page
        assert "Ngân hàng phổ biến" in page

    async def test_lists_each_fee_item_formatted(
        self, api: httpx.AsyncClient, browser: httpx.AsyncClient, sandbox_providers: list[str]
    ) -> None:
        payment = await create_payment(
            api,
            amount=1_234_567,
            items=[
                {"code": "LEPHI", "name": "Lệ phí trước bạ", "amount": 1_200_000},
                {"code": "PHI", "name": "Phí dịch vụ", "amount": 34_567},
            ],
        )

        page = (await browser.get(f"/checkout/{token_of(payment)}")).text

        assert "1.234.567 ₫" in page
        assert "Lệ phí trước bạ" in page
        assert "1.200.000 ₫" in page
        assert "34.567 ₫" in page

    async def test_has_no_inline_script_and_sends_the_csp(
        self, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        response = await browser.get(f"/checkout/{token_of(payment)}")

        scripts = re.findall(r"<script[^>]*>", response.text)
        assert scripts == ['<script src="/static/checkout/checkout.js" defer>']
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert "onclick" not in response.text

    async def test_static_files_are_served(self, browser: httpx.AsyncClient) -> None:
        script = await browser.get("/static/checkout/checkout.js")
        style = await browser.get("/static/checkout/checkout.css")

        assert script.status_code == 200
        assert style.status_code == 200
        assert "javascript" in script.headers["content-type"]

    async def test_lang_en_switches_language(
        self, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        page = (await browser.get(f"/checkout/{token_of(payment)}?lang=en")).text

        assert '<html lang="en">' in page
        assert "Choose how to pay" in page
        assert "Via VNPay" in page
        assert "150.000 ₫" in page
        assert f'href="/checkout/{token_of(payment)}?lang=vi"' in page
        assert f'action="/checkout/{token_of(payment)}/pay?lang=en"' in page

    async def test_the_payments_language_is_the_default(
        self, api: httpx.AsyncClient, browser: httpx.AsyncClient, sandbox_providers: list[str]
    ) -> None:
        payment = await create_payment(api, language="en")

        english = (await browser.get(f"/checkout/{token_of(payment)}")).text
        vietnamese = (await browser.get(f"/checkout/{token_of(payment)}?lang=vi")).text
        unknown = (await browser.get(f"/checkout/{token_of(payment)}?lang=fr")).text

        assert "Choose how to pay" in english
        assert "Chọn cách thanh toán" in vietnamese
        assert "Choose how to pay" in unknown

    @pytest.mark.parametrize("token", ["x" * 32, "not-a-token", "%00" * 20, "a" * 200])
    async def test_an_unknown_token_is_a_readable_404_page(
        self, browser: httpx.AsyncClient, sandbox_providers: list[str], token: str
    ) -> None:
        response = await browser.get(f"/checkout/{token}")

        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Không tìm thấy trang thanh toán" in response.text

    async def test_a_provider_over_its_max_amount_is_not_offered(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        sandbox_providers: list[str],
    ) -> None:
        # vnpay-sandbox and vietqr-sandbox take up to 500M; VCB direct 2B, BIDV direct 1B.
        payment = await create_payment(api, amount=600_000_000)
        token = token_of(payment)

        page = (await browser.get(f"/checkout/{token}")).text
        refused = await choose(browser, token, "vietqr:vietqr-sandbox")

        assert "vietqr-sandbox" not in page
        assert "vnpay-sandbox" not in page
        assert 'value="bank:VCB:vcb-direct-sandbox"' in page
        assert 'value="bank:BIDV:bidv-direct-sandbox"' in page
        assert refused.status_code == 400
        assert await attempts_of(ctx, payment["payment_id"]) == []

    async def test_an_expired_payment_shows_a_clear_page(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        sandbox_providers: list[str],
    ) -> None:
        payment = await create_payment(api, expires_in=60, return_url=RETURN_URL)
        ctx.clock.advance(timedelta(minutes=2))

        response = await browser.get(f"/checkout/{token_of(payment)}")

        assert response.status_code == 200
        assert "Yêu cầu thanh toán đã hết hạn" in response.text
        assert 'name="method"' not in response.text
        assert RETURN_URL in hrefs(response.text)

    async def test_a_cancelled_payment_shows_a_clear_page(
        self, api: httpx.AsyncClient, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        cancelled = await api.post(f"/v1/payments/{payment['payment_id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        response = await browser.get(f"/checkout/{token_of(payment)}?lang=en")

        assert response.status_code == 200
        assert "This payment request was cancelled" in response.text
        assert payment["return_url"] in hrefs(response.text)


class TestChoosingABank:
    async def test_vnpay_through_a_bank_redirects_to_the_provider(
        self, api: httpx.AsyncClient, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        response = await choose(browser, token_of(payment), "bank:VCB:vnpay-sandbox")

        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}" == SANDBOX_URL
        assert location.path == "/vnpay/paymentv2/vpcpay.html"
        query = {key: values[0] for key, values in parse_qs(location.query).items()}
        assert query["vnp_BankCode"] == "VCB"
        assert query["vnp_Amount"] == "15000000"
        assert TXN_REF.match(query["vnp_TxnRef"])
        assert query["vnp_ReturnUrl"] == "http://paygov.test/checkout/return/vnpay-sandbox"
        assert response.headers["cache-control"] == "no-store"

    async def test_the_payment_becomes_pending_with_one_open_attempt(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        payment: dict[str, Any],
    ) -> None:
        await choose(browser, token_of(payment), "bank:TCB:vnpay-sandbox")

        tries = await attempts_of(ctx, payment["payment_id"])
        assert await status_of(api, payment) == "pending"
        assert [(a.provider, a.bank, a.status) for a in tries] == [("vnpay-sandbox", "TCB", "open")]
        assert TXN_REF.match(tries[0].txn_ref)

    @pytest.mark.parametrize(
        "form",
        [
            {"method": "bank:VCB:nowhere"},
            {"method": "bank:HSBC:vnpay-sandbox"},  # VNPay does not offer HSBC
            {"method": "bank:TCB:vcb-direct-sandbox"},  # VCB's API is not Techcombank's
            {"method": "vietqr:vnpay-sandbox"},
            {"method": "x" * 500},
            {"method": ""},
            {},
        ],
    )
    async def test_a_bogus_choice_shows_the_page_again_with_400(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        payment: dict[str, Any],
        form: dict[str, str],
    ) -> None:
        response = await browser.post(f"/checkout/{token_of(payment)}/pay", data=form)

        assert response.status_code == 400
        assert "Cách thanh toán này không hợp lệ" in response.text
        assert 'value="vietqr:vietqr-sandbox"' in response.text
        # The language switch of a page answered to a POST links to a page one can GET.
        assert f"/checkout/{token_of(payment)}?lang=en" in hrefs(response.text)
        assert await attempts_of(ctx, payment["payment_id"]) == []
        assert await status_of(api, payment) == "created"

    async def test_a_json_body_is_a_bogus_choice_not_a_500(
        self, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        response = await browser.post(
            f"/checkout/{token_of(payment)}/pay", json={"method": "vietqr:vietqr-sandbox"}
        )

        assert response.status_code == 400

    async def test_choosing_on_an_unknown_token_is_404(
        self, browser: httpx.AsyncClient, sandbox_providers: list[str]
    ) -> None:
        response = await choose(browser, "y" * 32, "vietqr:vietqr-sandbox")

        assert response.status_code == 404

    async def test_choosing_after_expiry_shows_the_expired_page(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        sandbox_providers: list[str],
    ) -> None:
        payment = await create_payment(api, expires_in=60)
        ctx.clock.advance(timedelta(minutes=2))

        response = await choose(browser, token_of(payment), "vietqr:vietqr-sandbox")

        assert response.status_code == 409
        assert "Yêu cầu thanh toán đã hết hạn" in response.text
        assert await attempts_of(ctx, payment["payment_id"]) == []

    async def test_an_unavailable_provider_is_503_and_the_attempt_stays_open(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        payment: dict[str, Any],
    ) -> None:
        async with ctx.db.read() as session:
            await ctx.providers.refresh(session, ctx.box)
        ctx.providers.ttl = 3600.0  # keep the stubbed adapter for this test
        bank_api = ctx.providers.get("vcb-direct-sandbox")
        bank_api.adapter = MagicMock(spec=Adapter)
        bank_api.adapter.start = AsyncMock(side_effect=ProviderUnavailable("timeout"))

        response = await choose(browser, token_of(payment), "bank:VCB:vcb-direct-sandbox")

        assert response.status_code == 503
        assert "tạm thời không dùng được" in response.text
        assert 'value="vietqr:vietqr-sandbox"' in response.text
        assert bank_api.breaker.failures == 1
        tries = await attempts_of(ctx, payment["payment_id"])
        assert [a.status for a in tries] == ["open"]  # unknown at the bank: never guessed
        assert await status_of(api, payment) == "pending"

    async def test_a_provider_with_an_open_circuit_is_hidden(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        async with ctx.db.read() as session:
            await ctx.providers.refresh(session, ctx.box)
        ctx.providers.ttl = 3600.0
        breaker = ctx.providers.get("bidv-direct-sandbox").breaker
        for _ in range(breaker.threshold):
            breaker.record_failure()

        page = (await browser.get(f"/checkout/{token_of(payment)}")).text

        assert "bidv-direct-sandbox" not in page
        assert 'value="bank:BIDV:vnpay-sandbox"' in page


class TestVietQr:
    async def test_choosing_vietqr_redirects_to_the_qr_page(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)

        response = await choose(browser, token, "vietqr:vietqr-sandbox")

        (attempt,) = await attempts_of(ctx, payment["payment_id"])
        assert response.status_code == 303
        assert response.headers["location"] == f"/checkout/{token}/qr/{attempt.id}?lang=vi"
        assert attempt.bank is None

    async def test_the_qr_page_shows_the_code_and_the_transfer_details(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)
        location = (await choose(browser, token, "vietqr:vietqr-sandbox")).headers["location"]
        (attempt,) = await attempts_of(ctx, payment["payment_id"])

        response = await browser.get(location)

        page = response.text
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert f'src="/checkout/{token}/qr/{attempt.id}.png"' in page
        assert "Vietcombank" in page  # the collection account's bank, from its BIN
        assert "0071000888999" in page
        assert "KHO BAC NHA NUOC - PAYGOV THU HO" in page
        assert "150.000 ₫" in page
        assert attempt.txn_ref in page
        assert f'data-copy="{attempt.txn_ref}"' in page
        assert 'data-copy="150000"' in page
        assert '<meta http-equiv="refresh" content="5">' in page
        assert f'data-status-url="/checkout/{token}/status"' in page

    async def test_the_png_is_a_real_png(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)
        await choose(browser, token, "vietqr:vietqr-sandbox")
        (attempt,) = await attempts_of(ctx, payment["payment_id"])

        response = await browser.get(f"/checkout/{token}/qr/{attempt.id}.png")

        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
        width = int.from_bytes(response.content[16:20], "big")
        height = int.from_bytes(response.content[20:24], "big")
        assert width == height >= 200

    async def test_an_attempt_of_another_payment_has_no_qr(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        payment: dict[str, Any],
    ) -> None:
        other = await create_payment(api)
        await choose(browser, token_of(payment), "vietqr:vietqr-sandbox")
        (attempt,) = await attempts_of(ctx, payment["payment_id"])

        page = await browser.get(f"/checkout/{token_of(other)}/qr/{attempt.id}")
        png = await browser.get(f"/checkout/{token_of(other)}/qr/{attempt.id}.png")

        assert page.status_code == 404
        assert png.status_code == 404

    async def test_a_vnpay_attempt_has_no_qr(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        await choose(browser, token_of(payment), "bank:VCB:vnpay-sandbox")
        (attempt,) = await attempts_of(ctx, payment["payment_id"])

        response = await browser.get(f"/checkout/{token_of(payment)}/qr/{attempt.id}")

        assert response.status_code == 404

    async def test_once_paid_the_qr_page_moves_to_the_result(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)
        location = (await choose(browser, token, "vietqr:vietqr-sandbox")).headers["location"]
        (attempt,) = await attempts_of(ctx, payment["payment_id"])
        event = ProviderEvent(attempt.txn_ref, "succeeded", 150_000, f"{attempt.txn_ref}:ok")
        async with ctx.db.transaction() as session:
            await attempts.apply_event(session, ctx, ctx.providers.get("vietqr-sandbox"), event)

        page = await browser.get(location)
        png = await browser.get(f"/checkout/{token}/qr/{attempt.id}.png")
        result = await browser.get(f"/checkout/{token}/result")

        assert page.status_code == 303
        assert page.headers["location"] == f"/checkout/{token}/result?lang=vi"
        assert png.status_code == 404
        assert "Thanh toán thành công" in result.text
        assert "Chuyển khoản VietQR" in result.text


class TestStatus:
    async def test_reports_status_and_version_for_polling(
        self, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)
        before = await browser.get(f"/checkout/{token}/status")
        await choose(browser, token, "bank:VCB:vnpay-sandbox")
        after = await browser.get(f"/checkout/{token}/status")

        assert before.json() == {"status": "created", "version": 1}
        assert after.json() == {"status": "pending", "version": 2}
        assert after.headers["cache-control"] == "no-store"

    async def test_an_unknown_token_is_404(
        self, browser: httpx.AsyncClient, sandbox_providers: list[str]
    ) -> None:
        response = await browser.get(f"/checkout/{'z' * 32}/status")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "checkout_not_found"


class TestReturnLeg:
    async def test_redirects_to_the_result_page(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)
        await choose(browser, token, "bank:VCB:vnpay-sandbox")
        (attempt,) = await attempts_of(ctx, payment["payment_id"])
        signed = vnpay_signing.sign(
            {
                "vnp_TmnCode": "PAYGOV01",
                "vnp_TxnRef": attempt.txn_ref,
                "vnp_Amount": "15000000",
                "vnp_ResponseCode": "00",
                "vnp_TransactionStatus": "00",
            },
            VNPAY_SECRET,
        )

        response = await browser.get("/checkout/return/vnpay-sandbox", params=signed)

        assert response.status_code == 303
        assert response.headers["location"] == f"/checkout/{token}/result"

    async def test_the_return_leg_is_not_proof_of_payment(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        payment: dict[str, Any],
    ) -> None:
        token = token_of(payment)
        await choose(browser, token, "bank:VCB:vnpay-sandbox")
        (attempt,) = await attempts_of(ctx, payment["payment_id"])
        signed = vnpay_signing.sign(
            {"vnp_TmnCode": "PAYGOV01", "vnp_TxnRef": attempt.txn_ref, "vnp_ResponseCode": "00"},
            VNPAY_SECRET,
        )

        await browser.get("/checkout/return/vnpay-sandbox", params=signed)
        result = await browser.get(f"/checkout/{token}/result")

        assert "Đang chờ xác nhận từ ngân hàng" in result.text
        assert await status_of(api, payment) == "pending"

    @pytest.mark.parametrize(
        ("provider", "query"),
        [
            ("vnpay-sandbox", {"vnp_TxnRef": "PGNOSUCHATTEMPT1"}),  # unsigned
            ("vnpay-sandbox", {}),
            ("no-such-provider", {"txn_ref": "PG123"}),
        ],
    )
    async def test_an_unknown_return_is_a_readable_404(
        self,
        browser: httpx.AsyncClient,
        sandbox_providers: list[str],
        provider: str,
        query: dict[str, str],
    ) -> None:
        response = await browser.get(f"/checkout/return/{provider}", params=query)

        assert response.status_code == 404
        assert "Không tìm thấy giao dịch" in response.text

    async def test_a_signed_return_for_an_unknown_txn_ref_is_404(
        self, browser: httpx.AsyncClient, sandbox_providers: list[str]
    ) -> None:
        signed = vnpay_signing.sign(
            {"vnp_TmnCode": "PAYGOV01", "vnp_TxnRef": "PGNOSUCHATTEMPT1"}, VNPAY_SECRET
        )

        response = await browser.get("/checkout/return/vnpay-sandbox", params=signed)

        assert response.status_code == 404


class TestResultPage:
    async def test_a_succeeded_payment_shows_the_receipt(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        sandbox_providers: list[str],
    ) -> None:
        payment = await create_payment(api, return_url=RETURN_URL)
        token = token_of(payment)
        await choose(browser, token, "bank:VCB:vnpay-sandbox")
        (attempt,) = await attempts_of(ctx, payment["payment_id"])
        await settle(ctx, attempt.txn_ref, "succeeded")

        response = await browser.get(f"/checkout/{token}/result")

        page = response.text
        assert response.status_code == 200
        assert "Thanh toán thành công" in page
        assert attempt.txn_ref in page
        assert "150.000 ₫" in page
        assert "Vietcombank · Qua VNPay" in page
        assert "Thời gian thanh toán" in page
        assert RETURN_URL in hrefs(page)
        assert "http-equiv" not in page
        assert await status_of(api, payment) == "succeeded"

    async def test_the_checkout_link_of_a_paid_payment_shows_it_is_paid(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)
        await choose(browser, token, "bank:BIDV:vnpay-sandbox")
        (attempt,) = await attempts_of(ctx, payment["payment_id"])
        await settle(ctx, attempt.txn_ref, "succeeded")

        response = await browser.get(f"/checkout/{token}?lang=en")

        assert response.status_code == 200
        assert "Payment successful" in response.text
        assert 'name="method"' not in response.text
        assert "BIDV · Via VNPay" in response.text

    async def test_pending_waits_for_the_bank_and_polls(
        self, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)
        await choose(browser, token, "bank:VCB:vnpay-sandbox")

        response = await browser.get(f"/checkout/{token}/result")

        assert response.status_code == 200
        assert "Đang chờ xác nhận từ ngân hàng" in response.text
        assert '<meta http-equiv="refresh" content="5">' in response.text
        assert 'data-watch="pending"' in response.text

    async def test_a_declined_attempt_offers_another_way(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        ctx: Context,
        payment: dict[str, Any],
    ) -> None:
        token = token_of(payment)
        await choose(browser, token, "bank:VCB:vnpay-sandbox")
        (attempt,) = await attempts_of(ctx, payment["payment_id"])
        await settle(ctx, attempt.txn_ref, "failed")

        response = await browser.get(f"/checkout/{token}/result")

        assert "Giao dịch không thành công" in response.text
        assert "Chọn cách thanh toán khác" in response.text
        assert f"/checkout/{token}?lang=vi" in hrefs(response.text)
        assert await status_of(api, payment) == "pending"
        again = await choose(browser, token, "vietqr:vietqr-sandbox")
        assert again.status_code == 303

    async def test_five_declines_fail_the_payment(
        self, browser: httpx.AsyncClient, ctx: Context, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)
        for _ in range(attempts.MAX_DECLINES):
            await choose(browser, token, "bank:VCB:vnpay-sandbox")
            open_ones = [
                a for a in await attempts_of(ctx, payment["payment_id"]) if a.status == "open"
            ]
            await settle(ctx, open_ones[0].txn_ref, "failed")

        result = await browser.get(f"/checkout/{token}/result")
        page = await browser.get(f"/checkout/{token}")

        assert "Không thể thanh toán khoản phí này" in result.text
        assert "Không thể thanh toán khoản phí này" in page.text
        assert 'name="method"' not in page.text

    async def test_result_before_any_choice_goes_back_to_the_checkout(
        self, browser: httpx.AsyncClient, payment: dict[str, Any]
    ) -> None:
        token = token_of(payment)

        response = await browser.get(f"/checkout/{token}/result")

        assert response.status_code == 303
        assert response.headers["location"] == f"/checkout/{token}?lang=vi"

    async def test_the_portal_link_is_the_stored_return_url_never_the_querys(
        self,
        api: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        sandbox_providers: list[str],
    ) -> None:
        payment = await create_payment(api, return_url=RETURN_URL)
        token = token_of(payment)
        evil = "https://evil.example/phish"

        pages = [
            await browser.get(f"/checkout/{token}", params={"return_url": evil}),
            await browser.get(f"/checkout/{token}/result", params={"return_url": evil}),
        ]
        await choose(browser, token, "bank:VCB:vnpay-sandbox")
        pages.append(await browser.get(f"/checkout/{token}/result", params={"return_url": evil}))

        for response in pages:
            if response.status_code == 303:
                assert not response.headers["location"].startswith("https://evil")
                continue
            links = hrefs(response.text)
            assert RETURN_URL in links
            assert evil not in response.text
