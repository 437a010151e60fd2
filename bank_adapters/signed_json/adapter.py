"""`signed_json`: a bank's direct API following PayGov's bank integration spec v1
(docs/bank-api.md). JSON both ways in PayGov's signature envelope; statements as
camt.053.001.08.

PayGov → bank: `POST /payments`, `GET /payments/{txn_ref}`, `POST /refunds`,
`GET /statements/{YYYY-MM-DD}`, each request signed with PayGov's private key, each
response verified with the bank's public key. Bank → PayGov: the payment callback.
"""

from __future__ import annotations

import json
import ssl
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final, Literal

import httpx
from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring as parse_xml  # type: ignore[import-untyped]
from pydantic import SecretStr, field_validator, model_validator

from bank_adapters import signing
from bank_adapters.base import (
    AdapterConfig,
    AttemptRef,
    AttemptRequest,
    CallbackRejected,
    InboundRequest,
    Outcome,
    ProviderEvent,
    ProviderStatus,
    ProviderUnavailable,
    Redirect,
    RefundRequest,
    RefundResult,
    StatementLine,
)

EVENT_OUTCOMES: Final[dict[str, Outcome]] = {
    "payment.succeeded": "succeeded",
    "payment.failed": "failed",
    "payment.pending": "unknown",
}
STATUS_OUTCOMES: Final[dict[str, Outcome]] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "pending": "unknown",
}
REFUND_STATUSES: Final[dict[str, Literal["succeeded", "failed", "unknown"]]] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "pending": "unknown",  # PayGov sends the same refund again later (idempotent)
}
DESCRIPTION_MAX: Final = 255
EVENT_ID_MAX: Final = 128  # PayGov's inbox dedupe key
REFERENCE_MAX: Final = 64  # PayGov's provider transaction id
TXN_REF_MAX: Final = 20


class SignedJsonConfig(AdapterConfig):
    """One bank's direct API: where it is, the keys of both sides, optional mutual TLS."""

    base_url: str
    algorithm: signing.Algorithm
    bank_public_key: str
    paygov_private_key: SecretStr
    tolerance_seconds: int = signing.DEFAULT_TOLERANCE_SECONDS
    client_cert: str | None = None  # PEM file: PayGov's TLS client certificate (chain)
    client_key: str | None = None  # PEM file: its key (omit when inside client_cert)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("tolerance_seconds")
    @classmethod
    def _positive(cls, value: int) -> int:
        if not 1 <= value <= 3600:
            raise ValueError("tolerance_seconds must be between 1 and 3600")
        return value

    @model_validator(mode="after")
    def _keys_fit(self) -> SignedJsonConfig:
        signing.public_keys(self.algorithm, self.bank_public_key)
        signing.private_key(self.algorithm, self.paygov_private_key.get_secret_value())
        if self.client_key and not self.client_cert:
            raise ValueError("client_key needs client_cert")
        return self


_TLS_CLIENTS: dict[tuple[str, str | None], httpx.AsyncClient] = {}


