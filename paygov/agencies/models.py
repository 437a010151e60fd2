"""Agencies (the portals' organisations) and the beneficiary accounts fee items may name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, UtcDateTime


class Agency(Base):
    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint("mode IN ('test', 'live')", name="mode"),)

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    province: Mapped[str | None] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(4))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    # AES-GCM sealed JSON list of `whsec_…` secrets, newest first (two during rotation).
    webhook_secrets: Mapped[str] = mapped_column(Text)
    return_hosts: Mapped[list[str]] = mapped_column(JSON)
    # Set when the endpoint answered 410 Gone: no deliveries until an operator re-enables it.
    webhook_disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def is_test(self) -> bool:
        return self.mode == "test"

    def summary(self) -> dict[str, Any]:
        return {
            "agency_id": self.id,
            "code": self.code,
            "name": self.name,
            "province": self.province,
            "mode": self.mode,
            "webhook_url": self.webhook_url,
            "return_hosts": self.return_hosts,
            "created_at": self.created_at.isoformat(),
        }


class BeneficiaryAccount(Base):
    """A treasury or agency account that fee items may pay into; one per agency is default."""

    __tablename__ = "beneficiary_accounts"
    __table_args__ = (UniqueConstraint("agency_id", "account_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    account_number: Mapped[str] = mapped_column(String(34))
    bank_bin: Mapped[str] = mapped_column(String(6))
    is_default: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
