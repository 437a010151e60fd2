"""The inbox of provider callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, BigIntPk, UtcDateTime


class InboxEntry(Base):
    """Every inbound callback, raw, with how it was judged and handled.

    (provider, dedupe_key) is unique; unauthenticated callbacks carry no dedupe key, so a
    forged one can never occupy the key of the real one.
    """

    __tablename__ = "callback_inbox"
    __table_args__ = (UniqueConstraint("provider", "dedupe_key"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    txn_ref: Mapped[str | None] = mapped_column(String(20), index=True)
    verified: Mapped[bool] = mapped_column(Boolean)
    rejection: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(32))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
