"""The `vnpay` protocol: VNPay payment gateway v2.1.0, as VNPay publishes it.

The citizen is redirected to `vpcpay.html` with signed `vnp_*` parameters; VNPay confirms
with a signed GET to PayGov's IPN URL and expects `{"RspCode", "Message"}` back; the browser
returns with the same signed parameters (navigation only). Status queries and refunds are
the JSON transaction API (`querydr`, `refund`) with pipe-joined checksums. A VNPay refund
request always refunds (it has no idempotency key), so a refund sent before is looked up
with `querydr` before it is ever sent again. VNPay has no statement API: its daily
settlement file is reconciled with `paygov reconcile --file`.

Amounts on the wire are VND x 100; every date is `yyyyMMddHHmmss` in Vietnam time (GMT+7).
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr

from bank_adapters.base import (
    Ack,
    AckResult,
    Adapter,
    AdapterConfig,
    AttemptRef,
    AttemptRequest,
    CallbackRejected,
    InboundRequest,
    Outcome,
    ProviderEvent,
    ProviderStatus,
    ProviderUnavailable,
    QrCode,
    Redirect,
    RefundRequest,
    RefundResult,
    ReturnLeg,
)
from bank_adapters.vnpay import signing

VIETNAM = timezone(timedelta(hours=7), "GMT+7")
DATE_FORMAT = "%Y%m%d%H%M%S"
ORDER_INFO_LIMIT = 255

# The IPN replies VNPay's integration guide prescribes (its sample code's exact messages).
IPN_REPLIES: dict[AckResult, tuple[str, str]] = {
    AckResult.CONFIRMED: ("00", "Confirm Success"),
    AckResult.NOT_FOUND: ("01", "Order not found"),
    AckResult.DUPLICATE: ("02", "Order already confirmed"),
    AckResult.INVALID_AMOUNT: ("04", "invalid amount"),
    AckResult.BAD_SIGNATURE: ("97", "Invalid signature"),
    AckResult.ERROR: ("99", "Unknow error"),
}

# vnp_TransactionStatus: 01 not completed yet, 04 reversed (the bank debited the citizen but
# VNPay did not complete), 07 suspected fraud (debited, held for the merchant's decision).
# Money may have moved or may still move: never call these a failure.
UNSETTLED_STATUSES = frozenset({"01", "04", "07"})
# vnp_ResponseCode 07: "debited, transaction suspected" - the same hold, seen from the IPN.
UNSETTLED_RESPONSE_CODES = frozenset({"07"})
# vnp_TransactionType in a querydr answer: 01 payment, 02 full refund, 03 partial refund.
REFUND_TYPES = frozenset({"02", "03"})
# Refund answers that do not settle the question: 94 a refund of this transaction is already
# being processed, 98 VNPay timed out, 99 other error.
REFUND_UNSETTLED_CODES = frozenset({"94", "98", "99"})
# vnp_TransactionStatus of a refund in a querydr answer: 05 VNPay is processing it, 06 VNPay
# sent it to the bank (both: VNPay accepted it, as a refund answer 00 says), 09 refused.
REFUND_ACCEPTED_STATUSES = frozenset({"05", "06"})
REFUND_REFUSED_STATUS = "09"

_DIGITS = re.compile(r"[0-9]{1,20}")
_DATE = re.compile(r"[0-9]{14}")
# Characters VNPay's own sample encoders disagree on (PHP encodes them, .NET/Java keep some):
# left out of free text so that no implementation computes a different checksum.
_AMBIGUOUS = str.maketrans({c: " " for c in "!*()'~"})


class VnpayConfig(AdapterConfig):
    """A VNPay merchant account (terminal) as VNPay issues it."""

    tmn_code: str = Field(min_length=1, max_length=32)  # vnp_TmnCode
    hash_secret: SecretStr  # vnp_HashSecret
    payment_url: str = Field(min_length=1)  # .../paymentv2/vpcpay.html
    api_url: str = Field(min_length=1)  # .../merchant_webapi/api/transaction
    version: str = "2.1.0"
    order_type: str = "other"


def vietnam_time(moment: datetime) -> str:
    """An aware datetime as VNPay writes it: yyyyMMddHHmmss in GMT+7."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: PayGov times are aware UTC")
    return moment.astimezone(VIETNAM).strftime(DATE_FORMAT)


def parse_vietnam_time(text: str) -> datetime:
    """VNPay's yyyyMMddHHmmss (GMT+7) as an aware UTC datetime."""
    if not _DATE.fullmatch(text):
        raise ValueError(f"not a VNPay date: {text!r}")
    return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=VIETNAM).astimezone(UTC)