def mutual_tls_client(cert: str, key: str | None, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """One client per client certificate for the process: adapters are rebuilt on every
    provider refresh, their TLS sessions and connection pools should not be."""
    client = _TLS_CLIENTS.get((cert, key))
    if client is None:
        context = ssl.create_default_context()
        context.load_cert_chain(cert, key)
        client = httpx.AsyncClient(verify=context, timeout=timeout, follow_redirects=False)
        _TLS_CLIENTS[(cert, key)] = client
    return client


class SignedJsonAdapter(signing.EnvelopeAdapter[SignedJsonConfig]):
    """A bank speaking PayGov's bank integration spec v1."""

    protocol: ClassVar[str] = "signed_json"
    Config: ClassVar[type[AdapterConfig]] = SignedJsonConfig

    # -- the envelope ------------------------------------------------------------------

    def envelope(self) -> tuple[signing.Algorithm, str, int]:
        """The bank's algorithm, public key(s) and the freshness window."""
        return self.config.algorithm, self.config.bank_public_key, self.config.tolerance_seconds

    def now(self) -> datetime:
        """The time put on outgoing requests and used to judge responses (override in tests)."""
        return datetime.now(UTC)

    def client(self) -> httpx.AsyncClient:
        """The shared client, or this provider's mutual-TLS client when configured."""
        if not self.config.client_cert:
            return self.http
        try:
            return mutual_tls_client(
                self.config.client_cert, self.config.client_key, self.http.timeout
            )
        except (OSError, ssl.SSLError) as exc:
            raise ProviderUnavailable(
                f"{self.code}: cannot load the TLS client key: {exc}"
            ) from exc

    async def call(self, method: str, path: str, payload: Any = None) -> httpx.Response:
        """Send one signed request; return the bank's verified answer (status < 500).

        Raises ProviderUnavailable on a timeout, a transport error, a 5xx, or an answer
        whose signature or timestamp does not hold: the outcome is then unknown.
        """
        body = b"" if payload is None else signing.json_body(payload)
        secret = self.config.paygov_private_key.get_secret_value()
        headers = signing.signed_headers(self.config.algorithm, secret, body, self.now())
        if payload is not None:
            headers["Content-Type"] = "application/json"
        url = f"{self.config.base_url}{path}"
        try:
            response = await self.client().request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{self.code}: {method} {path}: {exc!r}") from exc
        if response.status_code >= 500:
            raise ProviderUnavailable(f"{self.code}: {method} {path}: HTTP {response.status_code}")
        timestamp = response.headers.get(signing.TIMESTAMP_HEADER, "")
        signature = response.headers.get(signing.SIGNATURE_HEADER, "")
        algorithm, public_pem, tolerance = self.envelope()
        if not signing.verify(algorithm, public_pem, timestamp, response.content, signature):
            raise ProviderUnavailable(f"{self.code}: {method} {path}: bad signature on answer")
        try:
            signing.check_freshness(timestamp, self.now(), tolerance)
        except CallbackRejected as exc:
            raise ProviderUnavailable(f"{self.code}: {method} {path}: {exc.reason}") from exc
        return response

    def read_json(self, response: httpx.Response) -> dict[str, Any]:
        """The answer's JSON object; ProviderUnavailable when it is not one."""
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise ProviderUnavailable(f"{self.code}: unreadable answer: {exc}") from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{self.code}: answer is not a JSON object")
        return data

    def error_code(self, response: httpx.Response) -> str:
        """The `error.code` of a signed 4xx answer (or `http_<status>`)."""
        error = self.read_json(response).get("error")
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, str) else f"http_{response.status_code}"

    # -- payment initiation -------------------------------------------------------------

    async def start(self, attempt: AttemptRequest) -> Redirect:
        """`POST /payments`; the citizen is sent to the bank's `payment_url`."""
        payload: dict[str, Any] = {
            "txn_ref": attempt.txn_ref,
            "amount": attempt.amount,
            "currency": "VND",
            "description": attempt.description[:DESCRIPTION_MAX],
            "expires_at": signing.iso_time(attempt.expires_at),
            "return_url": attempt.return_url,
            "callback_url": attempt.callback_url,
            "language": attempt.language,
        }
        if attempt.bank_code:
            payload["bank_code"] = attempt.bank_code
        response = await self.call("POST", "/payments", payload)
        if response.status_code not in (200, 201):
            code = self.error_code(response)
            raise ProviderUnavailable(f"{self.code}: payment refused ({code})")
        data = self.read_json(response)
        url = data.get("payment_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderUnavailable(f"{self.code}: no usable payment_url in the answer")
        if data.get("txn_ref", attempt.txn_ref) != attempt.txn_ref:
            raise ProviderUnavailable(f"{self.code}: answer is about another txn_ref")
        return Redirect(url)

    # -- callbacks ---------------------------------------------------------------------

    def parse_event(self, request: InboundRequest) -> ProviderEvent:
        """`{event_id, type, txn_ref, amount, bank_reference, paid_at?, reason?}`."""
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise CallbackRejected("callback body is not a JSON object")
        kind = data["type"]
        if kind not in EVENT_OUTCOMES:
            raise CallbackRejected(f"unknown event type {kind!r}")
        event_id = _text(data, "event_id", EVENT_ID_MAX)
        txn_ref = _text(data, "txn_ref", TXN_REF_MAX)
        bank_reference = _optional_text(data, "bank_reference", REFERENCE_MAX)
        paid_at = data.get("paid_at")
        reason = data.get("reason")
        return ProviderEvent(
            txn_ref=txn_ref,
            outcome=EVENT_OUTCOMES[kind],
            amount=_amount(data["amount"]),
            dedupe_key=event_id,
            provider_txn_id=bank_reference,
            paid_at=signing.parse_time(paid_at) if paid_at else None,
            reason=str(reason)[:255] if reason else None,
            details={"event_id": event_id, "type": kind},
        )

    # -- pulls -------------------------------------------------------------------------

    async def query(self, attempt: AttemptRef) -> ProviderStatus:
        """`GET /payments/{txn_ref}`. A signed 404 means the bank never accepted it: failed."""
        response = await self.call("GET", f"/payments/{attempt.txn_ref}")
        if response.status_code == 404:
            return ProviderStatus("failed", reason="not_found_at_bank")
        if response.status_code != 200:
            raise ProviderUnavailable(f"{self.code}: status query: {self.error_code(response)}")
        data = self.read_json(response)
        status = data.get("status")
        if data.get("txn_ref") != attempt.txn_ref or status not in STATUS_OUTCOMES:
            raise ProviderUnavailable(f"{self.code}: unreadable status answer")
        try:
            paid_at = signing.parse_time(data["paid_at"]) if data.get("paid_at") else None
            amount = _amount(data["amount"]) if "amount" in data else None
        except (ValueError, TypeError) as exc:
            raise ProviderUnavailable(f"{self.code}: unreadable status answer: {exc}") from exc
        try:
            reference = _optional_text(data, "bank_reference", REFERENCE_MAX)
        except ValueError as exc:
            raise ProviderUnavailable(f"{self.code}: unreadable status answer: {exc}") from exc
        reason = data.get("reason")
        return ProviderStatus(
            outcome=STATUS_OUTCOMES[status],
            amount=amount,
            provider_txn_id=reference,
            paid_at=paid_at,
            reason=str(reason) if reason else None,
        )

    async def refund(self, refund: RefundRequest) -> RefundResult:
        """`POST /refunds`, idempotent on `refund_id`: sending it again asks for its status."""
        payload = {
            "refund_id": refund.refund_id,
            "txn_ref": refund.txn_ref,
            "amount": refund.amount,
            "currency": "VND",
            "bank_reference": refund.provider_txn_id,
            "reason": refund.reason[:DESCRIPTION_MAX],
        }
        response = await self.call("POST", "/refunds", payload)
        if response.status_code in (400, 404, 409, 422):
            return RefundResult("failed", message=self.error_code(response))
        if response.status_code not in (200, 201):
            raise ProviderUnavailable(f"{self.code}: refund: HTTP {response.status_code}")
        data = self.read_json(response)
        status = data.get("status")
        if data.get("refund_id") != refund.refund_id or status not in REFUND_STATUSES:
            raise ProviderUnavailable(f"{self.code}: unreadable refund answer")
        try:
            reference = _optional_text(data, "bank_refund_reference", REFERENCE_MAX)
        except ValueError as exc:
            raise ProviderUnavailable(f"{self.code}: unreadable refund answer: {exc}") from exc
        reason = data.get("reason")
        return RefundResult(
            REFUND_STATUSES[status],
            provider_refund_id=reference,
            message=str(reason) if reason else None,
        )

    async def fetch_statement(self, day: date) -> AsyncIterator[StatementLine]:
        """`GET /statements/{day}` → camt.053.001.08, one line per booked transaction."""
        response = await self.call("GET", f"/statements/{day.isoformat()}")
        if response.status_code != 200:
            raise ProviderUnavailable(f"{self.code}: statement: {self.error_code(response)}")
        try:
            lines = parse_camt053(response.content)
        except ValueError as exc:
            raise ProviderUnavailable(f"{self.code}: unreadable statement: {exc}") from exc
        for line in lines:
            yield line


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data[name]
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise ValueError(f"{name} must be a string of 1-{limit} characters")
    return value


def _optional_text(data: dict[str, Any], name: str, limit: int) -> str | None:
    return None if data.get(name) is None else _text(data, name, limit)


def _amount(value: object) -> int:
    if type(value) is not int or value <= 0:
        raise ValueError("amount must be a positive whole number of VND")
    return value


# --- camt.053 ----------------------------------------------------------------------------

CAMT053_NS_PREFIX: Final = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(node: ET.Element | None, path: str) -> ET.Element | None:
    """The first descendant along a `/`-separated path of local names."""
    for name in path.split("/"):
        if node is None:
            return None
        node = next((child for child in node if _local(child.tag) == name), None)
    return node


def _children(node: ET.Element | None, path: str) -> Iterator[ET.Element]:
    *parents, name = path.split("/")
    parent = _find(node, "/".join(parents)) if parents else node
    if parent is not None:
        yield from (child for child in parent if _local(child.tag) == name)


def _value(node: ET.Element | None, path: str) -> str | None:
    found = _find(node, path)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _vnd(node: ET.Element | None, path: str) -> int | None:
    found = _find(node, path)
    if found is None:
        return None
    currency = found.get("Ccy", "VND")
    if currency != "VND":
        raise ValueError(f"amount in {currency}, not VND")
    try:
        amount = Decimal((found.text or "").strip())
    except InvalidOperation:
        raise ValueError(f"amount {found.text!r} is not a number") from None
    if amount != amount.to_integral_value():
        raise ValueError(f"amount {amount} is not whole VND")
    return int(amount)


def _booked_at(entry: ET.Element) -> datetime:
    moment = _value(entry, "BookgDt/DtTm") or _value(entry, "BookgDt/Dt")
    if moment is None:
        raise ValueError("entry without BookgDt")
    return signing.parse_time(moment)


def _is_charge(entry: ET.Element) -> bool:
    return "CHRG" in (_value(entry, "BkTxCd/Domn/Fmly/SubFmlyCd"), _value(entry, "BkTxCd/Prtry/Cd"))


def parse_camt053(xml: bytes) -> list[StatementLine]:
    """Booked entries of a camt.053 statement as StatementLines (ValueError if unreadable).

    One line per `TxDtls` (a batch entry gives several), or per `Ntry` without details.
    `Refs/EndToEndId` → txn_ref (`NOTPROVIDED` → None), `RmtInf/Ustrd` → memo,
    `Refs/AcctSvcrRef` (else the entry's) → provider_txn_id, `CdtDbtInd` DBIT → negative,
    `RvslInd` → reversal, `Chrgs/TtlChrgsAndTaxAmt` → fee; an entry whose bank transaction
    code is a charge (`CHRG`) is a fee line: amount -X, fee X. Only `BOOK` entries count.
    """
    try:
        root = parse_xml(xml, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise ValueError(f"not readable XML: {exc}") from None
    if _local(root.tag) != "Document" or not root.tag.startswith("{" + CAMT053_NS_PREFIX):
        raise ValueError("not a camt.053 document")
    lines: list[StatementLine] = []
    for statement in _children(root, "BkToCstmrStmt/Stmt"):
        for entry in _children(statement, "Ntry"):
            if (_value(entry, "Sts/Cd") or _value(entry, "Sts")) != "BOOK":
                continue
            lines.extend(_entry_lines(entry))
    return lines


def _signed(amount: int, node: ET.Element) -> int:
    indicator = _value(node, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise ValueError(f"CdtDbtInd {indicator!r}")
    return amount if indicator == "CRDT" else -amount


def _entry_lines(entry: ET.Element) -> Iterator[StatementLine]:
    booked_at = _booked_at(entry)
    reversal = (_value(entry, "RvslInd") or "false").lower() == "true"
    entry_ref = _value(entry, "AcctSvcrRef")
    details = list(_children(entry, "NtryDtls/TxDtls"))
    if not details:
        amount = _vnd(entry, "Amt")
        if amount is None:
            raise ValueError("entry without Amt")
        fee = _vnd(entry, "Chrgs/TtlChrgsAndTaxAmt") or (amount if _is_charge(entry) else 0)
        yield StatementLine(
            booked_at=booked_at,
            amount=_signed(amount, entry),
            txn_ref=None,
            memo=_value(entry, "AddtlNtryInf"),
            provider_txn_id=entry_ref,
            fee=fee,
            reversal=reversal,
        )
        return
    for tx in details:
        amount = _vnd(tx, "Amt") or _vnd(tx, "AmtDtls/TxAmt/Amt") or _vnd(entry, "Amt")
        if amount is None:
            raise ValueError("transaction without Amt")
        end_to_end = _value(tx, "Refs/EndToEndId")
        yield StatementLine(
            booked_at=booked_at,
            amount=_signed(amount, tx if _find(tx, "CdtDbtInd") is not None else entry),
            txn_ref=None if end_to_end in (None, "NOTPROVIDED") else end_to_end,
            memo=" ".join(u.text.strip() for u in _children(tx, "RmtInf/Ustrd") if u.text) or None,
            provider_txn_id=_value(tx, "Refs/AcctSvcrRef") or entry_ref,
            fee=_vnd(tx, "Chrgs/TtlChrgsAndTaxAmt") or 0,
            reversal=reversal,
        )
