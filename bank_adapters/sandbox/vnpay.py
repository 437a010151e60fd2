"""The sandbox bank playing VNPay (payment gateway v2.1.0) for every `vnpay` provider.

* `GET /vnpay/paymentv2/vpcpay.html` — VNPay's payment page: checks the merchant
  (`vnp_TmnCode`) and the `vnp_SecureHash`, then offers Pay / Decline / Cancel.
* `POST /vnpay/decide` — the citizen's choice: the transaction is recorded in
  `bank.payments[txn_ref]`, the signed IPN is scheduled through the fault switches, and the
  browser is sent back to `vnp_ReturnUrl` with the signed return parameters.
* `POST /vnpay/merchant_webapi/api/transaction` — `querydr` and `refund`, pipe-checksummed
  both ways, answering from `bank.payments` (so a payment whose IPN was dropped is found).
  As VNPay does, `querydr` of a refunded payment reports its latest refund (type 02/03,
  the refund's amount and number, status 05), and every refund request refunds again.
* `GET /vnpay/settlement/{YYYY-MM-DD}.csv` — VNPay's daily settlement file of those
  transactions (`vnpay_settlement`), read by `statements.VNPAY_SETTLEMENT_CSV`.

A record in `bank.payments` (keyed by `vnp_TxnRef`): `protocol` ("vnpay"), `provider`
(provider code), `txn_ref`, `amount` (VND), `status` ("succeeded" | "failed"),
`transaction_no`, `pay_date` (yyyyMMddHHmmss GMT+7), `booked_at` (aware UTC), `bank_code`,
`response_code`, `transaction_status`, `create_date` (the merchant's vnp_CreateDate),
`order_info`, `refunded` (VND), `refunds` (list of {refund_no, amount, type, booked_at,
requested_by}) and `refund_requests` (how many refund requests reached it, granted or not).
"""

from __future__ import annotations

import html
import itertools
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bank_adapters.sandbox.app import SandboxBank
from bank_adapters.sandbox.faults import Send
from bank_adapters.vnpay import signing
from bank_adapters.vnpay.adapter import (
    VIETNAM,
    amount_from_wire,
    parse_vietnam_time,
    vietnam_time,
)


@dataclass(frozen=True)
class Choice:
    """What a button on the payment page makes VNPay report."""

    response_code: str
    transaction_status: str
    status: str  # recorded in bank.payments
    label: str  # in the dispatcher's log


CHOICES = {
    "pay": Choice("00", "00", "succeeded", "succeeded"),
    "decline": Choice("51", "02", "failed", "declined"),  # 51: insufficient balance
    "cancel": Choice("24", "02", "failed", "cancelled"),  # 24: the customer cancelled
}
# Sent after the final IPN when `out_of_order` is on: an earlier, now stale, word.
STALE_AFTER_SUCCESS = Choice("24", "02", "failed", "stale failure")
STALE_AFTER_FAILURE = Choice("99", "01", "pending", "stale pending")
PAGE_FIELDS = ("vnp_TxnRef", "vnp_OrderInfo", "vnp_ReturnUrl", "vnp_CreateDate", "vnp_IpAddr")