def ascii_text(text: str, limit: int = ORDER_INFO_LIMIT) -> str:
    """Vietnamese without diacritics, as VNPay requires of free text (đ → d, Đ → D)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    printable = "".join(c if c.isascii() and c.isprintable() else " " for c in plain)
    return " ".join(printable.translate(_AMBIGUOUS).split())[:limit].rstrip()


def amount_from_wire(raw: Any) -> int:
    """VNPay's amount (VND x 100) in VND; ValueError unless a whole number of VND."""
    text = signing.field_text(raw)
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"amount {text!r} is not a number")
    minor = int(text)
    if minor % 100:
        raise ValueError(f"amount {text} is not a whole number of VND")
    return minor // 100


def refund_type(refund: RefundRequest) -> str:
    """vnp_TransactionType of a refund: 02 full, 03 partial."""
    return "02" if refund.amount == refund.original_amount else "03"


def refund_lookup(answer: Mapping[str, Any], refund: RefundRequest) -> RefundResult:
    """A verified querydr answer read as the state of `refund`.

    querydr shows a transaction's latest refund (type 02/03, with the refund's amount and
    number). PayGov holds a payment's other refunds while one is in doubt, so the latest
    refund is this one unless it is a refund PayGov already recorded (`known_refund_ids`).
    A refund VNPay reports that matches neither is somebody else's: unknown, for staff."""
    code = signing.field_text(answer.get("vnp_ResponseCode"))
    if code == "91":  # no such payment at VNPay: no refund of it either
        return RefundResult("not_found", message="91: transaction not found")
    if code != "00":
        return RefundResult("unknown", message=f"querydr {code}")
    kind = signing.field_text(answer.get("vnp_TransactionType"))
    number = signing.field_text(answer.get("vnp_TransactionNo"))
    if kind not in REFUND_TYPES or number in refund.known_refund_ids:
        return RefundResult("not_found")
    try:
        amount = amount_from_wire(answer.get("vnp_Amount"))
    except ValueError as exc:
        return RefundResult("unknown", message=f"querydr: unreadable answer: {exc}")
    if amount != refund.amount or kind != refund_type(refund):
        return RefundResult("unknown", message=f"VNPay's latest refund ({kind}, {amount} VND)")
    status = signing.field_text(answer.get("vnp_TransactionStatus"))
    message = f"querydr: refund status {status}"
    if status in REFUND_ACCEPTED_STATUSES:
        return RefundResult("succeeded", provider_refund_id=number or None, message=message)
    if status == REFUND_REFUSED_STATUS:
        return RefundResult("failed", message=message)
    return RefundResult("unknown", message=message)


def payment_outcome(response_code: str, transaction_status: str) -> Outcome:
    """A payment's outcome from its codes: success only on 00/00; unsettled codes unknown."""
    if response_code == "00" and transaction_status == "00":
        return "succeeded"
    if response_code in UNSETTLED_RESPONSE_CODES or transaction_status in UNSETTLED_STATUSES:
        return "unknown"
    return "failed"


