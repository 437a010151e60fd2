"""Configured providers. Their adapter settings (credentials included) are sealed at rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, UtcDateTime


class Provider(Base):
    __tablename__ = "providers"
    __table_args__ = (
        CheckConstraint("mode IN ('test', 'live')", name="mode"),
        CheckConstraint("max_amount > 0", name="max_amount_positive"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(4))
    enabled: Mapped[bool] = mapped_column(Boolean)
    max_amount: Mapped[int] = mapped_column(BigInteger)
    # AES-GCM sealed JSON of the adapter's Config (URLs, merchant codes, keys, secrets).
    config_sealed: Mapped[str] = mapped_column(Text)
    # Where its statements come from and how to read them (format, CSV columns, currency).
    statement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def clearing_account(self) -> str:
        return f"clearing:{self.code}"
