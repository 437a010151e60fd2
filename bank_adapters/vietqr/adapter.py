"""`vietqr`: the citizen transfers to PayGov's collection account by scanning a dynamic
VietQR (NAPAS 247); the collection bank's credit notification confirms it.

The notification (docs/bank-api.md §7) arrives in PayGov's signature envelope:
`{transaction_id, account_number, amount, memo, booked_at, direction: "credit"}`. The
payment is found by the `txn_ref` inside the memo. A credit whose memo names no payment is
still real money: it becomes an event with an empty `txn_ref`, which PayGov stores and
answers `not_found` (404), and reconciliation raises it for staff as money we cannot place.
"""

from __future__ import annotations

import json
import re
from typing import ClassVar, Final

from pydantic import field_validator, model_validator

from bank_adapters import signing
from bank_adapters.base import (
    AdapterConfig,
    AttemptRef,
    AttemptRequest,
    CallbackRejected,
    InboundRequest,
    ProviderEvent,
    ProviderStatus,
    QrCode,
    RefundRequest,
    RefundResult,
)
from bank_adapters.vietqr import payload

# PayGov's txn_ref: `PG` + 14 Crockford base-32 characters (no I, L, O, U).
TXN_REF: Final = re.compile(r"(?=(PG[0-9A-HJKMNP-TV-Z]{14}))")
# What people and banks do to a typed code: Crockford reads O as 0 and I, L as 1.
CROCKFORD_READS: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})


def find_txn_ref(memo: str) -> str | None:
    """PayGov's txn_ref inside a transfer memo, or None.

    Banks prefix and suffix the memo (`MBVCB.3278.PG….CT tu 0123`), upper- or lower-case
    it, and may drop or insert spaces. Search the upper-cased memo (O→0, I/L→1) and prefer
    the candidate with the most clean edges (no letter or digit just before / just after
    it), the first on a tie; when none, search again with only letters and digits kept.
    """
    text = memo.upper().translate(CROCKFORD_READS)
    found = _candidates(text)
    if not found:
        found = _candidates(re.sub(r"[^0-9A-Z]", "", text))
    if not found:
        return None
    return max(found, key=lambda candidate: candidate[1])[0]  # max keeps the first of ties


def _candidates(text: str) -> list[tuple[str, int]]:
    """(txn_ref, clean edges 0-2) for every overlapping match in `text`."""
    out = []
    for match in TXN_REF.finditer(text):
        start, end = match.start(1), match.end(1)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        out.append((match.group(1), (not before.isalnum()) + (not after.isalnum())))
    return out


class VietQrConfig(AdapterConfig):
    """PayGov's collection account and the key its bank signs credit notifications with."""

    bank_bin: str
    account_number: str
    account_name: str
    notification_algorithm: signing.Algorithm
    notification_public_key: str
    tolerance_seconds: int = signing.DEFAULT_TOLERANCE_SECONDS

    @field_validator("bank_bin")
    @classmethod
    def _bin(cls, value: str) -> str:
        if not (len(value) == 6 and value.isascii() and value.isdigit()):
            raise ValueError("bank_bin must be the 6-digit NAPAS BIN")
        return value

    @field_validator("account_number")
    @classmethod
    def _account(cls, value: str) -> str:
        if not (0 < len(value) <= 19 and value.isascii() and value.isalnum()):
            raise ValueError("account_number must be 1-19 letters or digits")
        return value

    @model_validator(mode="after")
    def _key_fits(self) -> VietQrConfig:
        signing.public_keys(self.notification_algorithm, self.notification_public_key)
        if not 1 <= self.tolerance_seconds <= 3600:
            raise ValueError("tolerance_seconds must be between 1 and 3600")
        return self


class VietQrAdapter(signing.EnvelopeAdapter[VietQrConfig]):
    """Dynamic VietQR to a collection account; no status, refund or statement API."""

    protocol: ClassVar[str] = "vietqr"
    Config: ClassVar[type[AdapterConfig]] = VietQrConfig
    refunds_manual: ClassVar[bool] = True
    statement_file_only: ClassVar[bool] = True  # the collection account's CSV or camt.053
    each_callback_is_a_transfer: ClassVar[bool] = True

    def envelope(self) -> tuple[signing.Algorithm, str, int]:
        """The collection bank's algorithm, public key(s) and the freshness window."""
        config = self.config
        return (
            config.notification_algorithm,
            config.notification_public_key,
            config.tolerance_seconds,
        )

    async def start(self, attempt: AttemptRequest) -> QrCode:
        """A dynamic VietQR for the exact amount, the purpose (memo) being the txn_ref."""
        config = self.config
        text = payload.build(
            bank_bin=config.bank_bin,
            account=config.account_number,
            amount=attempt.amount,
            purpose=attempt.txn_ref,
        )
        return QrCode(
            payload=text,
            bank_bin=config.bank_bin,
            account_number=config.account_number,
            account_name=config.account_name,
            amount=attempt.amount,
            memo=attempt.txn_ref,
        )

    def parse_event(self, request: InboundRequest) -> ProviderEvent:
        """A credit to the collection account → a success of the payment its memo names."""
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise CallbackRejected("notification body is not a JSON object")
        if data["direction"] != "credit":
            raise CallbackRejected(f"not a credit: direction {data['direction']!r}")
        if data["account_number"] != self.config.account_number:
            raise CallbackRejected("credit to another account")
        transaction_id = data["transaction_id"]
        if not isinstance(transaction_id, str) or not 0 < len(transaction_id) <= 64:
            raise ValueError("transaction_id must be a string of 1-64 characters")
        amount = data["amount"]
        if type(amount) is not int or amount <= 0:
            raise ValueError("amount must be a positive whole number of VND")
        memo = data["memo"]
        if not isinstance(memo, str):
            raise TypeError("memo must be a string")
        txn_ref = find_txn_ref(memo)
        return ProviderEvent(
            txn_ref=txn_ref or "",  # "": PayGov answers not_found and keeps it for staff
            outcome="succeeded",
            amount=amount,
            dedupe_key=transaction_id,
            provider_txn_id=transaction_id,
            paid_at=signing.parse_time(data["booked_at"]),
            details={"memo": memo[:255], "matched": "yes" if txn_ref else "no"},
        )

    async def query(self, attempt: AttemptRef) -> ProviderStatus:
        """VietQR has no status API: always unknown (the notification or statement tells)."""
        return ProviderStatus("unknown", reason="vietqr has no status query")

    async def refund(self, refund: RefundRequest) -> RefundResult:
        """A transfer cannot be pulled back: finance staff pay it back by hand."""
        return RefundResult("pending_manual", message="pay back by bank transfer")
