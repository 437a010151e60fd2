"""The `vnpay` adapter against VNPay's published rules, independent test vectors, and the
sandbox bank's VNPay side served over real HTTP (ASGI)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from bank_adapters.base import (
    AckResult,
    AttemptRef,
    AttemptRequest,
    CallbackRejected,
    InboundRequest,
    ProviderEvent,
    ProviderUnavailable,
    Redirect,
    RefundRequest,
)
from bank_adapters.sandbox.app import SandboxBank, load_providers
from bank_adapters.vnpay import signing
from bank_adapters.vnpay.adapter import VnpayAdapter, VnpayConfig

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads(
    (ROOT.parent / "shared" / "data" / "vnpay" / "ipn-vectors.json").read_text(encoding="utf-8")
)
PROVIDERS_FILE = ROOT / "config" / "providers.sandbox.toml"
SANDBOX = "http://sandbox.test"
PAYGOV = "http://paygov.test"
NOW = datetime(2026, 3, 14, 2, 0, tzinfo=UTC)


def adapter(
    *,
    tmn_code: str = "PAYGOV01",
    secret: str = "SANDBOXHASHSECRETPAYGOV0123456789",
    http: httpx.AsyncClient | None = None,
) -> VnpayAdapter:
    config = VnpayConfig(
        tmn_code=tmn_code,
        hash_secret=SecretStr(secret),
        payment_url=f"{SANDBOX}/vnpay/paymentv2/vpcpay.html",
        api_url=f"{SANDBOX}/vnpay/merchant_webapi/api/transaction",
    )
    return VnpayAdapter("vnpay-sandbox", config, http or httpx.AsyncClient(transport=OFFLINE))


def offline(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected call to {request.url}")


OFFLINE = httpx.MockTransport(offline)


def vector_adapter() -> VnpayAdapter:
    return adapter(tmn_code="TEST_TMN_CODE", secret=VECTORS["hash_secret"])


def inbound(query: dict[str, str]) -> InboundRequest:
    return InboundRequest(method="GET", query=query, headers={}, body=b"")


def vector(index: int) -> dict[str, str]:
    chosen = VECTORS["vectors"][index]
    return {**chosen["params"], "vnp_SecureHash": chosen["vnp_SecureHash"]}


def ipn(secret: str = "SANDBOXHASHSECRETPAYGOV0123456789", **overrides: str) -> dict[str, str]:
    params = {
        "vnp_Amount": "15000000",
        "vnp_BankCode": "VCB",
        "vnp_BankTranNo": "VNP14000001",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Le phi cap ho chieu",
        "vnp_PayDate": "20260314093000",
        "vnp_ResponseCode": "00",
        "vnp_TmnCode": "PAYGOV01",
        "vnp_TransactionNo": "14000001",
        "vnp_TransactionStatus": "00",
        "vnp_TxnRef": "PG0000000000001A",
        **overrides,
    }
    return signing.sign(params, secret)


def attempt(**overrides: Any) -> AttemptRequest:
    values: dict[str, Any] = {
        "txn_ref": "PG7K3M9Q2X8W4R1T",
        "amount": 150_000,
        "description": "Lệ phí cấp hộ chiếu — Đà Nẵng (lần 2)",
        "created_at": datetime(2026, 3, 14, 17, 30, 5, 123456, tzinfo=UTC),
        "expires_at": datetime(2026, 3, 14, 17, 45, 5, tzinfo=UTC),
        "return_url": f"{PAYGOV}/checkout/return/vnpay-sandbox",
        "callback_url": f"{PAYGOV}/callbacks/vnpay-sandbox",
        "client_ip": "203.113.1.9",
    }
    values.update(overrides)
    return AttemptRequest(**values)


def url_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


async def redirect_url(vnpay: VnpayAdapter, request: AttemptRequest) -> str:
    redirect = await vnpay.start(request)
    assert isinstance(redirect, Redirect)
    return redirect.url


class TestIpnVectors:
    """The three vectors computed by an independent implementation."""

    def test_valid_success_is_a_succeeded_event(self) -> None:
        event = vector_adapter().verify_callback(inbound(vector(0)), NOW)

        assert event.outcome == "succeeded"
        assert event.txn_ref == "1716257871703"
        assert event.amount == 10_000
        assert event.provider_txn_id == "14422574"
        assert event.bank_code == "NCB"
        assert event.paid_at == datetime(2024, 5, 21, 2, 18, 6, tzinfo=UTC)
        assert event.dedupe_key == "1716257871703:succeeded"
        assert event.reason is None

    def test_valid_failure_is_a_failed_event(self) -> None:
        event = vector_adapter().verify_callback(inbound(vector(1)), NOW)

        assert event.outcome == "failed"
        assert event.reason == "99"
        assert event.dedupe_key == "1716257871703:failed"

    def test_tampered_is_rejected_and_answered_97(self) -> None:
        vnpay = vector_adapter()
        with pytest.raises(CallbackRejected):
            vnpay.verify_callback(inbound(vector(2)), NOW)

        reply = vnpay.ack(AckResult.BAD_SIGNATURE)
        assert reply.status_code == 200
        assert json.loads(reply.body) == {"RspCode": "97", "Message": "Invalid signature"}

    def test_signing_reproduces_every_valid_vector(self) -> None:
        for chosen in VECTORS["vectors"][:2]:
            digest = signing.secure_hash(chosen["params"], VECTORS["hash_secret"])
            assert digest == chosen["vnp_SecureHash"]


class TestEncoding:
    def test_space_is_plus_and_reserved_characters_are_percent_encoded(self) -> None:
        assert signing.encode("Thanh toan 2024-05-21T02:17:31.249Z") == (
            "Thanh+toan+2024-05-21T02%3A17%3A31.249Z"
        )
        assert signing.encode("https://a.vn/x?y=1&z") == "https%3A%2F%2Fa.vn%2Fx%3Fy%3D1%26z"

    def test_only_letters_digits_and_dash_underscore_dot_stay(self) -> None:
        assert signing.encode("aZ09-_.") == "aZ09-_."
        assert signing.encode("~*!'()") == "%7E%2A%21%27%28%29"

    def test_vietnamese_is_utf8_with_uppercase_hex(self) -> None:
        assert signing.encode("Lệ phí Đà") == "L%E1%BB%87+ph%C3%AD+%C4%90%C3%A0"

    def test_canonical_is_sorted_and_leaves_out_the_hash_fields(self) -> None:
        params = {
            "vnp_TxnRef": "A1",
            "vnp_Amount": "100",
            "vnp_OrderInfo": "a b/c:d",
            "vnp_SecureHash": "ff",
            "vnp_SecureHashType": "HmacSHA512",
            "utm_source": "x",
        }
        assert signing.canonical(params) == (
            "vnp_Amount=100&vnp_OrderInfo=a+b%2Fc%3Ad&vnp_TxnRef=A1"
        )

    def test_a_hash_in_uppercase_hex_is_accepted(self) -> None:
        params = ipn()
        params["vnp_SecureHash"] = params["vnp_SecureHash"].upper()

        assert adapter().verify_callback(inbound(params), NOW).outcome == "succeeded"


class TestStart:
    async def test_builds_a_signed_redirect_to_vpcpay(self) -> None:
        result = await adapter().start(attempt(bank_code="VCB"))

        assert isinstance(result, Redirect)
        assert result.url.startswith(f"{SANDBOX}/vnpay/paymentv2/vpcpay.html?")
        params = url_params(result.url)
        assert signing.verify(params, "SANDBOXHASHSECRETPAYGOV0123456789")
        assert params["vnp_Version"] == "2.1.0"
        assert params["vnp_Command"] == "pay"
        assert params["vnp_TmnCode"] == "PAYGOV01"
        assert params["vnp_Amount"] == "15000000"
        assert params["vnp_CurrCode"] == "VND"
        assert params["vnp_TxnRef"] == "PG7K3M9Q2X8W4R1T"
        assert params["vnp_OrderType"] == "other"
        assert params["vnp_Locale"] == "vn"
        assert params["vnp_ReturnUrl"] == f"{PAYGOV}/checkout/return/vnpay-sandbox"
        assert params["vnp_IpAddr"] == "203.113.1.9"
        assert params["vnp_BankCode"] == "VCB"
        assert "vnp_SecureHashType" not in params

    async def test_dates_are_vietnam_time(self) -> None:
        params = url_params(await redirect_url(adapter(), attempt()))

        # 17:30:05 / 17:45:05 UTC are 00:30:05 / 00:45:05 the next day in GMT+7.
        assert params["vnp_CreateDate"] == "20260315003005"
        assert params["vnp_ExpireDate"] == "20260315004505"

    async def test_order_info_is_ascii_without_diacritics(self) -> None:
        params = url_params(await redirect_url(adapter(), attempt()))

        assert params["vnp_OrderInfo"] == "Le phi cap ho chieu Da Nang lan 2"
        assert params["vnp_OrderInfo"].isascii()

    async def test_long_descriptions_are_cut_to_255(self) -> None:
        url = await redirect_url(adapter(), attempt(description="Phí " * 200))
        info = url_params(url)["vnp_OrderInfo"]

        assert len(info) <= 255
        assert info.startswith("Phi Phi")

    async def test_english_locale_and_no_bank_code_unless_chosen(self) -> None:
        params = url_params(await redirect_url(adapter(), attempt(language="en")))

        assert params["vnp_Locale"] == "en"
        assert "vnp_BankCode" not in params


class TestCallbacks:
    def test_cancel_has_no_transaction_number_and_its_own_dedupe_key(self) -> None:
        event = adapter().verify_callback(
            inbound(ipn(vnp_ResponseCode="24", vnp_TransactionStatus="02", vnp_TransactionNo="0")),
            NOW,
        )

        assert event.outcome == "failed"
        assert event.reason == "24"
        assert event.provider_txn_id is None
        assert event.dedupe_key == "PG0000000000001A:failed"

    def test_a_second_delivery_has_the_same_dedupe_key(self) -> None:
        first = adapter().verify_callback(inbound(ipn()), NOW)
        again = adapter().verify_callback(inbound(ipn()), NOW)

        assert first.dedupe_key == again.dedupe_key == "PG0000000000001A:succeeded"

    def test_success_and_failure_of_one_reference_do_not_collide(self) -> None:
        success = adapter().verify_callback(inbound(ipn()), NOW)
        failure = adapter().verify_callback(
            inbound(ipn(vnp_ResponseCode="51", vnp_TransactionStatus="02")), NOW
        )

        assert success.dedupe_key != failure.dedupe_key

    @pytest.mark.parametrize(
        ("response_code", "status", "outcome"),
        [
            ("00", "00", "succeeded"),
            ("24", "02", "failed"),
            ("11", "02", "failed"),
            ("51", "02", "failed"),
            ("99", "00", "failed"),
            ("00", "01", "unknown"),
            ("07", "07", "unknown"),
            ("99", "04", "unknown"),
        ],
    )
    def test_outcome(self, response_code: str, status: str, outcome: str) -> None:
        params = ipn(vnp_ResponseCode=response_code, vnp_TransactionStatus=status)

        assert adapter().verify_callback(inbound(params), NOW).outcome == outcome

    def test_amount_is_vnd(self) -> None:
        assert adapter().verify_callback(inbound(ipn()), NOW).amount == 150_000

    def test_an_amount_that_is_not_whole_vnd_is_rejected(self) -> None:
        with pytest.raises(CallbackRejected):
            adapter().verify_callback(inbound(ipn(vnp_Amount="15000050")), NOW)

    def test_another_terminal_is_rejected_even_when_signed(self) -> None:
        with pytest.raises(CallbackRejected):
            adapter().verify_callback(inbound(ipn(vnp_TmnCode="OTHER001")), NOW)

    def test_missing_signature_is_rejected(self) -> None:
        params = ipn()
        del params["vnp_SecureHash"]
        with pytest.raises(CallbackRejected):
            adapter().verify_callback(inbound(params), NOW)

    def test_another_secret_is_rejected(self) -> None:
        with pytest.raises(CallbackRejected):
            adapter().verify_callback(inbound(ipn(secret="NOT-THE-SECRET")), NOW)

    @pytest.mark.parametrize(
        ("result", "code", "message"),
        [
            (AckResult.CONFIRMED, "00", "Confirm Success"),
            (AckResult.NOT_FOUND, "01", "Order not found"),
            (AckResult.DUPLICATE, "02", "Order already confirmed"),
            (AckResult.INVALID_AMOUNT, "04", "invalid amount"),
            (AckResult.BAD_SIGNATURE, "97", "Invalid signature"),
            (AckResult.ERROR, "99", "Unknow error"),
        ],
    )
    def test_ack(self, result: AckResult, code: str, message: str) -> None:
        reply = adapter().ack(result)

        assert reply.status_code == 200
        assert reply.media_type == "application/json"
        assert json.loads(reply.body) == {"RspCode": code, "Message": message}

    def test_every_ack_result_has_a_reply(self) -> None:
        assert {json.loads(adapter().ack(r).body)["RspCode"] for r in AckResult} == {
            "00",
            "01",
            "02",
            "04",
            "97",
            "99",
        }

    def test_return_leg_names_the_attempt_only_when_signed(self) -> None:
        assert adapter().parse_return(inbound(ipn())).txn_ref == "PG0000000000001A"
        tampered = {**ipn(), "vnp_Amount": "100"}
        assert adapter().parse_return(inbound(tampered)).txn_ref is None
        assert adapter().parse_return(inbound({})).txn_ref is None


# -- against the sandbox bank ----------------------------------------------------------------


@dataclass
class Sandbox:
    """The sandbox bank's VNPay side over ASGI, and the IPNs it sent to "PayGov"."""

    bank: SandboxBank
    client: httpx.AsyncClient
    vnpay: VnpayAdapter
    received: list[ProviderEvent | CallbackRejected] = field(default_factory=list)
    replies: list[dict[str, str]] = field(default_factory=list)

    async def pay(self, action: str, **overrides: Any) -> httpx.Response:
        """Open the payment page as a browser would and press a button."""
        page = await self.client.get(await redirect_url(self.vnpay, attempt(**overrides)))
        assert page.status_code == 200, page.text
        fields = {
            html.unescape(name): html.unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text
            )
        }
        decided = await self.client.post("/vnpay/decide", data={**fields, "action": action})
        await self.bank.dispatcher.drain()
        return decided

    def events(self) -> list[ProviderEvent]:
        return [item for item in self.received if isinstance(item, ProviderEvent)]


