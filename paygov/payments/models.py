"""Payment orders, their fee items, the attempts through providers, and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, UtcDateTime

STATUSES = ("created", "pending", "succeeded", "failed", "expired", "cancelled")


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('created', 'pending', 'succeeded', 'failed', 'expired', 'cancelled')",
            name="status",
        ),
        Index("ix_payments_agency_created", "agency_id", "created_at", "id"),
        Index("ix_payments_agency_reference", "agency_id", "reference"),
    )

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    reference: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    # True while an attempt is with a provider and unresolved: expiry then waits for grace.
    attempt_open: Mapped[bool] = mapped_column(Boolean)
    declines: Mapped[int] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str] = mapped_column(String(2))
    return_url: Mapped[str] = mapped_column(Text)
    checkout_token: Mapped[str] = mapped_column(String(64), unique=True)
    extra: Mapped[dict[str, str]] = mapped_column("metadata", JSON)
    payer_sealed: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(32))
    bank: Mapped[str | None] = mapped_column(String(16))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(255))
    amount_refunded: Mapped[int] = mapped_column(BigInteger)
    # Money received beyond the order (a second success): owed back to the citizen.
    amount_overpaid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PaymentItem(Base):
    """One fee line of a payment; the items of a payment sum to its amount."""

    __tablename__ = "payment_items"
    __table_args__ = (
        UniqueConstraint("payment_id", "position"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)
    beneficiary_account: Mapped[str | None] = mapped_column(String(34))


ATTEMPT_STATUSES = ("open", "succeeded", "failed")


class Attempt(Base):
    """One try to pay through one provider, with its own short merchant reference.

    `open` until the provider says succeeded or failed; a timeout or an unreadable answer
    leaves it open (unknown is never guessed).
    """

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'succeeded', 'failed')", name="status"),
        Index("ix_attempts_status_created", "status", "created_at"),
        Index("ix_attempts_status_next_poll", "status", "next_poll_at"),
        Index("ix_attempts_provider_succeeded", "provider", "succeeded_at"),
    )

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    txn_ref: Mapped[str] = mapped_column(String(20), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    bank: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    provider_txn_id: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Status polling (DESIGN.md §9): how many times the provider was asked, and when next;
    # NULL once resolved or once the schedule ran out (then flagged for staff).
    polls: Mapped[int] = mapped_column(Integer, server_default="0")
    next_poll_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Reconciliation (DESIGN.md §10): when PayGov recorded the success, how it learned of
    # it (callback, query, reconciliation), and how many transfers the attempt carried
    # (more than one when a citizen paid twice).
    succeeded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    succeeded_via: Mapped[str | None] = mapped_column(String(16))
    transfers: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PaymentEvent(Base):
    """Append-only history of a payment, oldest first by id (ULIDs sort by time)."""

    __tablename__ = "payment_events"
    __table_args__ = (Index("ix_payment_events_payment", "payment_id", "id"),)

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"))
    type: Mapped[str] = mapped_column(String(48))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