class VnpayAdapter(Adapter[VnpayConfig]):
    """VNPay payment gateway v2.1.0 (redirect, IPN, return, querydr, refund)."""

    protocol: ClassVar[str] = "vnpay"
    Config: ClassVar[type[AdapterConfig]] = VnpayConfig
    statement_file_only: ClassVar[bool] = True

    @property
    def secret(self) -> str:
        """The merchant's vnp_HashSecret."""
        return self.config.hash_secret.get_secret_value()

    # -- payment initiation

    async def start(self, attempt: AttemptRequest) -> Redirect | QrCode:
        """The signed vpcpay.html URL for this attempt."""
        params = {
            "vnp_Version": self.config.version,
            "vnp_Command": "pay",
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_Amount": str(attempt.amount * 100),
            "vnp_CurrCode": "VND",
            "vnp_TxnRef": attempt.txn_ref,
            "vnp_OrderInfo": ascii_text(attempt.description) or attempt.txn_ref,
            "vnp_OrderType": self.config.order_type,
            "vnp_Locale": "en" if attempt.language == "en" else "vn",
            "vnp_ReturnUrl": attempt.return_url,
            "vnp_IpAddr": attempt.client_ip,
            "vnp_CreateDate": vietnam_time(attempt.created_at),
            "vnp_ExpireDate": vietnam_time(attempt.expires_at),
        }
        if attempt.bank_code:
            params["vnp_BankCode"] = attempt.bank_code
        signed = signing.sign(params, self.secret)
        separator = "&" if "?" in self.config.payment_url else "?"
        return Redirect(f"{self.config.payment_url}{separator}{signing.query_string(signed)}")

    # -- callback verification hooks

    def signed_message(self, request: InboundRequest) -> bytes:
        """The sorted, encoded vnp_* parameters of the IPN's query string."""
        return signing.canonical(request.query).encode("utf-8")

    def presented_signature(self, request: InboundRequest) -> str | None:
        """The IPN's vnp_SecureHash."""
        return request.query.get(signing.HASH_FIELD) or None

    def signature_valid(self, message: bytes, signature: str) -> bool:
        """HMAC-SHA512 under vnp_HashSecret, compared in constant time (hex, any case)."""
        return signing.matches(signing.digest(message, self.secret), signature)

    def parse_event(self, request: InboundRequest) -> ProviderEvent:
        """A verified IPN as PayGov's common event."""
        query = request.query
        if query.get("vnp_TmnCode") != self.config.tmn_code:
            raise CallbackRejected("vnp_TmnCode is not this provider's")
        txn_ref = query["vnp_TxnRef"]
        if not txn_ref:
            raise CallbackRejected("empty vnp_TxnRef")
        try:
            amount = amount_from_wire(query["vnp_Amount"])
        except ValueError as exc:
            raise CallbackRejected(str(exc)) from exc
        response_code = query["vnp_ResponseCode"]
        transaction_status = query["vnp_TransactionStatus"]
        outcome = payment_outcome(response_code, transaction_status)
        transaction_no = query.get("vnp_TransactionNo", "")
        pay_date = query.get("vnp_PayDate", "")
        return ProviderEvent(
            txn_ref=txn_ref,
            outcome=outcome,
            amount=amount,
            # vnp_TransactionNo is 0 on cancels, so the outcome, not it, tells deliveries apart.
            dedupe_key=f"{txn_ref}:{outcome}",
            provider_txn_id=transaction_no if transaction_no not in ("", "0") else None,
            paid_at=parse_vietnam_time(pay_date) if pay_date else None,
            bank_code=query.get("vnp_BankCode") or None,
            reason=None if outcome == "succeeded" else response_code,
            details={
                name: query[name]
                for name in (
                    "vnp_ResponseCode",
                    "vnp_TransactionStatus",
                    "vnp_BankTranNo",
                    "vnp_CardType",
                )
                if query.get(name)
            },
        )

    def ack(self, result: AckResult) -> Ack:
        """VNPay's IPN reply: HTTP 200 with {"RspCode", "Message"}."""
        code, message = IPN_REPLIES[result]
        body = json.dumps({"RspCode": code, "Message": message}, separators=(",", ":"))
        return Ack(status_code=200, body=body.encode("utf-8"))

    def parse_return(self, request: InboundRequest) -> ReturnLeg:
        """The attempt the browser returns from, only when the return parameters verify."""
        query = request.query
        if query.get("vnp_TmnCode") != self.config.tmn_code or not signing.verify(
            query, self.secret
        ):
            return ReturnLeg(None)
        return ReturnLeg(query.get("vnp_TxnRef") or None)

    # -- pulls

    async def query(self, attempt: AttemptRef) -> ProviderStatus:
        """querydr: VNPay's word on the attempt. Raises ProviderUnavailable, never guesses."""
        answer = await self._querydr(attempt.txn_ref, attempt.created_at, attempt.client_ip)
        try:
            return self._status_from(answer)
        except ValueError as exc:
            raise ProviderUnavailable(f"vnpay querydr: unreadable answer: {exc}") from exc

    async def query_refund(self, refund: RefundRequest) -> RefundResult:
        """querydr: whether VNPay made this refund (VNPay refunds are not idempotent: a
        second refund request refunds again)."""
        try:
            answer = await self._querydr(
                refund.txn_ref, refund.attempt_created_at, refund.client_ip
            )
        except ProviderUnavailable as exc:
            return RefundResult("unknown", message=str(exc))
        return refund_lookup(answer, refund)

    async def refund(self, refund: RefundRequest) -> RefundResult:
        """refund: full (02) or partial (03); unknown when the answer is missing or unsigned."""
        body = self._request_base("refund", refund.client_ip)
        body.update(
            vnp_TransactionType=refund_type(refund),
            vnp_TxnRef=refund.txn_ref,
            vnp_Amount=str(refund.amount * 100),
            vnp_TransactionNo=refund.provider_txn_id or "0",
            vnp_TransactionDate=vietnam_time(refund.attempt_created_at),
            vnp_CreateBy=ascii_text(refund.requested_by, 250) or "paygov",
            vnp_OrderInfo=ascii_text(refund.reason) or f"Hoan tien {refund.txn_ref}",
        )
        body[signing.HASH_FIELD] = signing.pipe_checksum(body, signing.REFUND_REQUEST, self.secret)
        try:
            answer = await self._post(body)
            if not signing.pipe_verify(answer, signing.REFUND_RESPONSE, self.secret):
                raise ProviderUnavailable("vnpay refund: bad or missing response checksum")
            self._check_echo(answer, "refund", refund.txn_ref)
        except ProviderUnavailable as exc:
            return RefundResult("unknown", message=str(exc))
        code = signing.field_text(answer.get("vnp_ResponseCode"))
        message = f"{code}: {signing.field_text(answer.get('vnp_Message'))}"
        if code == "00":
            refund_no = signing.field_text(answer.get("vnp_TransactionNo"))
            return RefundResult("succeeded", provider_refund_id=refund_no or None, message=message)
        if code in REFUND_UNSETTLED_CODES:
            return RefundResult("unknown", message=message)
        return RefundResult("failed", message=message)

    # -- helpers of the transaction API

    async def _querydr(self, txn_ref: str, created_at: datetime, ip_address: str) -> dict[str, Any]:
        """VNPay's signed querydr answer about a transaction (else ProviderUnavailable)."""
        body = self._request_base("querydr", ip_address)
        body.update(
            vnp_TxnRef=txn_ref,
            vnp_OrderInfo=f"Truy van giao dich {txn_ref}",
            vnp_TransactionDate=vietnam_time(created_at),
        )
        body[signing.HASH_FIELD] = signing.pipe_checksum(body, signing.QUERYDR_REQUEST, self.secret)
        answer = await self._post(body)
        if not signing.pipe_verify(answer, signing.QUERYDR_RESPONSE, self.secret):
            raise ProviderUnavailable("vnpay querydr: bad or missing response checksum")
        self._check_echo(answer, "querydr", txn_ref)
        return answer

    def _request_base(self, command: str, ip_address: str) -> dict[str, str]:
        return {
            "vnp_RequestId": uuid.uuid4().hex,  # 32 chars, unique: VNPay refuses repeats
            "vnp_Version": self.config.version,
            "vnp_Command": command,
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_CreateDate": vietnam_time(datetime.now(UTC)),
            "vnp_IpAddr": ip_address,
        }

    async def _post(self, body: Mapping[str, str]) -> dict[str, Any]:
        command = body["vnp_Command"]
        try:
            response = await self.http.post(self.config.api_url, json=dict(body))
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"vnpay {command}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ProviderUnavailable(f"vnpay {command}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise ProviderUnavailable(f"vnpay {command}: body is not JSON") from exc
        if not isinstance(answer, dict):
            raise ProviderUnavailable(f"vnpay {command}: body is not a JSON object")
        return answer

    def _check_echo(self, answer: Mapping[str, Any], command: str, txn_ref: str) -> None:
        """A signed answer must be about this merchant, command and transaction."""
        tmn_code = signing.field_text(answer.get("vnp_TmnCode"))
        if tmn_code and tmn_code != self.config.tmn_code:
            raise ProviderUnavailable(f"vnpay {command}: answer for terminal {tmn_code!r}")
        if signing.field_text(answer.get("vnp_Command")) not in ("", command):
            raise ProviderUnavailable(f"vnpay {command}: answer to another command")
        echoed = signing.field_text(answer.get("vnp_TxnRef"))
        if echoed and echoed != txn_ref:
            raise ProviderUnavailable(f"vnpay {command}: answer about {echoed!r}")

    def _status_from(self, answer: Mapping[str, Any]) -> ProviderStatus:
        code = signing.field_text(answer.get("vnp_ResponseCode"))
        if code == "91":
            # VNPay has no such transaction (yet): the citizen may still be on its page.
            return ProviderStatus("unknown", reason="not_found")
        if code != "00":
            return ProviderStatus("unknown", reason=f"querydr {code}")
        if signing.field_text(answer.get("vnp_TxnRef")) == "":
            raise ValueError("no vnp_TxnRef")
        if signing.field_text(answer.get("vnp_TransactionType")) in REFUND_TYPES:
            # A refund is reported, so the payment itself went through; the amount, number
            # and date in this answer are the refund's, not the payment's.
            return ProviderStatus("succeeded", reason="refunded")
        transaction_no = signing.field_text(answer.get("vnp_TransactionNo"))
        provider_txn_id = transaction_no if transaction_no not in ("", "0") else None
        pay_date = signing.field_text(answer.get("vnp_PayDate"))
        paid_at = parse_vietnam_time(pay_date) if pay_date else None
        status = signing.field_text(answer.get("vnp_TransactionStatus"))
        amount = amount_from_wire(answer.get("vnp_Amount"))
        if status == "00":
            return ProviderStatus(
                "succeeded", amount=amount, provider_txn_id=provider_txn_id, paid_at=paid_at
            )
        if status == "02":
            return ProviderStatus(
                "failed", amount=amount, provider_txn_id=provider_txn_id, reason=status
            )
        return ProviderStatus(
            "unknown", amount=amount, provider_txn_id=provider_txn_id, reason=status or None
        )
