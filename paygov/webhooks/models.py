"""The outbox (webhook events), one delivery per event and endpoint, and every try logged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, BigIntPk, UtcDateTime

DELIVERY_STATUSES = ("pending", "succeeded", "failed", "disabled")
EXCERPT_CHARS = 500


class WebhookEvent(Base):
    """What was sent (or would have been) to a portal; its id is the payment event's."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_agency", "agency_id", "id"),)

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    type: Mapped[str] = mapped_column(String(48))
    subject_id: Mapped[str] = mapped_column(String(30))
    # The object as a portal saw it at this event's version.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One event on its way to one agency endpoint; retried until 2xx, `failed` or disabled."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'disabled')", name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_agency", "agency_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    last_latency_ms: Mapped[int | None] = mapped_column(Integer)
    last_response_excerpt: Mapped[str | None] = mapped_column(String(EXCERPT_CHARS))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookAttempt(Base):
    """One POST (or one refusal to send) of a delivery."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    response_excerpt: Mapped[str | None] = mapped_column(String(EXCERPT_CHARS))
