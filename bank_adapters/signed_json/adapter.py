"""`signed_json`: a bank's direct API following PayGov's bank integration spec v1
(docs/bank-api.md). JSON both ways in PayGov's signature envelope; statements as
camt.053.001.08.

PayGov → bank: `POST /payments`, `GET /payments/{txn_ref}`, `POST /refunds`,
`GET /statements/{YYYY-MM-DD}`, each request signed with PayGov's private key, each
response verified with the bank's public key. Bank → PayGov: the payment callback.
"""

from __future__ import annotations

import io
import json
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Final, Literal

import httpx
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
from bank_adapters.statements import StatementError, read_camt053

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
        """`GET /statements/{day}` → camt.053.001.08, one line per booked transaction.

        The whole answer is verified before it is read (its signature covers the bytes);
        lines then stream. An unreadable statement is ProviderUnavailable, which may come
        after some lines: the caller keeps none of them.
        """
        response = await self.call("GET", f"/statements/{day.isoformat()}")
        if response.status_code != 200:
            raise ProviderUnavailable(f"{self.code}: statement: {self.error_code(response)}")
        try:
            for line in read_camt053(io.BytesIO(response.content)):
                yield line
        except StatementError as exc:
            raise ProviderUnavailable(f"{self.code}: unreadable statement: {exc}") from exc


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


def parse_camt053(xml: bytes) -> list[StatementLine]:
    """A whole camt.053 document's lines at once (StatementError, a ValueError, if not).

    Kept for callers of the former in-memory parser; new code streams with
    `bank_adapters.statements.read_camt053`.
    """
    return list(read_camt053(io.BytesIO(xml)))
