"""A refund of a paid order, whole or in part, optionally by fee item."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, UtcDateTime

REFUND_STATUSES = ("pending", "succeeded", "failed", "pending_manual")


class Refund(Base):
    """`pending` until the provider answers; `pending_manual` where staff pay it back."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'pending_manual')", name="status"
        ),
        Index("ix_refunds_payment", "payment_id", "created_at"),
        Index("ix_refunds_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"))
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id"))
    provider: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    # Per item code, the VND given back from that item; they sum to `amount`.
    items: Mapped[dict[str, int]] = mapped_column(JSON)
    provider_refund_id: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(255))
    # When the worker may next ask the provider (a lease while one worker is asking).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
