"""Staff users (finance, operators) and the API tokens their finance tools use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, UtcDateTime

ROLES = ("admin", "finance", "agency_finance", "viewer")


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'finance', 'agency_finance', 'viewer')", name="role"),
        CheckConstraint("(role = 'agency_finance') = (agency_id IS NOT NULL)", name="agency_scope"),
    )

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # agency_finance users see one agency only.
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Back-office sign-in (paygov/backoffice): scrypt hash, TOTP secret sealed with the
    # master key, the last TOTP step accepted (a code works once), and the lockout.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_sealed: Mapped[str | None] = mapped_column(Text)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StaffToken(Base):
    """A bearer token (`st_…`) acting as its user; stored only as an HMAC."""

    __tablename__ = "staff_tokens"

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StaffSession(Base):
    """A back-office browser session; the cookie holds the token, the table its hash."""

    __tablename__ = "staff_sessions"
    __table_args__ = (CheckConstraint("stage IN ('password', 'signed_in')", name="stage"),)

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    # 'password': the password was right, the TOTP code is still due.
    stage: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reauth_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StaffApproval(Base):
    """A change one person asks for and a second person approves (four eyes)."""

    __tablename__ = "staff_approvals"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # refund, beneficiary, correction
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    subject_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(ForeignKey("staff_users.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(255))