class PageError(Exception):
    """The payment request cannot be shown: VNPay's error page (HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code} {message}")


@dataclass
class VnpaySandbox:
    """VNPay's side of the sandbox: merchants from the providers file, transactions."""

    bank: SandboxBank
    numbers: itertools.count[int] = field(
        default_factory=lambda: itertools.count(14_000_000 + secrets.randbelow(1_000_000))
    )
    request_ids: set[str] = field(default_factory=set)

    def merchant(self, tmn_code: str | None) -> dict[str, Any] | None:
        """The `vnpay` provider config whose vnp_TmnCode this is."""
        for config in self.bank.configs("vnpay"):
            if tmn_code and config.get("tmn_code") == tmn_code:
                return config
        return None

    def merchant_name(self, code: str) -> str:
        """The provider's display name from the providers file."""
        for provider in self.bank.providers:
            if provider.get("code") == code:
                return str(provider.get("name") or code)
        return code

    def check_payment(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The merchant of a signed, well-formed, new payment request (else PageError)."""
        merchant = self.merchant(params.get("vnp_TmnCode"))
        if merchant is None:
            raise PageError("02", "Merchant không hợp lệ / Unknown merchant (vnp_TmnCode)")
        if not signing.verify(params, str(merchant["hash_secret"])):
            raise PageError("97", "Sai chữ ký / Invalid signature")
        if params.get("vnp_Command") != "pay" or params.get("vnp_CurrCode") != "VND":
            raise PageError("03", "Dữ liệu không đúng định dạng / Malformed request")
        if any(not params.get(name) for name in PAGE_FIELDS):
            raise PageError("03", "Thiếu tham số / Missing parameters")
        try:
            if amount_from_wire(params.get("vnp_Amount")) <= 0:
                raise ValueError("amount must be positive")
        except ValueError:
            raise PageError("03", "Số tiền không hợp lệ / Invalid amount") from None
        if params["vnp_TxnRef"] in self.bank.payments:
            raise PageError("01", "Giao dịch đã tồn tại / Transaction already exists")
        return merchant

    def record(
        self, merchant: Mapping[str, Any], params: Mapping[str, str], choice: Choice, now: datetime
    ) -> dict[str, Any]:
        """Book the citizen's choice in bank.payments."""
        cancelled = choice is CHOICES["cancel"]
        entry: dict[str, Any] = {
            "protocol": "vnpay",
            "provider": merchant["code"],
            "txn_ref": params["vnp_TxnRef"],
            "amount": amount_from_wire(params["vnp_Amount"]),
            "status": choice.status,
            "transaction_no": "0" if cancelled else str(next(self.numbers)),
            "pay_date": vietnam_time(now),
            "booked_at": now,
            "bank_code": params.get("vnp_BankCode") or "NCB",
            "response_code": choice.response_code,
            "transaction_status": choice.transaction_status,
            "create_date": params["vnp_CreateDate"],
            "order_info": params["vnp_OrderInfo"],
            "refunded": 0,
            "refunds": [],
            "refund_requests": 0,
        }
        self.bank.payments[entry["txn_ref"]] = entry
        return entry

    def result_params(self, entry: Mapping[str, Any], choice: Choice) -> dict[str, str]:
        """The IPN / return parameters VNPay sends for a transaction (unsigned)."""
        transaction_no = "0" if choice.status == "pending" else entry["transaction_no"]
        params = {
            "vnp_Amount": str(entry["amount"] * 100),
            "vnp_BankCode": entry["bank_code"],
            "vnp_CardType": "ATM",
            "vnp_OrderInfo": entry["order_info"],
            "vnp_PayDate": entry["pay_date"],
            "vnp_ResponseCode": choice.response_code,
            "vnp_TmnCode": self.tmn_code_of(entry),
            "vnp_TransactionNo": transaction_no,
            "vnp_TransactionStatus": choice.transaction_status,
            "vnp_TxnRef": entry["txn_ref"],
        }
        if transaction_no != "0":
            params["vnp_BankTranNo"] = f"VNP{transaction_no}"
        return params

    def tmn_code_of(self, entry: Mapping[str, Any]) -> str:
        """The vnp_TmnCode of the provider a transaction belongs to."""
        for config in self.bank.configs("vnpay"):
            if config["code"] == entry["provider"]:
                return str(config["tmn_code"])
        raise KeyError(entry["provider"])

    def callback(self, merchant: Mapping[str, Any], params: Mapping[str, str]) -> Send:
        """One IPN delivery: a signed GET to PayGov, with the current fault switches."""
        faults = self.bank.faults
        query = dict(params)
        if faults.alter_amount:
            query["vnp_Amount"] = str(int(query["vnp_Amount"]) + faults.alter_amount * 100)
        signed = signing.sign(query, str(merchant["hash_secret"]))
        if faults.bad_signature:
            digest = signed[signing.HASH_FIELD]
            signed[signing.HASH_FIELD] = digest[:-1] + ("0" if digest[-1] != "0" else "1")
        url = self.bank.callback_url(str(merchant["code"]))
        full_url = f"{url}{'&' if '?' in url else '?'}{signing.query_string(signed)}"

        async def send() -> None:
            response = await self.bank.http.get(full_url)
            response.raise_for_status()

        return send

    def decide(self, form: Mapping[str, str], action: str) -> str:
        """Book the choice, schedule the IPN, and return where the browser goes next."""
        params = {name: value for name, value in form.items() if name.startswith("vnp_")}
        merchant = self.check_payment(params)
        choice = CHOICES[action]
        entry = self.record(merchant, params, choice, datetime.now(UTC))
        result = self.result_params(entry, choice)
        stale_choice = STALE_AFTER_SUCCESS if choice.status == "succeeded" else STALE_AFTER_FAILURE
        self.bank.dispatcher.schedule(
            f"vnpay {entry['txn_ref']} {choice.label}",
            self.callback(merchant, result),
            self.callback(merchant, self.result_params(entry, stale_choice)),
        )
        signed = signing.sign(result, str(merchant["hash_secret"]))
        return_url = params["vnp_ReturnUrl"]
        return f"{return_url}{'&' if '?' in return_url else '?'}{signing.query_string(signed)}"

    # -- the transaction API

    def transaction(self, body: Mapping[str, str]) -> dict[str, str]:
        """Answer a querydr or refund request as VNPay does."""
        command = body.get("vnp_Command", "")
        fields = {"querydr": signing.QUERYDR_REQUEST, "refund": signing.REFUND_REQUEST}
        if command not in fields:
            return {"vnp_ResponseCode": "03", "vnp_Message": "Invalid command"}
        merchant = self.merchant(body.get("vnp_TmnCode"))
        if merchant is None:
            return {"vnp_ResponseCode": "02", "vnp_Message": "Invalid TmnCode"}
        secret = str(merchant["hash_secret"])
        if not signing.pipe_verify(body, fields[command], secret):
            answer = {"vnp_ResponseCode": "97", "vnp_Message": "Invalid Checksum"}
        elif any(not body.get(name) for name in fields[command] if name != "vnp_TransactionNo"):
            answer = {"vnp_ResponseCode": "03", "vnp_Message": "Invalid data format"}
        elif body["vnp_RequestId"] in self.request_ids:
            answer = {"vnp_ResponseCode": "94", "vnp_Message": "Duplicate request"}
        else:
            self.request_ids.add(body["vnp_RequestId"])
            entry = self.find(merchant, body)
            answer = self.querydr(entry) if command == "querydr" else self.refund(entry, body)
        return self.signed_answer(merchant, body, answer)

    def find(self, merchant: Mapping[str, Any], body: Mapping[str, str]) -> dict[str, Any] | None:
        """The merchant's transaction by vnp_TxnRef and vnp_TransactionDate (its CreateDate)."""
        entry = self.bank.payments.get(body.get("vnp_TxnRef", ""))
        if (
            entry is None
            or entry.get("protocol") != "vnpay"
            or entry.get("provider") != merchant["code"]
            or entry.get("create_date") != body.get("vnp_TransactionDate")
        ):
            return None
        return entry

    def querydr(self, entry: Mapping[str, Any] | None) -> dict[str, str]:
        """What VNPay knows of a payment."""
        if entry is None:
            return {"vnp_ResponseCode": "91", "vnp_Message": "Transaction not found"}
        answer = {
            "vnp_ResponseCode": "00",
            "vnp_Message": "QueryDR Success",
            "vnp_Amount": str(entry["amount"] * 100),
            "vnp_OrderInfo": entry["order_info"],
            "vnp_BankCode": entry["bank_code"],
            "vnp_PayDate": entry["pay_date"],
            "vnp_TransactionNo": entry["transaction_no"],
            "vnp_TransactionType": "01",
            "vnp_TransactionStatus": entry["transaction_status"],
        }
        if entry["refunds"]:
            latest = entry["refunds"][-1]
            answer.update(
                vnp_Amount=str(latest["amount"] * 100),
                vnp_PayDate=vietnam_time(latest["booked_at"]),
                vnp_TransactionNo=latest["refund_no"],
                vnp_TransactionType=latest["type"],
                vnp_TransactionStatus="05",  # VNPay is processing the refund
            )
        return answer

    def refund(self, entry: dict[str, Any] | None, body: Mapping[str, str]) -> dict[str, str]:
        """Refund when the amount is still available; VNPay's error codes otherwise."""
        kind = body["vnp_TransactionType"]
        try:
            amount = amount_from_wire(body["vnp_Amount"])
            parse_vietnam_time(body["vnp_CreateDate"])
        except ValueError:
            amount = 0
        if kind not in ("02", "03") or amount <= 0:
            return {"vnp_ResponseCode": "03", "vnp_Message": "Invalid data format"}
        number = body.get("vnp_TransactionNo", "0") or "0"
        if entry is not None:
            entry["refund_requests"] += 1
        if entry is None or number not in ("0", entry["transaction_no"]):
            return {"vnp_ResponseCode": "91", "vnp_Message": "Transaction not found"}
        if entry["status"] != "succeeded":
            return {"vnp_ResponseCode": "95", "vnp_Message": "Transaction is not successful"}
        if kind == "02" and entry["refunded"]:
            return {"vnp_ResponseCode": "04", "vnp_Message": "Full refund after partial refund"}
        available = entry["amount"] - entry["refunded"]
        if amount > available or (kind == "02" and amount != entry["amount"]):
            return {"vnp_ResponseCode": "93", "vnp_Message": "Invalid refund amount"}
        now = datetime.now(UTC)
        refund_no = str(next(self.numbers))
        entry["refunded"] += amount
        entry["refunds"].append(
            {
                "refund_no": refund_no,
                "amount": amount,
                "type": kind,
                "booked_at": now,
                "requested_by": body["vnp_CreateBy"],
            }
        )
        return {
            "vnp_ResponseCode": "00",
            "vnp_Message": "Refund success",
            "vnp_Amount": body["vnp_Amount"],
            "vnp_OrderInfo": body["vnp_OrderInfo"],
            "vnp_BankCode": entry["bank_code"],
            "vnp_PayDate": vietnam_time(now),
            "vnp_TransactionNo": refund_no,
            "vnp_TransactionType": kind,
            "vnp_TransactionStatus": "05",  # VNPay is processing the refund
        }

    def signed_answer(
        self, merchant: Mapping[str, Any], body: Mapping[str, str], answer: Mapping[str, str]
    ) -> dict[str, str]:
        """The answer with its echo fields and VNPay's pipe-joined checksum."""
        command = body["vnp_Command"]
        signed = {
            "vnp_ResponseId": uuid.uuid4().hex,
            "vnp_Command": command,
            "vnp_TmnCode": str(merchant["tmn_code"]),
            "vnp_TxnRef": body.get("vnp_TxnRef", ""),
            **answer,
        }
        order = signing.QUERYDR_RESPONSE if command == "querydr" else signing.REFUND_RESPONSE
        signed[signing.HASH_FIELD] = signing.pipe_checksum(
            signed, order, str(merchant["hash_secret"])
        )
        return signed


def router(bank: SandboxBank) -> APIRouter:
    """VNPay's payment page, IPN sender and transaction API, under /vnpay."""
    sandbox = VnpaySandbox(bank)
    api = APIRouter(prefix="/vnpay", include_in_schema=False)

    @api.get("/paymentv2/vpcpay.html", response_class=HTMLResponse)
    async def payment_page(request: Request) -> HTMLResponse:
        """VNPay's payment page for a signed request, or its error page."""
        params = dict(request.query_params)
        try:
            merchant = sandbox.check_payment(params)
        except PageError as error:
            return error_page(error)
        name = sandbox.merchant_name(str(merchant["code"]))
        return HTMLResponse(payment_html(name, params))

    @api.post("/decide")
    async def decide(request: Request) -> Response:
        """The citizen pressed Pay, Decline or Cancel."""
        raw = (await request.body()).decode("utf-8", errors="replace")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        action = form.pop("action", "")
        if action not in CHOICES:
            return error_page(PageError("03", "Lựa chọn không hợp lệ / Unknown choice"))
        try:
            location = sandbox.decide(form, action)
        except PageError as error:
            return error_page(error)
        return RedirectResponse(location, status_code=303)

    @api.post("/merchant_webapi/api/transaction")
    async def transaction(request: Request) -> JSONResponse:
        """VNPay's transaction API: querydr and refund."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"vnp_ResponseCode": "03", "vnp_Message": "Invalid data format"})
        fields = {str(name): signing.field_text(value) for name, value in body.items()}
        return JSONResponse(sandbox.transaction(fields))

    return api


# -- pages ---------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#eef3f9;
margin:0;color:#1b2a3a}
main{max-width:440px;margin:32px auto;background:#fff;border-radius:12px;padding:24px;
box-shadow:0 2px 12px rgba(0,40,100,.12)}
h1{font-size:1.2rem;margin:0 0 4px;color:#005baa}
.sub{color:#5b6b7b;font-size:.85rem;margin:0 0 16px}
dl{display:grid;grid-template-columns:auto 1fr;gap:8px 12px;margin:0 0 20px}
dt{color:#5b6b7b;font-size:.85rem}
dd{margin:0;font-weight:600;word-break:break-word}
.amount{font-size:1.4rem;color:#d7282f}
.buttons{display:grid;gap:10px}
button{font-size:1rem;padding:12px;border-radius:8px;border:1px solid #005baa;cursor:pointer}
.pay{background:#005baa;color:#fff}
.decline{background:#fff;color:#d7282f;border-color:#d7282f}
.cancel{background:#fff;color:#1b2a3a;border-color:#9aa8b6}
.err{color:#d7282f}
"""


def vnd(amount: int) -> str:
    """150000 → '150.000 ₫'."""
    return f"{amount:,}".replace(",", ".") + " ₫"


def page(title: str, body: str) -> str:
    """A whole page: inline CSS, no external assets."""
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def payment_html(merchant_name: str, params: Mapping[str, str]) -> str:
    """VNPay's payment page with the signed request carried in hidden fields."""
    expires = expiry_text(params.get("vnp_ExpireDate", ""))
    rows = [
        ("Đơn vị / Merchant", f"{merchant_name} ({params['vnp_TmnCode']})"),
        ("Mã giao dịch / Reference", params["vnp_TxnRef"]),
        ("Nội dung / Order info", params["vnp_OrderInfo"]),
        ("Ngân hàng / Bank", params.get("vnp_BankCode") or "Chọn tại VNPay / any (NCB)"),
        ("Hết hạn / Expires", expires),
    ]
    amount = vnd(amount_from_wire(params["vnp_Amount"]))
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in params.items()
    )
    listing = "".join(
        f"<dt>{html.escape(label)}</dt><dd>{html.escape(value)}</dd>" for label, value in rows
    )
    body = (
        "<h1>VNPAY — Cổng thanh toán (sandbox)</h1>"
        '<p class="sub">Payment gateway sandbox · không có tiền thật / no real money</p>'
        f'<dl><dt>Số tiền / Amount</dt><dd class="amount">{html.escape(amount)}</dd>{listing}</dl>'
        f'<form method="post" action="../decide">{hidden}<div class="buttons">'
        '<button class="pay" name="action" value="pay">Thanh toán / Pay</button>'
        '<button class="decline" name="action" value="decline">Từ chối / Decline</button>'
        '<button class="cancel" name="action" value="cancel">Hủy giao dịch / Cancel</button>'
        "</div></form>"
    )
    return page("VNPAY — Thanh toán / Payment", body)


def expiry_text(expire: str) -> str:
    """vnp_ExpireDate as people read it: dd/MM/yyyy HH:mm:ss (GMT+7)."""
    if not expire:
        return "—"
    try:
        moment = parse_vietnam_time(expire).astimezone(VIETNAM)
    except ValueError:
        return expire
    return moment.strftime("%d/%m/%Y %H:%M:%S") + " (GMT+7)"


def error_page(error: PageError) -> HTMLResponse:
    """VNPay's error page for a request it refuses (HTTP 400)."""
    body = (
        '<h1 class="err">Giao dịch không thành công / Request refused</h1>'
        f"<p>Mã lỗi / Code <strong>{html.escape(error.code)}</strong>: "
        f"{html.escape(error.message)}</p>"
    )
    return HTMLResponse(page("VNPAY — Lỗi / Error", body), status_code=400)