def sandbox_app(bank_holder: list[SandboxBank]) -> FastAPI:
    """The real sandbox application, or only its VNPay router while the others are written."""
    try:
        from bank_adapters.sandbox.app import create_app

        app = create_app(PROVIDERS_FILE, PAYGOV)
        bank_holder.append(app.state.bank)
        return app
    except ImportError:  # bank_adapters.sandbox.signed_json / vietqr not there yet
        from bank_adapters.sandbox import vnpay as sandbox_vnpay

        bank = SandboxBank(paygov_url=PAYGOV, providers=load_providers(PROVIDERS_FILE))
        app = FastAPI()
        app.include_router(sandbox_vnpay.router(bank))
        bank_holder.append(bank)
        return app


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    holder: list[SandboxBank] = []
    app = sandbox_app(holder)
    bank = holder[0]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX)
    state = Sandbox(bank=bank, client=client, vnpay=adapter(http=client))

    def paygov(request: httpx.Request) -> httpx.Response:
        """PayGov's callback endpoint, reduced to the adapter's part of it."""
        assert request.url.path == "/callbacks/vnpay-sandbox"
        query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        try:
            state.received.append(state.vnpay.verify_callback(inbound(query), NOW))
            reply = state.vnpay.ack(AckResult.CONFIRMED)
        except CallbackRejected as rejected:
            state.received.append(rejected)
            reply = state.vnpay.ack(AckResult.BAD_SIGNATURE)
        state.replies.append(json.loads(reply.body))
        return httpx.Response(reply.status_code, content=reply.body)

    await bank.http.aclose()
    bank.http = httpx.AsyncClient(transport=httpx.MockTransport(paygov))
    try:
        yield state
    finally:
        await bank.dispatcher.drain()
        await bank.http.aclose()
        await client.aclose()


