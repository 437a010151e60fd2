"""The contract between PayGov and a provider protocol (DESIGN.md §7).

An adapter turns PayGov's intent into the provider's wire format and back. It never
touches the database: PayGov gives it plain values and gets plain values back.

Callback verification is split into small hooks, combined by one final `verify_callback`:
`signed_message` (the exact bytes the provider signed), `presented_signature` (what it
sent), `signature_valid` (the algorithm, constant-time), `check_freshness` (timestamp or
replay rules), and `parse_event` (the common event). A new protocol overrides hooks.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import ClassVar, Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

Outcome = Literal["succeeded", "failed", "unknown"]


class AdapterConfig(BaseModel):
    """Base of every adapter's settings. Secrets are `SecretStr` fields."""

    model_config = ConfigDict(extra="forbid")


ConfigT = TypeVar("ConfigT", bound=AdapterConfig)


class CallbackRejected(Exception):
    """The callback is not authentic or cannot be read; nothing may change because of it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class StatementFileOnly(Exception):
    """The protocol has no statement API; its statements are reconciled from a file."""


class ProviderUnavailable(Exception):
    """The provider did not answer in time or answered something unreadable: outcome unknown."""


# --- what PayGov sends -----------------------------------------------------------------


@dataclass(frozen=True)
class AttemptRequest:
    """One try to pay, as an adapter needs it."""

    txn_ref: str  # ≤ 20 chars, A-Z 0-9: fits vnp_TxnRef and a VietQR purpose
    amount: int  # VND
    description: str  # may contain Vietnamese; adapters transliterate where needed
    created_at: datetime  # aware UTC
    expires_at: datetime  # aware UTC: the payment's deadline, given to the provider
    return_url: str  # PayGov's return leg for this provider
    callback_url: str  # PayGov's callback endpoint for this provider
    bank_code: str | None = None  # the bank the citizen chose (e.g. "VCB"), if any
    language: str = "vi"
    client_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    txn_ref: str
    amount: int  # VND to give back
    original_amount: int
    provider_txn_id: str | None
    paid_at: datetime | None
    attempt_created_at: datetime
    reason: str
    requested_by: str = "paygov"
    client_ip: str = "127.0.0.1"
    # The provider's references of this attempt's other refunds that PayGov already
    # recorded: an answer to `query_refund` naming one of them is about another refund.
    known_refund_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttemptRef:
    """What `query` needs to find an attempt at the provider."""

    txn_ref: str
    amount: int
    created_at: datetime
    provider_txn_id: str | None = None
    client_ip: str = "127.0.0.1"


# --- what the adapter returns ----------------------------------------------------------


@dataclass(frozen=True)
class Redirect:
    """Send the citizen's browser here (303)."""

    url: str


@dataclass(frozen=True)
class QrCode:
    """Show this VietQR payload and these transfer details; wait for the credit notification."""

    payload: str
    bank_bin: str
    account_number: str
    account_name: str
    amount: int
    memo: str


@dataclass(frozen=True)
class InboundRequest:
    """A provider's HTTP request to PayGov, exactly as received."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class ProviderEvent:
    """A verified callback in PayGov's common terms."""

    txn_ref: str
    outcome: Outcome
    amount: int
    dedupe_key: str  # unique per provider: a duplicate delivery has the same key
    provider_txn_id: str | None = None
    paid_at: datetime | None = None
    bank_code: str | None = None
    reason: str | None = None  # provider's code/message when not a success
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderStatus:
    """The provider's answer to `query`."""

    outcome: Outcome
    amount: int | None = None
    provider_txn_id: str | None = None
    paid_at: datetime | None = None
    reason: str | None = None


# `not_found` only answers `query_refund`: the provider never received the refund.
RefundStatus = Literal["succeeded", "failed", "pending_manual", "unknown", "not_found"]


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    provider_refund_id: str | None = None
    message: str | None = None


StatementKind = Literal["payment", "refund", "fee", "other"]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked movement of a provider's statement (reconciliation).

    Amounts are whole numbers of the currency's ISO 4217 minor unit: VND has none, so
    150000 is 150.000 ₫; EUR has 2, so 75425 is EUR 754.25.
    """

    booked_at: datetime  # aware UTC
    amount: int  # minor units of `currency`; negative for debits
    txn_ref: str | None
    memo: str | None
    provider_txn_id: str | None
    fee: int = 0  # ≥ 0, same unit: what the provider charged on this movement
    reversal: bool = False
    currency: str = "VND"  # ISO 4217 code
    kind: StatementKind | None = None  # only when the statement itself says it


class AckResult(Enum):
    """What PayGov concluded from a callback; the adapter shapes the provider's reply."""

    CONFIRMED = "confirmed"  # recorded (also a late success or an overpayment)
    DUPLICATE = "duplicate"  # already processed: acknowledged, no second effect
    NOT_FOUND = "not_found"  # no such txn_ref
    INVALID_AMOUNT = "invalid_amount"
    BAD_SIGNATURE = "bad_signature"
    ERROR = "error"