def ref_of(created: datetime, txn_ref: str = "PG7K3M9Q2X8W4R1T") -> AttemptRef:
    return AttemptRef(txn_ref=txn_ref, amount=150_000, created_at=created)


CREATED = datetime(2026, 3, 14, 17, 30, 5, tzinfo=UTC)


class TestSandboxPaymentPage:
    async def test_shows_the_payment_in_vietnamese_and_english(self, sandbox: Sandbox) -> None:
        page = await sandbox.client.get(await redirect_url(sandbox.vnpay, attempt(bank_code="VCB")))

        assert page.status_code == 200
        assert "150.000 ₫" in page.text
        assert "VNPay (sandbox)" in page.text
        assert "Le phi cap ho chieu Da Nang lan 2" in page.text
        assert "VCB" in page.text
        for label in ("Thanh toán / Pay", "Từ chối / Decline", "Hủy giao dịch / Cancel"):
            assert label in page.text
        assert "<link" not in page.text
        assert "<script" not in page.text

    async def test_a_bad_hash_gets_an_error_page(self, sandbox: Sandbox) -> None:
        url = await redirect_url(sandbox.vnpay, attempt())
        page = await sandbox.client.get(url.replace("vnp_Amount=15000000", "vnp_Amount=100"))

        assert page.status_code == 400
        assert "97" in page.text

    async def test_pay_sends_a_signed_success_ipn_and_returns_the_browser(
        self, sandbox: Sandbox
    ) -> None:
        decided = await sandbox.pay("pay")

        assert decided.status_code == 303
        location = decided.headers["location"]
        assert location.startswith(f"{PAYGOV}/checkout/return/vnpay-sandbox?")
        leg = sandbox.vnpay.parse_return(inbound(url_params(location)))
        assert leg.txn_ref == "PG7K3M9Q2X8W4R1T"
        [event] = sandbox.events()
        assert event.outcome == "succeeded"
        assert event.amount == 150_000
        assert event.provider_txn_id is not None
        assert sandbox.replies == [{"RspCode": "00", "Message": "Confirm Success"}]
        booked = sandbox.bank.payments["PG7K3M9Q2X8W4R1T"]
        assert booked["status"] == "succeeded"
        assert booked["transaction_no"] == event.provider_txn_id
        assert booked["provider"] == "vnpay-sandbox"

    async def test_cancel_and_decline_report_failures(self, sandbox: Sandbox) -> None:
        await sandbox.pay("cancel", txn_ref="PGCANCEL00000001")
        await sandbox.pay("decline", txn_ref="PGDECLINE0000001")

        cancel, decline = sandbox.events()
        assert (cancel.outcome, cancel.reason, cancel.provider_txn_id) == ("failed", "24", None)
        assert (decline.outcome, decline.reason) == ("failed", "51")

    async def test_a_reference_can_be_paid_only_once(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay")
        page = await sandbox.client.get(await redirect_url(sandbox.vnpay, attempt()))

        assert page.status_code == 400

    async def test_altered_amount_is_signed_correctly(self, sandbox: Sandbox) -> None:
        sandbox.bank.faults.update({"alter_amount": 5000})
        await sandbox.pay("pay")

        [event] = sandbox.events()
        assert event.amount == 155_000

    async def test_bad_signature_fault_is_rejected(self, sandbox: Sandbox) -> None:
        sandbox.bank.faults.update({"bad_signature": True})
        await sandbox.pay("pay")

        assert isinstance(sandbox.received[0], CallbackRejected)
        assert sandbox.replies == [{"RspCode": "97", "Message": "Invalid signature"}]

    async def test_out_of_order_sends_a_stale_word_after_the_final_one(
        self, sandbox: Sandbox
    ) -> None:
        sandbox.bank.faults.update({"out_of_order": True})
        await sandbox.pay("pay")

        final, stale = sandbox.events()
        assert final.outcome == "succeeded"
        assert stale.outcome == "failed"
        assert final.dedupe_key != stale.dedupe_key


class TestQuery:
    async def test_a_paid_attempt_reads_succeeded(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)

        status = await sandbox.vnpay.query(ref_of(CREATED))

        assert status.outcome == "succeeded"
        assert status.amount == 150_000
        assert status.provider_txn_id == sandbox.bank.payments["PG7K3M9Q2X8W4R1T"]["transaction_no"]
        assert status.paid_at is not None

    async def test_a_dropped_ipn_is_recovered_by_querying(self, sandbox: Sandbox) -> None:
        sandbox.bank.faults.update({"drop": True})
        await sandbox.pay("pay", created_at=CREATED)

        assert sandbox.received == []
        assert (await sandbox.vnpay.query(ref_of(CREATED))).outcome == "succeeded"

    async def test_a_cancelled_attempt_reads_failed(self, sandbox: Sandbox) -> None:
        await sandbox.pay("cancel", created_at=CREATED)

        assert (await sandbox.vnpay.query(ref_of(CREATED))).outcome == "failed"

    async def test_an_attempt_vnpay_never_saw_is_unknown(self, sandbox: Sandbox) -> None:
        status = await sandbox.vnpay.query(ref_of(CREATED, "PGNEVERSEEN00001"))

        assert status.outcome == "unknown"
        assert status.reason == "not_found"

    async def test_the_sandbox_refuses_a_bad_request_checksum(self, sandbox: Sandbox) -> None:
        body = {
            "vnp_RequestId": "r1",
            "vnp_Version": "2.1.0",
            "vnp_Command": "querydr",
            "vnp_TmnCode": "PAYGOV01",
            "vnp_TxnRef": "PG7K3M9Q2X8W4R1T",
            "vnp_OrderInfo": "x",
            "vnp_TransactionDate": "20260315003005",
            "vnp_CreateDate": "20260315003005",
            "vnp_IpAddr": "127.0.0.1",
            "vnp_SecureHash": "00" * 64,
        }
        answer = await sandbox.client.post("/vnpay/merchant_webapi/api/transaction", json=body)

        assert answer.json()["vnp_ResponseCode"] == "97"


def failing_adapter(handler: Callable[[httpx.Request], httpx.Response]) -> VnpayAdapter:
    return adapter(http=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def signed_answer(**fields: str) -> dict[str, str]:
    answer = {
        "vnp_ResponseId": "abc",
        "vnp_Command": "querydr",
        "vnp_ResponseCode": "00",
        "vnp_Message": "QueryDR Success",
        "vnp_TmnCode": "PAYGOV01",
        "vnp_TxnRef": "PG7K3M9Q2X8W4R1T",
        "vnp_Amount": "15000000",
        "vnp_PayDate": "20260315003500",
        "vnp_TransactionNo": "14000009",
        "vnp_TransactionType": "01",
        "vnp_TransactionStatus": "00",
        **fields,
    }
    answer["vnp_SecureHash"] = signing.pipe_checksum(
        answer, signing.QUERYDR_RESPONSE, "SANDBOXHASHSECRETPAYGOV0123456789"
    )
    return answer


class TestQueryNeverGuesses:
    async def test_timeout_is_unavailable(self) -> None:
        def timeout(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        with pytest.raises(ProviderUnavailable):
            await failing_adapter(timeout).query(ref_of(CREATED))

    async def test_server_error_is_unavailable(self) -> None:
        vnpay = failing_adapter(lambda request: httpx.Response(500, json=signed_answer()))
        with pytest.raises(ProviderUnavailable):
            await vnpay.query(ref_of(CREATED))

    async def test_unparseable_body_is_unavailable(self) -> None:
        vnpay = failing_adapter(lambda request: httpx.Response(200, text="<html>oops</html>"))
        with pytest.raises(ProviderUnavailable):
            await vnpay.query(ref_of(CREATED))

    async def test_bad_response_checksum_is_unavailable(self) -> None:
        forged = {**signed_answer(), "vnp_TransactionStatus": "02"}
        vnpay = failing_adapter(lambda request: httpx.Response(200, json=forged))
        with pytest.raises(ProviderUnavailable):
            await vnpay.query(ref_of(CREATED))

    async def test_missing_response_checksum_is_unavailable(self) -> None:
        unsigned = {k: v for k, v in signed_answer().items() if k != "vnp_SecureHash"}
        vnpay = failing_adapter(lambda request: httpx.Response(200, json=unsigned))
        with pytest.raises(ProviderUnavailable):
            await vnpay.query(ref_of(CREATED))

    async def test_an_answer_about_another_transaction_is_unavailable(self) -> None:
        other = signed_answer(vnp_TxnRef="PGSOMEONEELSE001")
        vnpay = failing_adapter(lambda request: httpx.Response(200, json=other))
        with pytest.raises(ProviderUnavailable):
            await vnpay.query(ref_of(CREATED))

    async def test_the_request_is_checksummed_in_vnpays_order(self) -> None:
        seen: list[dict[str, str]] = []

        def record(request: httpx.Request) -> httpx.Response:
            seen.append(json.loads(request.content))
            return httpx.Response(200, json=signed_answer())

        status = await failing_adapter(record).query(ref_of(CREATED))

        [body] = seen
        assert status.outcome == "succeeded"
        assert len(body["vnp_RequestId"]) <= 32
        assert body["vnp_TransactionDate"] == "20260315003005"
        expected = "|".join(body[name] for name in signing.QUERYDR_REQUEST)
        assert body["vnp_SecureHash"] == signing.digest(
            expected.encode(), "SANDBOXHASHSECRETPAYGOV0123456789"
        )


def refund_of(amount: int, *, txn_no: str | None, original: int = 150_000) -> RefundRequest:
    return RefundRequest(
        refund_id="rf_1",
        txn_ref="PG7K3M9Q2X8W4R1T",
        amount=amount,
        original_amount=original,
        provider_txn_id=txn_no,
        paid_at=CREATED + timedelta(minutes=5),
        attempt_created_at=CREATED,
        reason="Hoàn phí do hồ sơ bị từ chối",
        requested_by="finance@paygov.vn",
    )


class TestRefund:
    async def test_partial_then_rest_then_nothing_left(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)
        txn_no = sandbox.bank.payments["PG7K3M9Q2X8W4R1T"]["transaction_no"]

        first = await sandbox.vnpay.refund(refund_of(50_000, txn_no=txn_no))
        rest = await sandbox.vnpay.refund(refund_of(100_000, txn_no=txn_no))
        beyond = await sandbox.vnpay.refund(refund_of(1_000, txn_no=txn_no))

        assert first.status == "succeeded"
        assert first.provider_refund_id
        assert rest.status == "succeeded"
        assert beyond.status == "failed"
        assert beyond.message is not None
        assert beyond.message.startswith("93")
        assert sandbox.bank.payments["PG7K3M9Q2X8W4R1T"]["refunded"] == 150_000

    async def test_full_refund(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)

        result = await sandbox.vnpay.refund(refund_of(150_000, txn_no=None))

        assert result.status == "succeeded"
        [booked] = sandbox.bank.payments["PG7K3M9Q2X8W4R1T"]["refunds"]
        assert booked["type"] == "02"

    async def test_a_failed_payment_cannot_be_refunded(self, sandbox: Sandbox) -> None:
        await sandbox.pay("decline", created_at=CREATED)

        result = await sandbox.vnpay.refund(refund_of(150_000, txn_no=None))

        assert result.status == "failed"

    async def test_transport_trouble_is_unknown(self) -> None:
        def down(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        result = await failing_adapter(down).refund(refund_of(1_000, txn_no="1"))

        assert result.status == "unknown"

    async def test_an_unsigned_answer_is_unknown(self) -> None:
        vnpay = failing_adapter(
            lambda request: httpx.Response(200, json={"vnp_ResponseCode": "00"})
        )

        assert (await vnpay.refund(refund_of(1_000, txn_no="1"))).status == "unknown"


class TestQueryRefund:
    """querydr tells whether VNPay made a refund, since a second refund request refunds again."""

    async def test_a_refund_vnpay_made_is_found(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)
        entry = sandbox.bank.payments["PG7K3M9Q2X8W4R1T"]
        made = await sandbox.vnpay.refund(refund_of(50_000, txn_no=entry["transaction_no"]))

        found = await sandbox.vnpay.query_refund(refund_of(50_000, txn_no=entry["transaction_no"]))

        assert (found.status, found.provider_refund_id) == ("succeeded", made.provider_refund_id)
        assert (entry["refund_requests"], entry["refunded"]) == (1, 50_000)

    async def test_a_refund_vnpay_never_got_is_not_found(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)

        found = await sandbox.vnpay.query_refund(refund_of(150_000, txn_no=None))

        assert found.status == "not_found"
        assert sandbox.bank.payments["PG7K3M9Q2X8W4R1T"]["refund_requests"] == 0

    async def test_a_refund_paygov_recorded_before_is_not_this_one(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)
        earlier = await sandbox.vnpay.refund(refund_of(50_000, txn_no=None))
        assert earlier.provider_refund_id is not None
        this = replace(
            refund_of(50_000, txn_no=None),
            refund_id="rf_2",
            known_refund_ids=(earlier.provider_refund_id,),
        )

        assert (await sandbox.vnpay.query_refund(this)).status == "not_found"

    async def test_a_refund_that_is_not_this_one_is_unknown(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)
        await sandbox.vnpay.refund(refund_of(30_000, txn_no=None))  # e.g. made by hand at VNPay

        assert (await sandbox.vnpay.query_refund(refund_of(50_000, txn_no=None))).status == (
            "unknown"
        )

    async def test_a_payment_vnpay_does_not_know_has_no_refund(self, sandbox: Sandbox) -> None:
        assert (await sandbox.vnpay.query_refund(refund_of(50_000, txn_no=None))).status == (
            "not_found"
        )

    @pytest.mark.parametrize(
        ("status", "outcome"),
        [("05", "succeeded"), ("06", "succeeded"), ("09", "failed"), ("02", "unknown")],
    )
    async def test_refund_status(self, status: str, outcome: str) -> None:
        answer = signed_answer(
            vnp_TransactionType="03",
            vnp_Amount="5000000",
            vnp_TransactionNo="14000123",
            vnp_TransactionStatus=status,
        )
        vnpay = failing_adapter(lambda request: httpx.Response(200, json=answer))

        found = await vnpay.query_refund(refund_of(50_000, txn_no="14000009"))

        assert found.status == outcome
        assert found.provider_refund_id == ("14000123" if outcome == "succeeded" else None)

    async def test_transport_trouble_and_forged_answers_are_unknown(self) -> None:
        def down(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        forged = {**signed_answer(vnp_TransactionType="02"), "vnp_TransactionStatus": "05"}
        for vnpay in (
            failing_adapter(down),
            failing_adapter(lambda request: httpx.Response(200, json=forged)),
        ):
            assert (await vnpay.query_refund(refund_of(150_000, txn_no="1"))).status == "unknown"


class TestQueryReadsVnpayStatuses:
    @pytest.mark.parametrize(
        ("status", "outcome"),
        [
            ("00", "succeeded"),
            ("01", "unknown"),
            ("02", "failed"),
            ("04", "unknown"),
            ("07", "unknown"),
        ],
    )
    async def test_transaction_status(self, status: str, outcome: str) -> None:
        answer = signed_answer(vnp_TransactionStatus=status)
        vnpay = failing_adapter(lambda request: httpx.Response(200, json=answer))

        assert (await vnpay.query(ref_of(CREATED))).outcome == outcome

    async def test_a_reported_refund_means_the_payment_went_through(self) -> None:
        answer = signed_answer(vnp_TransactionType="02", vnp_TransactionStatus="05")
        vnpay = failing_adapter(lambda request: httpx.Response(200, json=answer))

        status = await vnpay.query(ref_of(CREATED))

        assert (status.outcome, status.reason) == ("succeeded", "refunded")

    async def test_an_error_code_is_unknown(self) -> None:
        answer = signed_answer(vnp_ResponseCode="99", vnp_TransactionStatus="")
        vnpay = failing_adapter(lambda request: httpx.Response(200, json=answer))

        assert (await vnpay.query(ref_of(CREATED))).outcome == "unknown"