@dataclass(frozen=True)
class Ack:
    status_code: int
    body: bytes
    media_type: str = "application/json"


@dataclass(frozen=True)
class ReturnLeg:
    """What the browser's return from the provider tells us. Never proof of payment."""

    txn_ref: str | None


# --- the adapter -------------------------------------------------------------------------


class Adapter(abc.ABC, Generic[ConfigT]):
    """Base class of a protocol. Subclasses set `protocol` and `Config`."""

    protocol: ClassVar[str]
    Config: ClassVar[type[AdapterConfig]]
    refunds_manual: ClassVar[bool] = False  # True: refunds are paid back by staff
    statement_file_only: ClassVar[bool] = False  # True: no statement API, reconcile --file
    # True when every authentic callback (distinct dedupe key) is money that moved, as a
    # credit notification is: a second success on one attempt is then an overpayment,
    # not a repeat of the first (a QR scanned twice).
    each_callback_is_a_transfer: ClassVar[bool] = False

    def __init__(self, code: str, config: ConfigT, http: httpx.AsyncClient) -> None:
        self.code = code
        self.config = config
        self.http = http

    # -- payment initiation
    @abc.abstractmethod
    async def start(self, attempt: AttemptRequest) -> Redirect | QrCode:
        """Build the signed request that sends the citizen to pay."""

    # -- callback verification: hooks, then one final check
    @abc.abstractmethod
    def signed_message(self, request: InboundRequest) -> bytes:
        """The exact bytes the provider signed."""

    @abc.abstractmethod
    def presented_signature(self, request: InboundRequest) -> str | None:
        """The signature the provider sent (None when missing)."""

    @abc.abstractmethod
    def signature_valid(self, message: bytes, signature: str) -> bool:
        """Check the signature with the protocol's algorithm, in constant time."""

    def check_freshness(self, request: InboundRequest, now: datetime) -> None:
        """Timestamp or replay rules; raise CallbackRejected when stale. Default: none."""

    @abc.abstractmethod
    def parse_event(self, request: InboundRequest) -> ProviderEvent:
        """Read a verified callback into the common event."""

    def verify_callback(self, request: InboundRequest, now: datetime) -> ProviderEvent:
        """Authenticate, check freshness, parse. Raises CallbackRejected; never guesses."""
        signature = self.presented_signature(request)
        if not signature:
            raise CallbackRejected("missing signature")
        if not self.signature_valid(self.signed_message(request), signature):
            raise CallbackRejected("bad signature")
        self.check_freshness(request, now)
        try:
            return self.parse_event(request)
        except CallbackRejected:
            raise
        except (KeyError, ValueError, TypeError) as exc:
            raise CallbackRejected(f"unreadable callback: {exc}") from exc

    @abc.abstractmethod
    def ack(self, result: AckResult) -> Ack:
        """The reply the provider expects for this result."""

    def parse_return(self, request: InboundRequest) -> ReturnLeg:
        """Which attempt the citizen is coming back from (untrusted: only for navigation)."""
        return ReturnLeg(request.query.get("txn_ref"))

    # -- pulls
    @abc.abstractmethod
    async def query(self, attempt: AttemptRef) -> ProviderStatus:
        """Ask the provider for an attempt's status. Raises ProviderUnavailable."""

    @abc.abstractmethod
    async def refund(self, refund: RefundRequest) -> RefundResult:
        """Give money back through the provider (or say it is manual)."""

    async def query_refund(self, refund: RefundRequest) -> RefundResult:
        """What became of a refund sent before (PayGov asks before sending it again):
        `succeeded` / `failed` when the provider knows, `not_found` when it never got it
        (PayGov then sends it), `unknown` otherwise. Never raises for the provider's sake.

        The default suits protocols whose refunds are idempotent on `refund_id` (signed_json):
        sending the same refund again returns its state and cannot refund twice."""
        return await self.refund(refund)

    def fetch_statement(self, day: date) -> AsyncIterator[StatementLine]:
        """The provider's statement for a day (reconciliation)."""
        raise StatementFileOnly(f"{self.protocol} statements are reconciled from a file")
